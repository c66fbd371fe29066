"""The documented walkthrough (docs/development.md) against the emulators, step by step, with real processes only.

``python -m emulators`` as a subprocess (its hooks run the real plugin folder
through the plugin host), a real ``huey_consumer`` started with nothing but the
variables it printed, scene edits with ``python -m emulators.edit`` (a real
``sceneUpdate`` over HTTP), and Plex read back over HTTP. The steps are those of
docs/development.md's "Try it against the emulators"; when one changes, the other must.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests

from tests.playground import Playground, data_dir_of
from tests.support import REPO, ConsumerProcess, dead_letters, queued_jobs, wait_until

WORKER_ENV = ["PLEXSYNC_STASH_URL", "PLEXSYNC_STASH_API_KEY", "PLEXSYNC_DATA_DIR"]
NEW_TITLE = "Crème Brûlée at Dawn 🎬"


@pytest.fixture
def playground(tmp_path) -> Iterator[Playground]:
    started = Playground.start("--scenes", "50", "--data-dir", str(tmp_path / "data"))
    yield started
    started.kill()


@pytest.fixture
def consumers() -> Iterator[list[ConsumerProcess]]:
    started: list[ConsumerProcess] = []
    yield started
    for consumer in started:
        consumer.stop()
        print(f"--- {consumer.log_path.name} ---\n{consumer.log()}")


def plex_title(playground: Playground, rating_key: int) -> str | None:
    """The item's title as any Plex client reads it."""
    exports = playground.exports
    response = requests.get(
        f"{exports['PLEXSYNC_PLEX_URL']}/library/metadata/{rating_key}",
        headers={"X-Plex-Token": exports["PLEXSYNC_PLEX_TOKEN"]},
        timeout=10,
    )
    response.raise_for_status()
    video = ET.fromstring(response.content).find("Video")
    return None if video is None else video.get("title")


def hook_line(scene_id: str):
    expected = (
        f'# hook "Sync scene to Plex" (Scene.Update.Post, scene {scene_id}) -> queued Plex sync of scene {scene_id}'
    )
    return lambda line: line == expected


def assert_secrets_kept(playground: Playground, consumer: ConsumerProcess) -> None:
    secrets = [playground.exports["PLEXSYNC_PLEX_TOKEN"], playground.exports["PLEXSYNC_STASH_API_KEY"]]
    places = {
        "worker log": consumer.log(),
        **{p.name: p.read_bytes().decode("latin-1") for p in data_dir_of(playground).rglob("*") if p.is_file()},
    }
    for place, content in places.items():
        for secret in secrets:
            assert secret not in content, f"a secret leaked into {place}"


def test_an_edit_fires_the_hook_and_the_worker_started_from_the_printed_variables_syncs_it(
    playground: Playground, consumers: list[ConsumerProcess], tmp_path
) -> None:
    # 1. python -m emulators printed what to export and scenes to try
    scene_id, rating_key, old_title = playground.examples()[0]
    assert plex_title(playground, rating_key) == old_title

    # 2. a worker in a shell where those lines were exported (and nothing else of PlexSync's)
    consumer = ConsumerProcess(playground.environment(), tmp_path / "worker.log").start()
    consumers.append(consumer)

    # 3. edit the scene as Stash's UI saves it
    edit = playground.run("emulators.edit", scene_id, "--title", NEW_TITLE, env=playground.environment())
    assert edit.returncode == 0, edit.stderr
    assert edit.stdout.startswith(f"scene {scene_id} saved in Stash")

    # 4. the emulators' window shows the hook run, then PlexSync's write into Plex
    playground.wait_for(hook_line(scene_id))
    written = playground.wait_for(lambda line: line.startswith(f"# Plex item {rating_key} written: title"))
    assert f'"{NEW_TITLE}"' in written and "title" in written.split("locked: ")[1]

    # 5. and any Plex client sees the new title
    wait_until(lambda: plex_title(playground, rating_key) == NEW_TITLE, 30, message="the edit to reach Plex")
    wait_until(lambda: queued_jobs(data_dir_of(playground)) == 0, 30, message="the queue to drain")
    assert dead_letters(data_dir_of(playground)) == []
    assert_secrets_kept(playground, consumer)
    assert playground.interrupt() == 0

    # what it printed, saved with `| tee playground.env`, gives another shell the same variables
    saved = tmp_path / "playground.env"
    saved.write_text("\n".join(playground.lines) + "\n", encoding="utf-8")
    shell = subprocess.run(["sh", "-c", '. "$1" && env', "sh", str(saved)], capture_output=True, text=True, env={})
    assert shell.returncode == 0, shell.stderr
    sourced = dict(line.split("=", 1) for line in shell.stdout.splitlines() if line.startswith("PLEXSYNC_"))
    assert sourced == playground.exports


