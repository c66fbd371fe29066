"""``plexsync status`` and ``plexsync doctor`` (and their Stash tasks) against
healthy and broken emulators; the exit status says which problem it is."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from plexsync.tools.exitcodes import ExitCode
from tests.integration.conftest import PLEX_TOKEN, STASH_API_KEY, World
from tests.support import REPO, wait_until


def cli(world: World, *args: str, env: dict[str, str] | None = None, answer: str = "") -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "plexsync", *args],
        input=answer,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=world.env if env is None else env,
        timeout=120,
    )
    for secret in (PLEX_TOKEN, STASH_API_KEY, "wrong-token-0000", "wrong-stash-key-1111"):
        assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _library(world: World) -> list[tuple[str, int | None]]:
    scenes = [world.add_scene(f"doc-{i}", title=f"doc {i}") for i in range(5)]
    scenes.append(world.add_scene("doc-unscanned", scanned=False))
    return scenes


# -- doctor --------------------------------------------------------------------


def test_doctor_on_a_healthy_world_lists_sections_and_checks_the_rules(world: World):
    _library(world)
    result = cli(world, "doctor")
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert f"[ok]   Stash: {world.stash.url} answers; the API key (PLEXSYNC_STASH_API_KEY) is accepted" in out
    assert f"[ok]   Plex: {world.plex.url} answers" in out and "the token is accepted" in out
    assert "section 1 'Movies' (movie): /media/plex/movies" in out
    assert "[ok]   Path rules: 5 of 6 sampled Stash files are found in Plex" in out
    assert "rule /data/stash=/media/plex: 5 of 6 found" in out
    assert "not in Plex (not scanned yet, or outside its libraries): /data/stash/movies/doc-unscanned.mp4" in out
    assert out.rstrip().endswith("Everything PlexSync needs works.")


def _without(env: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != key}


BROKEN = {
    "wrong Plex token": (
        lambda w: w.configure_plugin(plex_token="wrong-token-0000"),
        ExitCode.PLEX_AUTH,
        ["refused the Plex token (HTTP 401)", "fix: put a valid X-Plex-Token", "'Plex token' on Stash's plugin page"],
    ),
    "Plex down": (
        lambda w: w.plex.down(),
        ExitCode.PLEX_UNREACHABLE,
        ["does not answer: Plex is unreachable (connection refused or host unknown)", "correct 'Plex URL'"],
    ),
    "wrong path rule": (
        lambda w: w.configure_plugin(path_map="/data/stash=/media/wrong"),
        ExitCode.PATH_RULES,
        [
            "[FAIL] Path rules: 0 of 6 sampled Stash files are found in Plex",
            "rule /data/stash=/media/wrong: 0 of 6 found",
            "was looked for in Plex as /media/wrong/movies/doc-0.mp4, which Plex does not have",
            "to /data/stash=/media/plex (with it, 5 of 6 sampled files are found)",
        ],
    ),
    "missing path rule": (
        lambda w: w.configure_plugin(path_map=""),
        ExitCode.PATH_RULES,
        ["files under no rule (same path in both): 0 of 6 found", "to /data/stash=/media/plex"],
    ),
    "Plex URL not set": (
        lambda w: w.configure_plugin(plex_url=""),
        ExitCode.SETTINGS,
        [
            "[FAIL] Settings: PLEXSYNC_PLEX_URL: not set",
            "fix: run Stash's task Link Plex account, or fill it in: 'Plex URL' on Stash's plugin page "
            "(Settings > Plugins > Stash Plex Sync), or PLEXSYNC_PLEX_URL",
        ],
    ),
    "Stash down": (
        lambda w: w.stash.down(),
        ExitCode.STASH_UNREACHABLE,
        ["does not answer", "set PLEXSYNC_STASH_URL"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_doctor_names_what_is_broken_and_exits_with_its_status(world: World, case: str):
    _library(world)
    breaks, code, expected = BROKEN[case]
    breaks(world)
    result = cli(world, "doctor")
    assert result.returncode == code, result.stdout
    for text in expected:
        assert text in result.stdout, result.stdout
    assert f"exit status {int(code)} ({code.meaning})" in result.stdout
    if code < ExitCode.PATH_RULES:
        assert "[skip] Path rules: not tested" in result.stdout


def test_doctor_tells_a_missing_stash_api_key_from_a_refused_one(world: World):
    _library(world)
    missing = cli(world, "doctor", env=_without(world.env, "PLEXSYNC_STASH_API_KEY"))
    assert missing.returncode == ExitCode.STASH_AUTH
    assert "wants a login, and no API key is set (PLEXSYNC_STASH_API_KEY is missing)" in missing.stdout
    assert "Settings > Security > API Key" in missing.stdout
    refused = cli(world, "doctor", env={**world.env, "PLEXSYNC_STASH_API_KEY": "wrong-stash-key-1111"})
    assert refused.returncode == ExitCode.STASH_AUTH
    assert f"{world.stash.url} refused the API key (PLEXSYNC_STASH_API_KEY) (HTTP 401)" in refused.stdout


def test_doctor_task_in_stash_checks_the_workers_key_and_warns_in_stash_log(world: World):
    """The Stash process has no PLEXSYNC_STASH_API_KEY (the plugin host passes only the data
    directory): the task checks Stash with the key the worker gets, asked of Stash with the task's session."""
    _library(world)
    healthy = world.host.run_task("Doctor")
    assert healthy.error is None, healthy
    assert "Stash's API key (PlexSync hands it to the worker it starts) is accepted" in healthy.output
    assert "section 1 'Movies' (movie): /media/plex/movies" in healthy.output
    assert healthy.output.rstrip().endswith("Everything PlexSync needs works.")
    assert healthy.messages("warning") == []

    world.configure_plugin(plex_token="wrong-token-0000")
    broken = world.host.run_task("Doctor")
    assert "refused the Plex token" in broken.output
    [warning, summary] = broken.messages("warning")
    assert warning.startswith("PlexSync Doctor: [FAIL] Plex: ") and "refused the Plex token" in warning
    assert summary == "PlexSync Doctor: 1 problem(s) found, each with its fix (below)"


