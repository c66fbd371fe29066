"""An exclusive, non-blocking lock on a file, held until released or until the process dies.

The one primitive the worker's presence protocol (:mod:`plexsync.worker.autostart`)
needs, on every platform Stash runs on: ``fcntl.flock`` on Linux and macOS,
``msvcrt.locking`` (Win32 ``LockFile`` on one byte) on Windows. Both are
released by the operating system when the process ends, SIGKILL or power-off
included, so a stale lock cannot exist.

**Why not a library.** filelock 4.2 and portalocker 4.4 were measured for
this (``python -X importtime``, this project's 2-core machine): importing
either costs a process 60-130 ms (filelock loads asyncio, sqlite3, logging and
typing; portalocker loads typing and importlib.metadata), and every hook
probes this lock: that is twice a hook's whole time (issue #9), for what is
here two system calls. What the libraries add over these calls (timeouts,
re-entrancy, stale-lock recovery, the Windows shared lock through pywin32,
a compiled package) this protocol does not need: it uses exclusive locks
only, each consumer on a file of its own, and never blocks. The code below
is the same on every platform but for the two calls, so the Linux tests run
all of it.
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def open_lock_file(path: str) -> int:
    """A descriptor of ``path``, created when missing (not inherited by child processes: os.open's default)."""
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def try_lock(fd: int) -> bool:
    """Take the lock on ``fd``: False at once when another process (or descriptor) holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks from the current position: always byte 0
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def try_lock_path(path: str) -> int | None:
    """A descriptor holding ``path``'s lock (its folder made when missing), or None when someone holds it."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = open_lock_file(path)
    if try_lock(fd):
        return fd
    os.close(fd)
    return None


def release(fd: int) -> None:
    """Unlock and close (closing alone would do on POSIX; Windows wants the unlock first)."""
    unlock(fd)
    try:  # noqa: SIM105 - contextlib is one more import for every hook
        os.close(fd)
    except OSError:
        pass


def hand_over(fd: int) -> None:
    """Close this process's copy of a lock passed to a child (``pass_fds``), leaving the child holding it.

    Not :func:`release`: ``flock`` belongs to the open file, which parent and
    child share, so the parent's unlock would free the child's lock too.
    """
    try:  # noqa: SIM105
        os.close(fd)
    except OSError:
        pass


def held_by_someone(path: str) -> bool:
    """Whether another process holds ``path``'s lock now (a missing file: nobody)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        if try_lock(fd):
            unlock(fd)
            return False
        return True
    finally:
        os.close(fd)
