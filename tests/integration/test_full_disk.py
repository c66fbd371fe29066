"""A data folder on a disk that fills up (or turns read-only): said in one line, and caught up once it has room.

The data folder is a real file system of its own here (:class:`emulators.disk.SmallDisk`, a
few megabytes of tmpfs), filled by a file grown until the kernel refuses another byte and freed
by deleting it. What SQLite does then, measured on it (SQLite 3.40, huey 3.5, peewee 4.5):

* full, a worker running (it holds ``queue.db`` and ``plexsync.db`` open): every write fails
  at its commit, "database or disk is full" (SQLITE_FULL): the hook's enqueue, the worker's
  heartbeat (``huey.put``), its claim of the next job (``dequeue``), its state writes. Reads work;
* full, nobody holding the database open: opening it fails at huey's ``pragma journal_mode``
  with "disk I/O error" (SQLITE_IOERR_SHMSIZE: the WAL's ``-shm`` index cannot be created),
  a read as much as a write; on a database file not yet made, SQLITE_FULL at the same pragma;
* read-only (``mount -o remount,ro``, which the kernel refuses while a process holds a file
  there open for writing: the tests stop the worker first): opening fails with "unable to open
  database file" (SQLITE_CANTOPEN), creating a folder with ``OSError`` EROFS.

Before this, a hook answered ``{"error": "PlexSync: disk I/O error"}`` (or "database or disk
is full"), the edit was never queued, and nothing synced it once the disk had room.

Stash logs a plugin's ``error`` at Error level, which its default log level (Info) shows.
Mounting needs root: the tests skip, saying why, where it is not permitted; CI runs as root.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.disk import SmallDisk, mount_refused
from emulators.plugin_host import Invocation, PluginHost
from plexsync.tools.exitcodes import ExitCode
from tests.integration.conftest import STASH_API_KEY, World, _make_world
from tests.integration.test_sync_end_to_end import edit_scene
from tests.support import REPO, wait_until

AFTERWARDS = "edits made meanwhile are synced once it can be written again"
#: What is left on a full disk: 0 bytes once filled, a few KB when SQLite has deleted a file since.
FREE = r"(\d+ bytes|\d+(\.\d)? KB) free"


def full_line(folder: Path) -> re.Pattern[str]:
    return re.compile(
        rf"PlexSync: cannot queue the edit: the disk holding {re.escape(str(folder))} is full \({FREE}\); "
        rf"free some space there; {AFTERWARDS}"
    )


def stop_processes_using(disk: SmallDisk) -> None:
    """SIGKILL what holds files on the disk (workers the plugin started are in no test's list)."""
    for pid in disk.processes():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not disk.processes(), timeout=15, message="the disk's processes to exit")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    refused = mount_refused()
    if refused:
        pytest.skip(refused)
    small = SmallDisk(tmp_path / "data").mount()
    try:
        yield small
    finally:
        stop_processes_using(small)
        small.unmount()


@pytest.fixture
def world(disk: SmallDisk, tmp_path: Path) -> Iterator[World]:
    """The usual world, its data folder on ``disk`` (mounted before anything is written there)."""
    yield from _make_world(tmp_path)


def other_lines(invocation: Invocation) -> list[str]:
    """What Stash's log shows of ``invocation`` beside its error: nothing, for a one-line answer."""
    return [line.message for line in invocation.logs if line.message != invocation.error]


def the_hook(world: World) -> Invocation:
    hook = world.host.invocations[-1]
    assert hook.kind == "hook" and hook.returncode == 0 and not hook.timed_out, hook
    return hook


def plexsync_cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plexsync", *args], cwd=REPO, env=world.env, capture_output=True, text=True, timeout=60
    )


