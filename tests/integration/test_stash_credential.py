"""Stash's credential, taken care of (issue #16, part 3): with a login, the worker the plugin starts
gets Stash's API key from Stash itself, in memory, with no ``PLEXSYNC_STASH_API_KEY`` anywhere.

Everything is real: the plugin host runs the entry script as Stash does (with the session cookie
Stash hands every invocation), the hook asks Stash for its key (``configuration { general { apiKey } }``,
../shared/stash-plugins.md "Credentials a plugin can reach"), and starts a real consumer.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.plugin_host import Invocation, PluginHost
from plexsync.worker.autostart import LOG_FILE
from tests.integration.conftest import STASH_API_KEY, World
from tests.integration.test_worker_autostart import STARTED, process_alive, synced
from tests.support import REPO, wait_until


class KeylessStash:
    """Stash's process with nothing of PlexSync's but where its data lives: no API key, no Stash URL."""

    def __init__(self, world: World) -> None:
        self.world = world
        env = {
            "PLEXSYNC_DATA_DIR": str(world.data_dir),
            "PLEXSYNC_WORKER_IDLE_EXIT": "600",
            **{k: v for k, v in world.env.items() if k.startswith("PLEXSYNC_RETRY")},
        }
        assert not any("STASH_API_KEY" in key for key in os.environ)
        self.host = PluginHost(REPO, world.stash, env=env, stash_dir=world.tmp / "stash-keyless")

    def hook(self, scene_id: str) -> Invocation:
        [invocation] = self.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
        assert invocation.returncode == 0 and invocation.error is None, invocation
        return invocation

    def log(self) -> str:
        path = self.world.data_dir / LOG_FILE
        return path.read_text(errors="replace") if path.exists() else ""

    def started_pids(self) -> list[int]:
        return [int(pid) for pid in STARTED.findall(self.log())]

    def kill_all(self) -> None:
        for pid in self.started_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def keyless(world: World) -> Iterator[KeylessStash]:
    setup = KeylessStash(world)
    try:
        yield setup
    finally:
        setup.kill_all()
        print(f"--- {LOG_FILE} ---\n{setup.log()}")


def _everything_a_key_could_leak_into(world: World, keyless: KeylessStash, pid: int) -> dict[str, bytes]:
    places = {
        f"/proc/{pid}/environ": Path(f"/proc/{pid}/environ").read_bytes(),
        f"/proc/{pid}/cmdline": Path(f"/proc/{pid}/cmdline").read_bytes(),
        # ``ps e``: the command line and the environment, as any process of the same user may read them
        # (only this worker's: other tests on the machine run workers with the same test key in their environment)
        "ps": subprocess.run(["ps", "-ww", "e", "-o", "pid,args", "-p", str(pid)], capture_output=True).stdout,
    }
    for path in world.data_dir.rglob("*"):
        if path.is_file():
            places[str(path.relative_to(world.tmp))] = path.read_bytes()
    for invocation in keyless.host.invocations:
        text = invocation.stdout + "\n".join(line.message for line in invocation.stash_log)
        places[f"{invocation.kind} {invocation.name}"] = text.encode()
    return places


def test_with_a_login_and_a_key_the_started_worker_syncs_and_the_key_is_nowhere_but_in_its_memory(
    world: World, keyless: KeylessStash
):
    scene_id, rating_key = world.add_scene("keyed", title="Synced with Stash's own key")
    invocation = keyless.hook(scene_id)
    assert invocation.shown() == []  # nothing for the user to do
    wait_until(lambda: synced(world, rating_key, "Synced with Stash's own key"), message="the sync")
    [pid] = keyless.started_pids()
    places = _everything_a_key_could_leak_into(world, keyless, pid)
    assert b"plexsync.worker.launch" in places["ps"]  # ps did list the worker
    for place, content in places.items():
        assert STASH_API_KEY.encode() not in content, f"Stash's API key leaked into {place}"
    assert b"PLEXSYNC_STASH_API_KEY" not in Path(f"/proc/{pid}/environ").read_bytes()


def test_with_a_login_and_no_key_one_line_says_where_to_generate_one_and_the_next_edit_after_it_syncs(
    world: World, keyless: KeylessStash
):
    world.stash.api_key = None  # the login stays: a username and password, no key generated
    assert world.stash.login
    scene_id, rating_key = world.add_scene("no-key", title="Waits for a key")
    invocation = keyless.hook(scene_id)
    [line] = invocation.shown()  # at Stash's default level, one line
    assert line.level == "warning"
    assert line.message.startswith("PlexSync: Stash has a login and no API key")
    assert "Stash's Settings > Security > API Key (the 'Generate API key' button)" in line.message
    assert keyless.started_pids() == [] and world.queued() == 1  # nothing started that could not work

    world.stash.api_key = "generated-after-the-warning-3c1d"
    world.stash.update_scene(scene_id, title="Synced once a key exists")
    assert keyless.hook(scene_id).shown() == []
    wait_until(lambda: synced(world, rating_key, "Synced once a key exists"), message="the sync with the new key")


def test_a_regenerated_key_stops_the_stuck_worker_and_the_next_edit_starts_one_with_the_new_key(
    world: World, keyless: KeylessStash
):
    scene_id, rating_key = world.add_scene("rotated", title="Before the new key")
    keyless.hook(scene_id)
    wait_until(lambda: synced(world, rating_key, "Before the new key"), message="the first sync")
    [first] = keyless.started_pids()

    world.stash.api_key = "regenerated-key-9e8f"  # Settings > Security > Generate API key, again
    world.stash.update_scene(scene_id, title="After the new key")
    keyless.hook(scene_id)  # the running worker takes it, and Stash refuses its key
    wait_until(lambda: not process_alive(first), timeout=60, message="the worker with the old key to stop")
    assert "Stash refused the API key PlexSync handed to this worker" in keyless.log()

    keyless.hook(scene_id)  # the next edit (or task) starts a worker with the key Stash has now
    wait_until(lambda: synced(world, rating_key, "After the new key"), timeout=60, message="the sync, new key")
    assert len(keyless.started_pids()) == 2
    assert "regenerated-key-9e8f" not in keyless.log()


def test_doctor_in_stash_checks_the_key_the_worker_gets_not_its_own_session(world: World, keyless: KeylessStash):
    """Before: with a login and no key, Doctor said "Everything PlexSync needs works" (its session cookie
    passes) while the worker it started was refused. Now it checks with what the worker gets."""
    world.add_scene("doctor", title="doctor")
    world.stash.api_key = None
    doctor = keyless.host.run_task("Doctor")
    shown = doctor.shown_text()
    assert "[FAIL] Stash: " in shown and "has a login and no API key, so the worker PlexSync starts" in shown
    assert "fix: generate one in Stash's Settings > Security > API Key" in shown
    assert "[ok] Plex: " in shown  # the other checks still ran, with the task's own session
    assert "Everything PlexSync needs works" not in shown
    assert re.search(r"PlexSync Doctor: \d problem\(s\) found", shown)

    world.stash.api_key = "a-key-at-last-77aa"
    healthy = keyless.host.run_task("Doctor").shown_text()
    assert "Stash's API key (PlexSync hands it to the worker it starts) is accepted" in healthy
    assert healthy.splitlines()[-1] == "PlexSync Doctor: Everything PlexSync needs works."
