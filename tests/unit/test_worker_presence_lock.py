"""The worker's presence protocol on real files and real processes (plexsync.worker.oslock, autostart,
presence): the same code on every platform but for the two lock calls, so these run it all on Linux."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from plexsync.worker import autostart, oslock
from plexsync.worker.presence import PresenceLock
from tests.support import REPO, wait_until

HOLDER = textwrap.dedent(
    """
    import sys, time
    from plexsync.worker.presence import PresenceLock
    lock = PresenceLock(sys.argv[1])
    assert lock.take()
    print(lock.path, flush=True)
    time.sleep(60)
    """
)


def _holder(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def test_a_consumers_lock_is_seen_while_it_lives_and_its_file_is_pruned_after_a_kill(tmp_path: Path):
    assert autostart.live_consumers(tmp_path) == 0  # no folder yet: nobody
    first, first_path = _holder(tmp_path)
    second, _ = _holder(tmp_path)
    try:
        assert autostart.live_consumers(tmp_path) == 2
        assert autostart.live_consumers(tmp_path, first_only=True) == 1
        first.kill()
        first.wait()
        wait_until(lambda: autostart.live_consumers(tmp_path) == 1, message="the OS to release the dead one's lock")
        assert Path(first_path).exists()  # SIGKILL leaves its file behind...
        mine = PresenceLock(tmp_path)
        assert mine.take()
        assert mine.prune() == 1 and not Path(first_path).exists()  # ...which the next consumer removes
        assert autostart.live_consumers(tmp_path) == 2
        mine.remove()
        assert not Path(mine.path).exists() and autostart.live_consumers(tmp_path) == 1
    finally:
        for process in (first, second):
            process.kill()
            process.wait()


def test_the_start_lock_admits_one_starter_at_a_time(tmp_path: Path):
    held = autostart.try_start_lock(tmp_path)
    assert held is not None
    assert autostart.try_start_lock(tmp_path) is None  # another descriptor, even in this process: refused
    oslock.release(held)
    again = autostart.try_start_lock(tmp_path)
    assert again is not None
    oslock.release(again)


def test_held_by_someone_is_false_for_a_missing_or_free_file(tmp_path: Path):
    path = str(tmp_path / "free.lock")
    assert not oslock.held_by_someone(path)
    fd = oslock.open_lock_file(path)
    os.close(fd)
    assert not oslock.held_by_someone(path)
    fd = oslock.try_lock_path(path)
    assert fd is not None and oslock.held_by_someone(path)
    oslock.release(fd)


def test_a_lock_handed_to_a_child_stays_held_after_the_parent_lets_go_of_its_copy(tmp_path: Path):
    """The set-up's hook takes the lock and passes it to the set-up it starts (environment.background).

    flock belongs to the open file, which ``pass_fds`` shares: had the hook unlocked its copy
    (oslock.release), the running set-up would have lost the lock and a second set-up could
    start beside it (CI saw exactly that: two set-ups writing ``.deps`` at once).
    """
    path = str(tmp_path / "setup.lock")
    fd = oslock.try_lock_path(path)
    assert fd is not None
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, pass_fds=(fd,)
    )
    try:
        oslock.hand_over(fd)
        assert oslock.held_by_someone(path)
        assert oslock.try_lock_path(path) is None
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    assert not oslock.held_by_someone(path)  # the child's end frees it
