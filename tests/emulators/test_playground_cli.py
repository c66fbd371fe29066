"""``python -m emulators``: both emulators on one library, and the variables a worker needs.

The printed ``export`` lines must name exactly the variables PlexSync reads
(``plexsync.config``): an earlier version printed ``PLEX_URL=`` where the worker
reads ``PLEXSYNC_PLEX_URL``, so following it configured nothing. The end-to-end
walkthrough (hook, worker, Plex) is in tests/integration/test_playground_walkthrough.py.
"""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest
import requests

from plexsync.config import BOOTSTRAP_SETTINGS, SYNC_SETTINGS, env_name
from tests.playground import Playground, clean_environment
from tests.support import REPO

WORKER_ENV = ["PLEXSYNC_STASH_URL", "PLEXSYNC_STASH_API_KEY", "PLEXSYNC_DATA_DIR"]
PLUGIN_PAGE = ["PLEXSYNC_PLEX_URL", "PLEXSYNC_PLEX_TOKEN", "PLEXSYNC_PATH_MAP"]


def test_it_serves_both_emulators_and_prints_the_variables_plexsync_reads(tmp_path) -> None:
    playground = Playground.start("--scenes", "50", "--no-plugin", "--data-dir", str(tmp_path / "data"))
    try:
        exports = playground.exports
        assert list(exports) == WORKER_ENV + PLUGIN_PAGE
        known = {env_name(s.key) for s in SYNC_SETTINGS} | {env_name(b.key) for b in BOOTSTRAP_SETTINGS}
        assert set(exports) <= known
        # every other line is a comment: nothing a shell (or a user) could mistake for a setting
        assert all(line.startswith(("#", "export PLEXSYNC_")) for line in playground.lines)
        assert exports["PLEXSYNC_PATH_MAP"] == "/data/stash=/media/plex"
        assert exports["PLEXSYNC_DATA_DIR"] == str((tmp_path / "data").resolve())

        plex, token = exports["PLEXSYNC_PLEX_URL"], exports["PLEXSYNC_PLEX_TOKEN"]
        identity = requests.get(plex + "/identity", timeout=10)
        assert identity.status_code == 200 and "machineIdentifier" in identity.text
        sections = requests.get(plex + "/library/sections", headers={"X-Plex-Token": token}, timeout=10)
        assert sections.status_code == 200 and "TV Shows" in sections.text
        answer = requests.post(
            exports["PLEXSYNC_STASH_URL"] + "/graphql",
            json={"query": "{ version { version } findScenes { count } }"},
            headers={"ApiKey": exports["PLEXSYNC_STASH_API_KEY"]},
            timeout=10,
        ).json()["data"]
        assert answer["findScenes"]["count"] == 50 and answer["version"]["version"]
        assert len(playground.examples()) == 3

        edited = playground.run(
            "emulators.edit", playground.examples()[0][0], "--title", "No hook", env=playground.environment()
        )
        assert edited.returncode == 0, edited.stderr
        assert "Stash runs no plugin" in "\n".join(playground.lines)
        assert playground.interrupt() == 0
        assert playground.lines[-1] == "# stopped"
        assert not [line for line in playground.lines if line.startswith("# hook ")]
    finally:
        playground.kill()
    with pytest.raises(requests.ConnectionError):
        requests.get(plex + "/identity", timeout=5)


def test_variables_stash_passes_to_the_hook_are_printed_for_the_worker_too(tmp_path) -> None:
    """With the Redis queue, the hook (which inherits Stash's environment) and the worker must agree."""
    env = {**clean_environment(), "PLEXSYNC_REDIS_URL": "redis://127.0.0.1:6379/6", "PLEXSYNC_PLEX_URL": "http://x:1"}
    playground = Playground.start("--scenes", "10", "--no-plugin", "--data-dir", str(tmp_path / "d"), env=env)
    try:
        assert playground.exports["PLEXSYNC_REDIS_URL"] == "redis://127.0.0.1:6379/6"
        # a stale plugin setting in the shell does not leak into what is printed
        assert playground.exports["PLEXSYNC_PLEX_URL"] != "http://x:1"
    finally:
        playground.kill()


def test_the_export_lines_are_valid_shell(tmp_path) -> None:
    playground = Playground.start("--scenes", "10", "--no-plugin", "--data-dir", str(tmp_path / "with space"))
    try:
        script = "\n".join(line for line in playground.lines if line.startswith("export "))
        script += '\nprintf "%s\\n" "$PLEXSYNC_DATA_DIR" "$PLEXSYNC_PATH_MAP"'
        shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, env={})
        assert shell.stdout.splitlines() == [str((tmp_path / "with space").resolve()), "/data/stash=/media/plex"]
        assert shlex.quote(str((tmp_path / "with space").resolve())) in script
    finally:
        playground.kill()


def test_the_readme_walkthrough_shows_what_it_prints(tmp_path) -> None:
    """The walkthrough's sample output (docs/development.md) is this output, but for the values that change each run."""
    readme = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Try it against the emulators") :]
    section = section[: section.index("\n## ")]
    assert ".venv/bin/python -m emulators --scenes 50 | tee playground.env" in section
    playground = Playground.start("--scenes", "50", "--data-dir", str(tmp_path / "data"))
    try:
        exports = playground.exports
        varying = ("127.0.0.1", exports["PLEXSYNC_DATA_DIR"], exports["PLEXSYNC_STASH_API_KEY"], "Stash runs")
        varying += (exports["PLEXSYNC_PLEX_TOKEN"],)
        stable = [line for line in playground.lines if not any(value in line for value in varying)]
        assert len(stable) >= 9
        for line in stable:
            assert f"   {line}\n" in section, f"docs/development.md's sample output lacks: {line}"
    finally:
        playground.kill()


def test_help_documents_the_playground_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for option in ("--scenes", "--seed", "--stash-port", "--plex-port", "--data-dir", "--no-plugin"):
        assert option in result.stdout
