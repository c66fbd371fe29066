"""An exclusive, non-blocking file lock from the standard library, on every OS Stash runs on.

It must work before any package is installed, so no lock library: ``flock``
where there is ``fcntl``, ``msvcrt.locking`` on Windows. Both are released by
the operating system when the holder dies, however it dies, so a stale lock
cannot exist.
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def try_lock(path: str) -> int | None:
    """A descriptor holding ``path`` locked exclusively, or None while another process holds it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        os.close(fd)
        return None
    return fd


def release(fd: int) -> None:
    os.close(fd)


def is_held(path: str) -> bool:
    """Whether another process holds the lock now (a look only: the answer may be stale at once)."""
    if not os.path.exists(path):
        return False
    fd = try_lock(path)
    if fd is None:
        return True
    release(fd)
    return False
