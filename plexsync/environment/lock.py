"""The lock files: pip's requirements format, one pinned release per entry with its sha256 hashes.

``name==version \\`` then ``--hash=sha256:<hex>`` lines (what ``pip download
--require-hashes`` reads, so ``run.py package`` hands the same file to pip).
Only that form is accepted: a lock is written by the maintainers, and
anything else in it is a mistake to refuse, not to guess at.
"""

from __future__ import annotations

import os
import re

from plexsync.environment import layout

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_HASH = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")


class LockError(ValueError):
    """A lock file that is not pins with hashes."""


class Pin:
    __slots__ = ("hashes", "name", "version")

    def __init__(self, name: str, version: str, hashes: tuple[str, ...]) -> None:
        self.name = name
        self.version = version
        self.hashes = hashes

    @property
    def key(self) -> str:
        """The name as wheel files spell it (PEP 427/503: lower case, runs of ``-_.`` as ``_``)."""
        return normalise(self.name)

    def requirement(self) -> str:
        """This pin as a requirements line pip reads in hash-checking mode."""
        return " ".join([f"{self.name}=={self.version}", *(f"--hash=sha256:{h}" for h in self.hashes)])

    def __repr__(self) -> str:
        return f"Pin({self.name}=={self.version}, {len(self.hashes)} hash(es))"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def parse(text: str, source: str = "lock") -> list[Pin]:
    pins: list[Pin] = []
    logical = re.sub(r"\\\r?\n", " ", text)
    for number, line in enumerate(logical.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        match = _PIN.match(words[0])
        if not match:
            raise LockError(f"{source}: entry {number} is not name==version: {words[0][:60]!r}")
        hashes = []
        for word in words[1:]:
            found = _HASH.match(word)
            if not found:
                raise LockError(f"{source}: {words[0]}: {word[:60]!r} is not --hash=sha256:<64 hex digits>")
            hashes.append(found.group(1))
        if not hashes:
            raise LockError(f"{source}: {words[0]} has no --hash")
        pins.append(Pin(match.group(1), match.group(2), tuple(hashes)))
    return pins


def read(plugin_dir: str, name: str = layout.LOCK_FILES[0]) -> list[Pin]:
    with open(os.path.join(plugin_dir, name), encoding="utf-8") as lock:
        return parse(lock.read(), name)
