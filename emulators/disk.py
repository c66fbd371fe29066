"""A small disk of its own for one folder, to fill up, free, and make read-only.

PlexSync's data folder lives on the user's disk, which fills up (a download
finishing, a log growing) or turns read-only (the kernel remounts a file
system read-only after I/O errors; a container mounts a volume ``:ro``).
Nothing here imitates either: :class:`SmallDisk` mounts a real ``tmpfs`` of a
few megabytes on the folder, so SQLite, huey and the worker's log meet the
kernel's own ``ENOSPC`` and ``EROFS``, in the same system calls as on a real
disk. Mounting needs root (or ``CAP_SYS_ADMIN``); :func:`mount_refused` says
why it cannot be done here, for a test to skip with that reason.

A disk is filled with a file grown until the kernel refuses another byte, as
a download filling it would, and freed by deleting that file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path

#: The file that fills the disk (beside what PlexSync keeps there, as any other program's would be).
FILLER = "filler.bin"


class DiskError(RuntimeError):
    pass


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DiskError(" ".join((done.stderr or done.stdout).split()) or f"mount exited with {done.returncode}")


@cache
def mount_refused() -> str | None:
    """Why a tmpfs cannot be mounted on this machine (None: it can)."""
    if shutil.which("mount") is None:
        return "no mount command on this machine"
    probe = tempfile.mkdtemp(prefix="plexsync-mount-probe-")
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", probe)
    except DiskError as exc:
        return f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {exc}"
    finally:
        subprocess.run(["umount", probe], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            os.rmdir(probe)
    return None


class SmallDisk:
    """A ``tmpfs`` of ``size`` bytes mounted on ``folder`` (created if missing)."""

    def __init__(self, folder: Path | str, size: int = 16 * 1024 * 1024) -> None:
        self.folder = Path(folder)
        self.size = size
        self.mounted = False

    def mount(self) -> SmallDisk:
        self.folder.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "-o", f"size={self.size},mode=0755", "tmpfs", str(self.folder))
        self.mounted = True
        return self

    @property
    def filler(self) -> Path:
        return self.folder / FILLER

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.folder).free

    def fill(self) -> int:
        """Grow the filler until the kernel refuses one more byte; returns the bytes it took."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        taken = 0
        try:
            for chunk in (1 << 20, 1 << 16, 4096, 512, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        taken += os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        return taken

    def free(self) -> None:
        """Delete the filler: the disk has room again."""
        self.filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        """Remount read-only. The kernel refuses (EBUSY) while a process holds
        a file there open for writing: stop such processes first."""
        _mount("-o", "remount,ro", str(self.folder))

    def writable(self) -> None:
        _mount("-o", "remount,rw", str(self.folder))

    def processes(self) -> list[int]:
        """Pids of the processes with a file open on this disk or their working directory in it."""
        prefix = str(self.folder.resolve())
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                links = [entry / "cwd", *(entry / "fd").iterdir()]
                for link in links:
                    with contextlib.suppress(OSError):
                        target = os.readlink(link)
                        if target == prefix or target.startswith(prefix + "/"):
                            found.append(int(entry.name))
                            break
        return found

    def unmount(self, timeout: float = 10.0) -> None:
        """Unmount (the caller stopped what used it); lazily as a last resort: a test never leaves a mount behind."""
        if not self.mounted:
            return
        deadline = time.monotonic() + timeout
        while True:
            done = subprocess.run(["umount", str(self.folder)], capture_output=True, text=True, check=False)
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                subprocess.run(["umount", "-l", str(self.folder)], capture_output=True, check=False)
                break
            time.sleep(0.1)
        self.mounted = False
