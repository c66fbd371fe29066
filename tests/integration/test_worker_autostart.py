"""The worker's life as a user sees it: started by the plugin on demand (mode
``auto``), gone when idle, replaced after a crash; or run by the user (mode
``external``), with Stash's log saying when it is not running or when syncs
are failing; and ``python3 run.py worker`` stopping the way the README says.

Everything is real: the plugin host starts the entry script as Stash does,
the hook starts a real ``huey_consumer``, which syncs against the emulators.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emulators.plugin_host import Invocation, PluginHost
from plexsync.worker.autostart import CONSUMER_OPTIONS, LOCK_FILE, LOG_FILE
from run import CONSUMER_OPTIONS as RUN_PY_CONSUMER_OPTIONS
from tests.integration.conftest import STASH_API_KEY, World
from tests.support import REPO, wait_until

IDLE_EXIT = "1.5"  # seconds: long enough for a sync to queue its follow-ups, short for a test
STARTED = re.compile(r"worker started \(auto mode\): pid (\d+)")


def process_alive(pid: int) -> bool:
    """Running (not a zombie nobody has reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class AutoWorld:
    """The test world with a Stash whose environment leaves the worker to the plugin."""

    def __init__(self, world: World, **env: str) -> None:
        self.world = world
        # What a user sets for Stash's process: where the data lives and Stash's own API key.
        # Not PLEXSYNC_STASH_URL: the started worker takes it from the hook's server_connection.
        stash_env = {
            "PLEXSYNC_DATA_DIR": str(world.data_dir),
            "PLEXSYNC_STASH_API_KEY": STASH_API_KEY,
            "PLEXSYNC_STASH_URL": "",
            "PLEXSYNC_WORKER_IDLE_EXIT": IDLE_EXIT,
            **{k: v for k, v in world.env.items() if k.startswith("PLEXSYNC_RETRY") or k == "PLEXSYNC_REDIS_URL"},
            **env,
        }
        self.host = PluginHost(REPO, world.stash, env=stash_env, stash_dir=world.tmp / "stash-auto")

    def hook(self, scene_id: str) -> Invocation:
        [invocation] = self.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
        assert invocation.returncode == 0 and not invocation.timed_out, invocation
        assert invocation.output == f"queued Plex sync of scene {scene_id}", invocation
        return invocation

    def log(self) -> str:
        path = self.world.data_dir / LOG_FILE
        return path.read_text(errors="replace") if path.exists() else ""

    def started_pids(self) -> list[int]:
        return [int(pid) for pid in STARTED.findall(self.log())]

    def live_workers(self) -> list[int]:
        return [pid for pid in self.started_pids() if process_alive(pid)]

    def kill_all(self) -> None:
        for pid in self.started_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # its own session: the group is its pid


@pytest.fixture
def auto(world: World) -> Iterator[AutoWorld]:
    setup = AutoWorld(world)
    try:
        yield setup
    finally:
        setup.kill_all()
        print(f"--- {LOG_FILE} ---\n{setup.log()}")


def synced(world: World, rating_key: int, title: str) -> bool:
    return world.plex.item(rating_key).title == title


def test_a_hook_with_no_worker_running_gets_its_scene_synced_with_nothing_else_done(auto: AutoWorld, world: World):
    scene_id, rating_key = world.add_scene("first-edit", title="Synced by a worker nobody started")
    invocation = auto.hook(scene_id)
    assert invocation.messages("warning") == []  # nothing for the user to do
    wait_until(lambda: synced(world, rating_key, "Synced by a worker nobody started"), message="the sync")
    [pid] = auto.started_pids()
    # Started detached (the hook returned while it runs), with Stash's address but no session cookie.
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"PLEXSYNC_STASH_URL={world.stash.url}".encode() in environ
    for cookie in (inv.stdin["server_connection"]["SessionCookie"]["Value"] for inv in auto.host.invocations):
        assert not any(cookie.encode() in entry for entry in environ)


def test_50_hooks_at_once_start_exactly_one_worker(auto: AutoWorld, world: World):
    scenes = world.add_scenes(50, prefix="burst")
    with ThreadPoolExecutor(max_workers=50) as pool:
        invocations = list(pool.map(lambda scene: auto.hook(scene[0]), scenes))
    assert all(inv.messages("warning") == [] for inv in invocations)
    for index, (_, rating_key) in enumerate(scenes):
        wait_until(lambda rk=rating_key, i=index: synced(world, rk, f"burst title {i}"), timeout=60, message="burst")
    assert len(auto.started_pids()) == 1, auto.log()


def test_the_worker_stops_when_idle_and_the_next_hook_starts_it_again(auto: AutoWorld, world: World):
    scene_id, rating_key = world.add_scene("idle", title="Before the pause")
    auto.hook(scene_id)
    wait_until(lambda: synced(world, rating_key, "Before the pause"), message="first sync")
    [first] = auto.started_pids()
    wait_until(lambda: not process_alive(first), timeout=30, message="the idle worker to stop")
    assert "idle for" in auto.log()
    assert world.queued() == 0

    world.stash.update_scene(scene_id, title="After the pause")
    auto.hook(scene_id)
    wait_until(lambda: synced(world, rating_key, "After the pause"), message="sync by a new worker")
    assert len(auto.started_pids()) == 2


def test_a_worker_killed_with_sigkill_leaves_nothing_that_stops_the_next_one(auto: AutoWorld, world: World):
    """SIGKILL mid-job: its lock file, heartbeat and claim stay behind; the next hook starts a worker anyway,
    which puts the claimed job back in the queue."""
    in_flight, in_flight_key = world.add_scene("killed-mid-job", title="Claimed when killed")
    fault = world.plex.faults.add(".*", delay=5.0)
    auto.hook(in_flight)
    claims = world.data_dir / "queue.db"
    wait_until(lambda: _claims(claims) == 1, timeout=30, message="the job in flight")
    [first] = auto.started_pids()
    os.killpg(first, signal.SIGKILL)
    wait_until(lambda: not process_alive(first), message="the kill")
    world.plex.faults.remove(fault)
    assert (world.data_dir / LOCK_FILE).exists()

    later, later_key = world.add_scene("after-the-kill", title="Queued after the kill")
    auto.hook(later)
    wait_until(lambda: synced(world, later_key, "Queued after the kill"), timeout=30, message="the new worker")
    wait_until(lambda: synced(world, in_flight_key, "Claimed when killed"), timeout=30, message="the recovered job")
    assert len(auto.started_pids()) == 2


def _claims(queue_db: Path) -> int:
    import sqlite3

    if not queue_db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(str(queue_db), timeout=10)) as conn:
        try:
            return conn.execute("select count(*) from claim").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_the_sync_all_task_starts_a_worker_too(auto: AutoWorld, world: World):
    scenes = world.add_scenes(5, prefix="task")
    result = auto.host.run_task("Sync all scenes")
    assert result.error is None and result.messages("warning") == [], result
    for index, (_, rating_key) in enumerate(scenes):
        wait_until(lambda rk=rating_key, i=index: synced(world, rk, f"task title {i}"), timeout=60, message="sync all")
    assert len(auto.started_pids()) == 1