def test_with_a_worker_running_a_full_disk_is_said_in_one_line_and_the_edits_reach_plex_once_it_has_room(
    world: World, disk: SmallDisk
):
    (first, first_key), (second, second_key) = world.add_scene("first"), world.add_scene("second")
    consumer = world.start_consumer()
    world.host.attach()
    edit_scene(world, first, title="Before the disk filled")
    wait_until(lambda: world.plex.item(first_key).title == "Before the disk filled", message="the first sync")

    disk.fill()
    edit_scene(world, first, title="Edited on a full disk")
    hook = the_hook(world)
    # One line, naming the folder, what is wrong, what to do; no traceback, no second line, exit 0.
    assert full_line(world.data_dir).fullmatch(hook.error or ""), hook.error
    assert hook.output is None and other_lines(hook) == [], hook
    edit_scene(world, second, title="Also edited on a full disk")
    assert full_line(world.data_dir).fullmatch(the_hook(world).error or "")

    # The worker knows, says so once, and stays.
    wait_until(lambda: "cannot write the data folder since" in consumer.log(), message="the worker's line")
    # Stash's Status task and `plexsync status` say it while it lasts.
    status = world.host.run_task("Status")
    assert status.error is None, status
    [said] = [line for line in status.messages("warning") if "data folder" in line]
    assert re.fullmatch(
        rf"PlexSync Status: the data folder cannot be written since \d{{4}}-\d\d-\d\d (\d\d:\d\d:\d\d) \(.*\): "
        rf"the disk holding {re.escape(str(world.data_dir))} is full \({FREE}\); free some space there; "
        rf"{AFTERWARDS}",
        said,
    ), said
    cli = plexsync_cli(world, "status")
    assert cli.returncode == ExitCode.DATA_FOLDER, cli
    assert f"the disk holding {world.data_dir} is full" in cli.stdout and "worker: alive" in cli.stdout, cli.stdout

    disk.free()
    wait_until(lambda: world.plex.item(first_key).title == "Edited on a full disk", timeout=60, message="catch-up")
    wait_until(lambda: world.plex.item(second_key).title == "Also edited on a full disk", timeout=60)
    assert consumer.alive()
    assert "the data folder" in consumer.log() and "can be written again" in consumer.log()
    assert "Traceback" not in consumer.log(), consumer.log()
    assert world.dead_letters() == []
    assert plexsync_cli(world, "status").returncode == ExitCode.OK


def test_a_worker_started_on_a_full_disk_waits_then_syncs_what_was_queued_before_and_edited_meanwhile(
    world: World, disk: SmallDisk
):
    """No worker ran when the disk filled (external mode: the user starts it, e.g. a service
    restarted meanwhile): it starts although it can open neither database, and waits."""
    (queued, queued_key), (meanwhile, meanwhile_key) = world.add_scene("queued"), world.add_scene("meanwhile")
    world.host.attach()
    edit_scene(world, queued, title="Queued before the disk filled")
    assert the_hook(world).error is None  # in the queue; no worker runs yet

    disk.fill()
    edit_scene(world, meanwhile, title="Edited while it was full")
    # Nobody holds the queue open: SQLite fails to open it ("disk I/O error"); still said as a full disk.
    assert full_line(world.data_dir).fullmatch(the_hook(world).error or ""), the_hook(world)
    # A task says it too, in its own words.
    status = world.host.run_task("Status")
    assert re.fullmatch(
        rf"PlexSync: cannot run the task: the disk holding {re.escape(str(world.data_dir))} is full "
        rf"\({FREE}\); free some space there; {AFTERWARDS}",
        status.error or "",
    ), status
    assert status.returncode == 0 and other_lines(status) == []
    cli = plexsync_cli(world, "status")  # no traceback either: one line, exit status 13
    assert cli.returncode == ExitCode.DATA_FOLDER, cli
    assert re.fullmatch(
        rf"Error: cannot open PlexSync's state: the disk holding {re.escape(str(world.data_dir))} is full "
        rf"\({FREE}\); free some space there; {AFTERWARDS}\n",
        cli.stderr,
    ), cli.stderr

    consumer = world.start_consumer()  # returns once its startup ran: it did not crash
    wait_until(lambda: "cannot write the data folder since" in consumer.log(), message="the worker's line")
    disk.free()
    wait_until(lambda: world.plex.item(queued_key).title == "Queued before the disk filled", timeout=60)
    wait_until(lambda: world.plex.item(meanwhile_key).title == "Edited while it was full", timeout=60)
    assert consumer.alive() and "Traceback" not in consumer.log(), consumer.log()
    assert world.dead_letters() == []


def consumers_on(disk: SmallDisk) -> list[int]:
    """The huey consumers working on ``disk`` (whatever started them)."""
    found = []
    for pid in disk.processes():
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            # by hand: huey_consumer; started by the plugin: its launcher, which runs huey's consumer in-process
            if b"huey_consumer" in command or b"plexsync.worker.launch" in command:
                found.append(pid)
    return found


