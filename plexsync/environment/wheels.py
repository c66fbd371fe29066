"""Installing a pure-Python wheel with the standard library: check its sha256, then unzip it.

A wheel (PEP 427) is a zip whose top level is what goes into site-packages,
plus ``<name>-<version>.dist-info/`` (kept: ``importlib.metadata`` reads it)
and maybe ``<name>-<version>.data/<scheme>/``, of which only ``purelib`` and
``platlib`` hold importable code (moved to the top, as pip does); scripts,
headers and data files are not needed by a plugin and are left out. No
compiled file is ever written: the lock pins ``py3-none-any`` wheels only, and
a wheel with an extension module in it is refused as not pure.

A ``.yml`` file is never written either: Stash loads every ``*.yml`` below its
plugins folder as a plugin manifest (none of the locked wheels has one).
"""

from __future__ import annotations

import hashlib
import os
import zipfile

from plexsync.environment.lock import Pin, normalise

COMPILED = (".so", ".pyd", ".dll", ".dylib")
#: Zip members bigger than this are not a plugin's Python code (a bomb is refused before it fills the disk).
MAX_MEMBER = 64 * 1024 * 1024


class WheelError(ValueError):
    """A wheel that must not be installed; the message names the file and why."""


def matches(filename: str, pin: Pin) -> bool:
    """Whether ``filename`` is a wheel of ``pin``'s release (``<name>-<version>[-build]-<py>-<abi>-<platform>.whl``)."""
    parts = filename[: -len(".whl")].split("-") if filename.endswith(".whl") else []
    return len(parts) in (5, 6) and normalise(parts[0]) == pin.key and parts[1] == pin.version


def find(wheels_dir: str, pin: Pin) -> str:
    """The path of ``pin``'s wheel among the shipped ones, or :class:`WheelError`."""
    try:
        names = sorted(name for name in os.listdir(wheels_dir) if matches(name, pin))
    except FileNotFoundError:
        names = []
    if not names:
        raise WheelError(f"the package has no wheel of {pin.name} {pin.version}")
    return os.path.join(wheels_dir, names[0])


def verified(path: str, pin: Pin, lock_name: str) -> bytes:
    """The wheel's bytes, when their sha256 is one the lock lists for it."""
    with open(path, "rb") as wheel:
        data = wheel.read()
    if hashlib.sha256(data).hexdigest() not in pin.hashes:
        raise WheelError(f"{os.path.basename(path)} does not match its sha256 in {lock_name}")
    return data


def _destination(name: str, data_prefix: str) -> str | None:
    """Where a member goes, relative to the target (None: left out)."""
    if name.startswith(data_prefix):
        scheme, _, rest = name[len(data_prefix) :].partition("/")
        if scheme not in ("purelib", "platlib") or not rest:
            return None
        name = rest
    if name.lower().endswith(".yml"):
        return None
    return name


def unpack(data: bytes, filename: str, target: str) -> int:
    """Write the wheel's importable files under ``target``; the number of files written."""
    import io

    stem = filename.split("-")
    data_prefix = f"{stem[0]}-{stem[1]}.data/"
    written = 0
    root = os.path.realpath(target)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise WheelError(f"{filename} is not a zip file") from None
    with archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            relative = _destination(member.filename, data_prefix)
            if relative is None:
                continue
            if relative.lower().endswith(COMPILED):
                raise WheelError(f"{filename} holds compiled code ({relative}): not a pure-Python wheel")
            path = os.path.realpath(os.path.join(root, *relative.split("/")))
            if os.path.commonpath([root, path]) != root or member.file_size > MAX_MEMBER:
                raise WheelError(f"{filename} has a member that cannot be installed: {relative[:80]!r}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temporary = f"{path}.{os.getpid()}.tmp"
            with archive.open(member) as source, open(temporary, "wb") as out:
                out.write(source.read(MAX_MEMBER + 1))
            os.replace(temporary, path)  # whole or not at all, also for a process reading the old file
            written += 1
    return written