def test_doctor_without_stash_still_checks_the_settings_it_has_and_plex(world: World):
    """One run lists every problem: with Stash down, the plugin page cannot be read, but the settings the
    environment gives are checked, and Plex with them."""
    _library(world)
    env = {
        **world.env,
        "PLEXSYNC_PLEX_URL": world.plex.url,
        "PLEXSYNC_PLEX_TOKEN": PLEX_TOKEN,
        "PLEXSYNC_RETRIES": "many",
    }
    world.stash.down()
    result = cli(world, "doctor", env=env)
    assert result.returncode == ExitCode.SETTINGS, result.stdout  # the most basic of the two problems
    assert "[FAIL] Stash: " in result.stdout and "does not answer" in result.stdout
    assert "[FAIL] Settings: PLEXSYNC_RETRIES ('Retries'): 'many' is not a int number" in result.stdout
    assert f"[ok]   Plex: {world.plex.url} answers" not in result.stdout  # a setting is invalid: no Plex client
    env.pop("PLEXSYNC_RETRIES")
    result = cli(world, "doctor", env=env)
    assert result.returncode == ExitCode.STASH_UNREACHABLE, result.stdout
    assert f"[ok]   Plex: {world.plex.url} answers" in result.stdout
    assert "[skip] Path rules: not tested (needs Stash)" in result.stdout


# -- status --------------------------------------------------------------------


def _normalised(text: str) -> str:
    return re.sub(r"\(\d+ (s|min|h|days) ago\)|last beat \d+ (s|min|h|days) ago", "(ago)", text)