def age(pid: int) -> float:
    """Seconds since ``pid`` started."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


def test_auto_mode_the_hook_that_cannot_queue_starts_a_worker_which_catches_up_once_there_is_room(
    world: World, disk: SmallDisk
):
    """Auto mode, no worker running: the failing hook starts one and tells it when it failed.
    That worker cannot write its log, its lock's neighbour databases or its heartbeat; it
    must neither crash nor stop when idle (it would forget), and sync the edit afterwards."""
    idle_exit = 1.5
    stash_env = {
        "PLEXSYNC_DATA_DIR": str(world.data_dir),
        "PLEXSYNC_STASH_API_KEY": STASH_API_KEY,
        "PLEXSYNC_WORKER_IDLE_EXIT": str(idle_exit),
        **{k: v for k, v in world.env.items() if k.startswith("PLEXSYNC_RETRY")},
    }
    host = PluginHost(REPO, world.stash, env=stash_env, stash_dir=world.tmp / "stash-auto")
    host.attach()
    scene_id, rating_key = world.add_scene("auto")
    edit_scene(world, scene_id, title="Synced by a worker the hook started")
    wait_until(lambda: world.plex.item(rating_key).title == "Synced by a worker the hook started")
    wait_until(lambda: not consumers_on(disk), timeout=30, message="the idle worker to stop")

    disk.fill()
    edit_scene(world, scene_id, title="Edited on a full disk, no worker running")
    [hook] = host.invocations[-1:]
    assert full_line(world.data_dir).fullmatch(hook.error or ""), hook
    assert other_lines(hook) == []
    [pid] = wait_until(lambda: consumers_on(disk), message="a worker started by the failing hook")
    # The outage outlasts the idle period several times: a worker that stopped when idle would forget it.
    wait_until(lambda: age(pid) > 4 * idle_exit, message="time to pass")
    assert consumers_on(disk) == [pid]

    disk.free()
    wait_until(
        lambda: world.plex.item(rating_key).title == "Edited on a full disk, no worker running",
        timeout=60,
        message="the catch-up",
    )
    log = (world.data_dir / "worker.log").read_text(errors="replace")
    assert "can be written again" in log and "Traceback" not in log, log
    # Its job done, it stops when idle as before.
    wait_until(lambda: not consumers_on(disk), timeout=30, message="the worker to stop when idle")


def test_a_read_only_data_folder_is_said_in_one_line_and_what_was_queued_stays(world: World, disk: SmallDisk):
    scene_id, rating_key = world.add_scene("read-only")
    other_id, _ = world.add_scene("other")
    world.host.attach()
    edit_scene(world, scene_id, title="Queued before it turned read-only")
    assert the_hook(world).error is None

    disk.read_only()
    try:
        edit_scene(world, other_id, title="Edited while read-only")
        hook = the_hook(world)
        assert hook.error == (
            f"PlexSync: cannot queue the edit: {world.data_dir} is read-only; make it writable again "
            f"(or point PLEXSYNC_DATA_DIR at a writable folder); {AFTERWARDS}"
        ), hook
        assert hook.output is None and other_lines(hook) == []
    finally:
        disk.writable()
    world.start_consumer()
    wait_until(lambda: world.plex.item(rating_key).title == "Queued before it turned read-only", timeout=60)


def test_the_hooks_fast_path_does_not_ask_the_disk(world: World, disk: SmallDisk):
    """Only a failed write makes the hook look at the file system (statvfs): an edit queued
    on a healthy disk never does."""
    scene_id, _ = world.add_scene("fast")
    env = {**world.env, **world.hook_env()}
    probe = (
        "import os, sys; calls = []; real = os.statvfs\n"
        "os.statvfs = lambda *a: (calls.append(a), real(*a))[1]\n"
        "sys.path.insert(0, sys.argv[1]); from plexsync.plugin.protocol import run\n"
        "run({'args': {'hookContext': {'type': 'Scene.Update.Post', 'id': int(sys.argv[2]), 'input': {}}}})\n"
        "print(len(calls))"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(REPO), scene_id], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "0", done