def test_on_redis_the_worker_starts_on_stashs_machine_and_a_stale_heartbeat_does_not_stop_the_next(
    redis_world: World,
):
    world = redis_world
    auto = AutoWorld(world, PLEXSYNC_WORKER_IDLE_EXIT="600")  # still running when its beat is looked at
    try:
        scene_id, rating_key = world.add_scene("on-redis", title="Over Redis")
        auto.hook(scene_id)
        wait_until(lambda: synced(world, rating_key, "Over Redis"), message="sync over Redis")
        [first] = auto.started_pids()
        wait_until(lambda: _beat(world) and _beat(world)["pid"] == first, message="the heartbeat in Redis")
        os.killpg(first, signal.SIGKILL)
        wait_until(lambda: not process_alive(first), message="the kill")
        assert _beat(world)["pid"] == first  # a fresh beat, but of this machine, whose lock is free: dead

        world.stash.update_scene(scene_id, title="Over Redis again")
        auto.hook(scene_id)
        wait_until(lambda: synced(world, rating_key, "Over Redis again"), message="sync by the next worker")
        assert len(auto.started_pids()) == 2
    finally:
        auto.kill_all()


# -- external mode -------------------------------------------------------------------------------------------


def _beat(world: World) -> dict | None:
    """``plexsync.worker.heartbeat.read()`` as another process (the CLI, Stash's machine) sees it."""
    probe = "import json; from plexsync.worker import heartbeat as h; print(json.dumps([h.read(), h.alive()]))"
    env = {**world.env, "PLEXSYNC_WORKER_MODE": "external"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True)
    beat, alive = json.loads(result.stdout)
    return beat if alive else None


def test_external_mode_warns_in_stashs_log_when_no_worker_runs_and_never_starts_one(world: World):
    scene_id, rating_key = world.add_scene("external", title="Waits for the user's worker")
    [invocation] = world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    assert invocation.output == f"queued Plex sync of scene {scene_id}"
    [warning] = invocation.messages("warning")  # one line, at warning level, in Stash's log
    # In Stash's words: where the mode comes from (Stash's environment here), no shell command.
    assert warning == (
        "PlexSync: no worker is running (Worker mode is external, set by PLEXSYNC_WORKER_MODE in Stash's "
        "environment): syncs wait in the queue until the worker you run starts (docs/worker.md); with Worker mode "
        "auto, PlexSync starts it by itself"
    )
    assert not (world.data_dir / LOG_FILE).exists() and world.queued() == 1

    consumer = world.start_consumer()
    wait_until(lambda: synced(world, rating_key, "Waits for the user's worker"), message="the user's worker")
    beat = wait_until(lambda: _beat(world), message="the heartbeat")
    assert beat["pid"] == consumer.process.pid and beat["mode"] == "external"
    assert set(beat) >= {"host", "pid", "started_at", "beat_at", "mode"}
    [again] = world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    assert again.messages("warning") == []
    consumer.stop()
    assert _beat(world) is None  # a clean stop takes its beat away at once


