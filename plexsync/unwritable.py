"""A data folder that cannot be written: which failures mean that, and the one line that says so.

The queue (``queue.db``), the state (``plexsync.db``), the worker's lock and
log live in the data folder. When its disk is full or read-only, every write
fails, and what the failure says is SQLite's, not the user's problem.
Measured on a real full file system and a real read-only one
(tests/integration/test_full_disk.py, SQLite 3.40, Python 3.11):

* disk full, the database open in another process (a worker running): the
  write fails at its commit, ``database or disk is full`` (SQLITE_FULL): the
  WAL cannot grow;
* disk full, nobody has the database open: opening it fails at huey's
  ``pragma journal_mode`` with ``disk I/O error`` (SQLITE_IOERR_SHMSIZE): the
  ``-shm`` index of a WAL database cannot be made. That is a read failing too,
  so then even ``status`` cannot read the queue; a new database file: SQLITE_FULL there;
* read-only (``mount -o remount,ro``, which the kernel refuses while a
  process holds a file there open for writing): opening fails with ``unable
  to open database file`` (SQLITE_CANTOPEN), creating the folder or a file
  raises ``OSError`` EROFS; a connection SQLite opened read-only says
  ``attempt to write a readonly database`` (SQLITE_READONLY);
* peewee raises its own ``OperationalError`` with sqlite3's as its context.

The error alone names no folder and does not tell a full disk from a failing
one ("disk I/O error" is both), so once a write *has* failed the folder's file
system is asked (``statvfs``): never on the hook's path when all is well.
This module is loaded by that path's failure branch: ``os`` and ``errno`` only.
"""

from __future__ import annotations

import errno
import os

#: Below this many free bytes a disk counts as full: SQLite grows its WAL by
#: page-sized frames, and a checkpoint needs room in the database file as well.
FULL_BELOW = 1 << 20

#: sqlite3's error names (``sqlite_errorname``) of a write the file system refused.
_SQLITE_ERRORS = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN")
#: The same in words, for an error that lost its name (re-raised by peewee without a context).
_SQLITE_MESSAGES = ("database or disk is full", "disk i/o error", "readonly database", "unable to open database file")
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY_ERRNOS = (errno.EROFS,)
_OTHER_ERRNOS = (errno.EIO,)

FULL = "full"
READ_ONLY = "read-only"
UNWRITABLE = "unwritable"


def _causes(exc: BaseException | None):
    """``exc`` and what it was raised from or during (peewee wraps sqlite3's errors)."""
    for _ in range(8):
        if exc is None:
            return
        yield exc
        exc = exc.__cause__ or exc.__context__


def _kind_of(exc: BaseException) -> str | None:
    """``full``, ``read-only`` or ``unwritable`` when ``exc`` is the file system refusing a write, else None."""
    for cause in _causes(exc):
        name = getattr(cause, "sqlite_errorname", None)
        if isinstance(name, str):
            if name.startswith("SQLITE_FULL"):
                return FULL
            if name.startswith("SQLITE_READONLY"):
                return READ_ONLY
            if name.startswith(_SQLITE_ERRORS):
                return UNWRITABLE
        if isinstance(cause, OSError) and cause.errno is not None:
            if cause.errno in _FULL_ERRNOS:
                return FULL
            if cause.errno in _READ_ONLY_ERRNOS:
                return READ_ONLY
            if cause.errno in _OTHER_ERRNOS:
                return UNWRITABLE
        if type(cause).__name__ == "OperationalError":
            text = str(cause).lower()
            if any(message in text for message in _SQLITE_MESSAGES):
                return FULL if "full" in text else READ_ONLY if "readonly" in text else UNWRITABLE
    return None


def is_write_failure(exc: BaseException) -> bool:
    """True when ``exc`` is a write the file system refused (no I/O: for log filters)."""
    return _kind_of(exc) is not None


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if count >= 10 else f"{count:.1f} {unit}"
    return f"{count} bytes"  # unreachable


class Unwritable:
    """What is wrong with the data folder ``folder``: ``state`` is ``full``,
    ``read-only`` or ``unwritable`` (anything else, ``error`` says what);
    ``free``: bytes free on its disk (None when unknown)."""

    __slots__ = ("error", "folder", "free", "state")

    def __init__(self, folder: str, state: str, free: int | None = None, error: str = "") -> None:
        self.folder = folder
        self.state = state
        self.free = free
        self.error = error

    def __repr__(self) -> str:
        return f"Unwritable({self.folder!r}, {self.state!r}, free={self.free!r})"

    def what(self) -> str:
        """What is wrong, naming the folder: "the disk holding /data is full (0 bytes free)"."""
        if self.state == FULL:
            free = f" ({_size(self.free)} free)" if self.free is not None else ""
            return f"the disk holding {self.folder} is full{free}"
        if self.state == READ_ONLY:
            return f"{self.folder} is read-only"
        detail = " ".join(self.error.split())[:120]
        return f"{self.folder} cannot be written" + (f" ({detail})" if detail else "")

    def fix(self) -> str:
        if self.state == FULL:
            return "free some space there"
        if self.state == READ_ONLY:
            return "make it writable again (or point PLEXSYNC_DATA_DIR at a writable folder)"
        return "check that the disk works and that Stash's user may write there"

    def line(self, doing: str) -> str:
        """The one line a user reads: what could not be done, what is wrong where, what to do."""
        return f"{doing}: {self.what()}; {self.fix()}; edits made meanwhile are synced once it can be written again"


def _existing(folder: str) -> str:
    """``folder`` or its nearest parent that exists (a read-only disk may not have it yet)."""
    path = os.path.abspath(folder)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def check(folder: str | os.PathLike) -> Unwritable | None:
    """The data folder's disk as its file system reports it: full, read-only, or None (fine, or cannot tell)."""
    folder = os.fspath(folder)
    try:
        stats = os.statvfs(_existing(folder))
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    free = stats.f_bavail * stats.f_frsize
    if stats.f_flag & getattr(os, "ST_RDONLY", 1):
        return Unwritable(folder, READ_ONLY, free)
    if free < FULL_BELOW:
        return Unwritable(folder, FULL, free)
    return None


def diagnose(exc: BaseException, folder: str | os.PathLike) -> Unwritable | None:
    """What is wrong with ``folder`` when ``exc`` is a write the file system refused, else None.

    The file system's own word wins (a read-only flag, no space left); else
    the error's (a disk quota is "full" with space left on the disk).
    """
    kind = _kind_of(exc)
    if kind is None:
        return None
    found = check(folder)
    if found is not None:
        return found
    return Unwritable(os.fspath(folder), kind, error=str(exc))
