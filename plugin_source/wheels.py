"""The wheels the package ships: exactly the files ``requirements.lock`` pins, downloaded by pip, checked again here.

``pip download --require-hashes --only-binary=:all: --no-deps`` takes, for
each pin, only a file whose sha256 the lock lists (the pure ``py3-none-any``
wheel), so every build of the same lock ships the same bytes; pip's cache
makes later builds download nothing. Each file is then checked once more
with the plugin's own code (:mod:`plexsync.environment.wheels`), which is what
the set-up on Stash's machine will run, and must be pure Python.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from plexsync.environment import lock, wheels
from plexsync.environment.layout import LOCK_FILES


class DownloadError(RuntimeError):
    pass


def download(root: Path, dest: Path) -> list[Path]:
    """The locked wheels, in ``dest``; sorted by file name."""
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--only-binary=:all:", "--require-hashes", "--dest", str(dest), "-r", str(root / LOCK_FILES[0]),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise DownloadError(f"pip could not download the wheels of {LOCK_FILES[0]}: {tail}")
    found = []
    for pin in lock.read(str(root)):
        path = Path(wheels.find(str(dest), pin))
        wheels.verified(str(path), pin, LOCK_FILES[0])
        if not path.name.endswith("-none-any.whl"):
            raise DownloadError(f"{path.name} is not a pure-Python wheel: it cannot ship in the package")
        found.append(path)
    return sorted(found, key=lambda path: path.name)