def test_external_on_the_plugin_page_reaches_the_hook_through_the_workers_snapshot(auto: AutoWorld, world: World):
    """No PLEXSYNC_WORKER_MODE for Stash: before any worker ran the hook cannot know and starts one; that
    worker reads ``external`` on the plugin page, finishes the queue and stops; from then on hooks only warn."""
    world.configure_plugin(worker_mode="external", worker_idle_exit="600")
    scene_id, rating_key = world.add_scene("page-external", title="First and last auto sync")
    auto.hook(scene_id)
    wait_until(lambda: synced(world, rating_key, "First and last auto sync"), message="the first sync")
    [first] = auto.started_pids()
    wait_until(lambda: not process_alive(first), timeout=30, message="the worker to stop (external mode)")

    world.stash.update_scene(scene_id, title="Now waits")
    [warning] = auto.hook(scene_id).messages("warning")
    assert "no worker is running (Worker mode is external, set on the plugin page)" in warning
    assert len(auto.started_pids()) == 1


def test_failing_syncs_show_in_stashs_log_as_one_warning_line(world: World):
    scene_id, _ = world.add_scene("outage", title="Plex is down")
    gone_id, _ = world.add_scene("deleted", title="Deleted before its sync")
    world.stash.destroy_scene(gone_id)
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(gone_id), {"id": gone_id}, ["id"])
    wait_until(lambda: world.dead_letters(), message="the dead letter")
    world.plex.down()

    def warning_after_a_hook() -> str | None:
        [invocation] = world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
        warnings = invocation.messages("warning")
        assert len(warnings) <= 1
        # A snapshot is one moment's view: the job may be between the queue and the retry schedule.
        found = warnings and "Plex unavailable since" in warnings[0] and "waiting to be retried" in warnings[0]
        return warnings[0] if found else None

    warning = wait_until(warning_after_a_hook, timeout=60, interval=0.5, message="the outage in a hook's warning")
    assert "1 dead letter(s): see the task 'List dead letters'" in warning

    task = world.host.run_task("List dead letters")
    [task_warning] = [line for line in task.messages("warning") if line.startswith("PlexSync: ")]
    assert "Plex unavailable since" in task_warning and "1 dead letter(s)" in task_warning


# -- python3 run.py worker ---------------------------------------------------------------------------------


def test_run_py_worker_and_a_worker_the_plugin_starts_use_the_same_consumer_options():
    assert RUN_PY_CONSUMER_OPTIONS == CONSUMER_OPTIONS


def _run_py_worker(world: World, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, str(REPO / "run.py"), "worker", "-d", "0.05"],
            cwd=REPO,
            env={**world.env, "PLEXSYNC_WORKER_MODE": "external"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the test, not a terminal, sends the signal: to run.py only
        )


@pytest.mark.parametrize(("sig", "job_finishes"), [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_run_py_worker_passes_sigint_and_sigterm_on_and_waits(world: World, sig: int, job_finishes: bool):
    """SIGINT: the job in flight finishes, then the worker stops. SIGTERM: it stops at once and the job goes
    back in the queue. Either way: no traceback, exit status 0."""
    scene_id, rating_key = world.add_scene("run-py", title="In flight at the signal")
    log_path = world.tmp / "run-py-worker.log"
    worker = _run_py_worker(world, log_path)
    try:
        wait_until(lambda: "worker started (" in log_path.read_text(), timeout=60, message="run.py worker")
        fault = world.plex.faults.add(".*", delay=1.0)  # every Plex answer is slow (under the 3 s timeout)
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
        # the sync in flight: claimed and talking to Plex (the every-minute playback tick,
        # enqueued as the consumer starts, is a claim too, but asks Plex nothing while off)
        wait_until(
            lambda: _claims(world.data_dir / "queue.db") == 1 and bool(world.plex.requests),
            timeout=30,
            message="the job in flight",
        )
        worker.send_signal(sig)
        worker.wait(timeout=60)
        world.plex.faults.remove(fault)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert worker.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    if job_finishes:
        assert synced(world, rating_key, "In flight at the signal"), output
        assert world.queued() == 0
    else:
        assert "interrupted by shutdown; re-queued" in output
        assert world.queued() == 1  # back in the queue, not lost