def test_status_says_jobs_wait_for_a_worker_that_is_not_running(world: World):
    scenes = _library(world)
    idle = cli(world, "status")
    assert idle.returncode == ExitCode.OK, idle.stdout
    assert "worker: not running\n" in idle.stdout
    assert "all good" in idle.stdout
    for scene_id, _ in scenes[:3]:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    waiting = cli(world, "status")
    assert waiting.returncode == ExitCode.WORKER_DOWN, waiting.stdout
    assert "queued: 3 job(s)" in waiting.stdout
    assert "! no worker is running and 3 job(s) wait: start it with 'python3 run.py worker'" in waiting.stdout


def test_status_with_a_worker_shows_it_alive_and_the_last_success(world: World):
    scenes = _library(world)
    world.start_consumer()
    scene_id, rating_key = scenes[0]
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: world.plex.item(rating_key).title == "doc 0", message="synced")
    result = wait_until(lambda: (r := cli(world, "status")) and f"scene {scene_id} at" in r.stdout and r, timeout=30)
    assert result.returncode == ExitCode.OK, result.stdout
    assert re.search(r"worker: alive \(\S+ pid \d+, external mode, started .*, last beat \d+ s ago\)", result.stdout)
    assert "queued: 0 job(s)" in result.stdout and "dead letters: 0" in result.stdout


@pytest.mark.parametrize("breaks", ["plex down", "wrong token"])
def test_status_reports_an_open_outage(world: World, breaks: str):
    scenes = _library(world)
    if breaks == "plex down":
        world.plex.down()
        reason = "Plex: Plex is unreachable (connection refused or host unknown)"
    else:
        world.configure_plugin(plex_token="wrong-token-0000")
        reason = "Plex: Plex rejected the token (HTTP 401)"
    world.start_consumer()
    scene_id, _ = scenes[0]
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    result = wait_until(lambda: (r := cli(world, "status")) and r.returncode == ExitCode.OUTAGE and r, timeout=60)
    assert f"! {reason} (since" in result.stdout
    assert "outages: 1 open (below)" in result.stdout
    assert re.search(r"(scheduled|queued|in flight): 1 job", result.stdout)


def test_status_task_in_stash_prints_what_the_cli_prints_and_warns(world: World):
    scenes = [world.add_scene(f"gone-{i}", scanned=False) for i in range(2)]
    world.start_consumer(PLEXSYNC_RETRIES="0")
    for scene_id, _ in scenes:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: len(world.dead_letters()) == 2, timeout=60, message="dead letters")
    for consumer in world.consumers:
        consumer.stop()
    by_cli = cli(world, "status")
    assert by_cli.returncode == ExitCode.DEAD_LETTERS, by_cli.stdout
    task = world.host.run_task("Status")
    assert task.error is None, task

    # the same report, but for its fixes: Stash's words in Stash (the tasks), the command line's in the shell
    def facts(text: str) -> str:
        return _normalised("\n".join(line for line in text.splitlines() if not line.startswith("! ")))

    assert facts(task.output) == facts(by_cli.stdout.rstrip("\n"))
    assert "dead letters: 2 (newest: #" in task.output
    assert "worker: not running\n" in task.output  # a graceful stop takes the heartbeat with it
    assert task.messages("warning") == [
        "PlexSync Status: 2 dead letter(s): the task 'List dead letters' shows them, 'Retry dead letters' retries them",
        "PlexSync Status: 1 problem(s) (the lines below)",
    ]


def test_status_on_redis_counts_the_shared_queue(redis_world: World):
    world = redis_world
    scenes = _library(world)
    for scene_id, _ in scenes[:2]:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    result = cli(world, "status")
    assert result.returncode == ExitCode.WORKER_DOWN, result.stdout
    assert "(queue: Redis redis://127.0.0.1:6379/" in result.stdout
    assert "queued: 2 job(s)" in result.stdout
    world.start_consumer()
    wait_until(lambda: cli(world, "status").returncode == ExitCode.OK, timeout=60, message="drained, worker alive")