def test_the_plex_settings_can_live_on_the_plugin_page_instead(
    playground: Playground, consumers: list[ConsumerProcess], tmp_path
) -> None:
    """The same walk with only the worker's variables exported and the Plex settings saved on
    Stash's plugin page (configurePlugin), as a real install is configured."""
    env = playground.environment(WORKER_ENV)
    exports = playground.exports
    stored = playground.run(
        "emulators.plugin_settings",
        f"plex_url={exports['PLEXSYNC_PLEX_URL']}",
        f"plex_token={exports['PLEXSYNC_PLEX_TOKEN']}",
        f"path_map={exports['PLEXSYNC_PATH_MAP']}",
        "retry_delay=1",  # the wait for Plex's scan is short in this walk
        env=env,
    )
    assert stored.returncode == 0, stored.stderr
    assert f"plex_url={exports['PLEXSYNC_PLEX_URL']}" in stored.stdout.splitlines()
    assert "plex_token=(set, not shown)" in stored.stdout.splitlines()
    assert "retry_delay=1" in stored.stdout.splitlines()
    assert exports["PLEXSYNC_PLEX_TOKEN"] not in stored.stdout

    consumer = ConsumerProcess(env, tmp_path / "worker.log").start()
    consumers.append(consumer)
    scene_id, rating_key, _ = playground.examples()[1]
    edit = playground.run("emulators.edit", scene_id, "--title", NEW_TITLE, "--date", "2024-02-29", env=env)
    assert edit.returncode == 0, edit.stderr
    playground.wait_for(hook_line(scene_id))
    wait_until(lambda: plex_title(playground, rating_key) == NEW_TITLE, 30, message="the edit to reach Plex")

    # a scene whose file Plex has not scanned: its sync asks Plex to scan the folder, then writes the item
    (missing,) = [line.split()[2] for line in playground.lines if "has no Plex item yet" in line]
    assert playground.run("emulators.edit", missing, "--title", "Not in Plex yet", env=env).returncode == 0
    written = playground.wait_for(re.compile(r'# Plex item \d+ written: title "Not in Plex yet"').search)
    assert written.startswith('# Plex item 57 written: title "Not in Plex yet"'), written  # as README shows
    listed = playground.run("plexsync", "dlq", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "no dead letters", listed.stdout
    assert not dead_letters(data_dir_of(playground))
    assert_secrets_kept(playground, consumer)


def test_helpers_say_in_one_line_what_is_wrong(playground: Playground) -> None:
    env = playground.environment(WORKER_ENV)
    scene_id = playground.examples()[0][0]
    cases = [
        (("emulators.edit", scene_id, "--title", "x"), {**env, "PLEXSYNC_STASH_API_KEY": "wrong"}, "was refused"),
        (("emulators.edit", "99999", "--title", "x"), env, "scene with id 99999 not found"),
        (("emulators.edit", scene_id), env, "nothing to change"),
        (("emulators.plugin_settings", "plex_ulr=http://a:1"), env, "'plex_ulr' is not a setting of StashPlexSync"),
        (("emulators.plugin_settings", "retries=many"), env, "retries: 'many' is not a number"),
        (
            ("emulators.edit", scene_id, "--title", "x"),
            {**env, "PLEXSYNC_STASH_URL": "http://127.0.0.1:9"},
            "cannot reach",
        ),
    ]
    for args, case_env, message in cases:
        result = playground.run(*args, env=case_env)
        assert result.returncode != 0, args
        # the reason on the last line (argparse's usage may come before it), never a traceback
        assert message in result.stderr.strip().splitlines()[-1], (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
    assert not [line for line in playground.lines if line.startswith("# hook ")]


def test_the_readme_walkthrough_is_the_one_tested_here() -> None:
    readme = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Try it against the emulators") :]
    section = section[: section.index("\n## ")]
    for step in (
        ". ./playground.env",
        "python3 run.py worker",
        ".venv/bin/python -m emulators.edit 1 --title",
        ".venv/bin/python -m emulators.plugin_settings plex_url=",
        "retry_delay=1",
        "unset PLEXSYNC_PLEX_URL PLEXSYNC_PLEX_TOKEN PLEXSYNC_PATH_MAP",
        ".venv/bin/python -m emulators.edit 50 --title",
        ".venv/bin/python -m plexsync dlq list",
        "# Plex item 1 written: title ",
        '# Plex item 57 written: title "Not in Plex yet"',
    ):
        assert step in section, step
    hook = hook_line("1")
    assert any(hook(line.strip()) for line in section.splitlines())
