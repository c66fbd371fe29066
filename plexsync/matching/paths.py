"""Translating a file path as Stash sees it into the path Plex sees, and the
keys under which two spellings of one path compare equal.

Stash and Plex often run on different machines or in different containers and
mount the same files under different prefixes, sometimes with different
operating systems on either side (Stash on Windows, Plex on a NAS). A rule is
``stash_prefix=plex_prefix``; several are separated by ``;`` and the longest
matching prefix wins. A prefix matches at a folder boundary only, whatever
trailing separators it was typed with.

* Each side's style is read from the prefix itself: a drive letter
  (``D:\\``), a UNC share (``\\\\NAS\\share``) or a ``\\\\?\\`` long-path prefix
  means Windows, anything else POSIX. The rest of the path is rewritten with
  the separator of the Plex side.
* Windows prefixes match case-insensitively (``d:\\videos`` matches
  ``D:\\Videos``), as Windows file systems do; POSIX ones exactly.
* Prefixes are compared in Unicode NFC on both sides (macOS and SMB shares
  report decomposed names). The part of the path after the prefix keeps the
  exact characters Stash reported: a folder may hold an NFC and an NFD name
  side by side, and they are two files.

Everything here is pure string work, so it is unit-tested without servers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_DRIVE = re.compile(r"^[A-Za-z]:(?:[\\/]|$)")
_SEPARATORS = re.compile(r"[\\/]+")
_LONG_PREFIXES = ("\\\\?\\", "//?/", "\\\\.\\", "//./")


class PathMapError(ValueError):
    pass


def strip_long_prefix(path: str) -> str:
    """``\\\\?\\D:\\x`` -> ``D:\\x``; ``\\\\?\\UNC\\NAS\\s\\x`` -> ``\\\\NAS\\s\\x``."""
    for prefix in _LONG_PREFIXES:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if rest[:4].upper() in ("UNC\\", "UNC/"):
                return "\\\\" + rest[4:]
            return rest
    return path


def is_windows(path: str) -> bool:
    """A drive letter, a UNC share or a long-path prefix: a Windows path."""
    path = strip_long_prefix(path)
    return bool(_DRIVE.match(path)) or path.startswith("\\\\")


@dataclass(frozen=True)
class SplitPath:
    """A path as (root, folder and file names), in its own style."""

    windows: bool
    root: str  # "D:", "\\\\NAS\\share", "/" or "" (relative)
    parts: tuple[str, ...]

    @property
    def separator(self) -> str:
        return "\\" if self.windows else "/"

    def join(self, parts: tuple[str, ...] | None = None) -> str:
        parts = self.parts if parts is None else parts
        if self.windows:
            return self.root + "\\" + "\\".join(parts) if parts or self.root.endswith(":") else self.root
        body = "/".join(parts)
        return "/" + body if self.root == "/" else body

    def folded(self) -> tuple[str, ...]:
        """Root and parts as they compare: NFC, and case-folded on Windows."""
        items = (self.root, *self.parts)
        if self.windows:
            return tuple(unicodedata.normalize("NFC", item.casefold()) for item in items)
        return tuple(unicodedata.normalize("NFC", item) for item in items)


def split(path: str) -> SplitPath:
    path = strip_long_prefix(path.strip())
    if is_windows(path):
        if path.startswith("\\\\"):
            pieces = [p for p in _SEPARATORS.split(path[2:]) if p]
            root = "\\\\" + "\\".join(pieces[:2])
            return SplitPath(True, root, tuple(pieces[2:]))
        pieces = [p for p in _SEPARATORS.split(path[2:]) if p]
        return SplitPath(True, path[:2], tuple(pieces))
    parts = tuple(p for p in path.split("/") if p)
    return SplitPath(False, "/" if path.startswith("/") else "", parts)


def path_key(path: str) -> str:
    """The key under which spellings of one file compare equal: NFC, one
    separator, and case-folded when the path is a Windows path."""
    return "/".join(split(path).folded())


def name_key(path: str) -> str:
    """The file name alone, compared the same way (for the name + size fallback)."""
    parts = split(path).parts
    name = parts[-1] if parts else path
    return unicodedata.normalize("NFC", name.casefold())


def is_under(path: str, folder: str) -> bool:
    """Whether ``path`` lies inside ``folder`` (or is it), comparing as :func:`path_key`."""
    inner, outer = split(path), split(folder)
    if inner.windows != outer.windows:
        return False
    inner_key, outer_key = inner.folded(), outer.folded()
    return inner_key[: len(outer_key)] == outer_key


@dataclass(frozen=True)
class Rule:
    stash_prefix: str
    plex_prefix: str

    def __str__(self) -> str:
        return f"{self.stash_prefix}={self.plex_prefix}"

    def apply(self, stash_path: str) -> str | None:
        """The Plex path, or None when the path is not under this rule's prefix."""
        prefix, path = split(self.stash_prefix), split(stash_path)
        if prefix.windows != path.windows:
            return None
        if path.folded()[: len(prefix.parts) + 1] != prefix.folded():
            return None
        plex = split(self.plex_prefix)
        return plex.join(plex.parts + path.parts[len(prefix.parts) :])

    @property
    def depth(self) -> int:
        return len(split(self.stash_prefix).parts)


@dataclass(frozen=True)
class PathMap:
    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, text: str) -> PathMap:
        """Read ``stash_prefix=plex_prefix`` rules separated by ``;``."""
        rules = []
        for chunk in text.split(";"):
            chunk = chunk.strip()
            if not chunk:
                continue
            stash_prefix, sep, plex_prefix = chunk.partition("=")
            stash_prefix, plex_prefix = stash_prefix.strip(), plex_prefix.strip()
            if not sep or not stash_prefix or not plex_prefix:
                raise PathMapError(f"rule {chunk!r} is not of the form stash_prefix=plex_prefix")
            rules.append(Rule(stash_prefix, plex_prefix))
        # Longest first, counted in folders: "D:\Videos\TV" before "D:\Videos".
        rules.sort(key=lambda rule: (rule.depth, len(rule.stash_prefix)), reverse=True)
        return cls(tuple(rules))

    def rule_for(self, stash_path: str) -> Rule | None:
        for rule in self.rules:
            if rule.apply(stash_path) is not None:
                return rule
        return None

    def to_plex(self, stash_path: str) -> str:
        """The Plex path of a Stash file; unchanged when no rule applies."""
        for rule in self.rules:
            mapped = rule.apply(stash_path)
            if mapped is not None:
                return mapped
        return stash_path

    def reaches(self, plex_path: str, stash_path: str) -> bool:
        """Whether these rules could have produced ``plex_path`` from some Stash
        path like ``stash_path``: it lies under a rule's Plex prefix or, with no
        rules at all, it has the Stash path's style (paths are used as they are)."""
        if not self.rules:
            return is_windows(plex_path) == is_windows(stash_path)
        return any(is_under(plex_path, rule.plex_prefix) for rule in self.rules)

    def __str__(self) -> str:
        return ";".join(str(rule) for rule in self.rules)


def suggest_rule(stash_path: str, plex_path: str) -> Rule | None:
    """The rule that maps ``stash_path`` to ``plex_path``: both minus the
    longest run of trailing names they share (compared in NFC).

    None when they share not even the file name, or nothing but it is left
    on one side (no prefix to replace).
    """
    stash, plex = split(stash_path), split(plex_path)
    stash_names = [_nfc(name) for name in stash.parts]
    plex_names = [_nfc(name) for name in plex.parts]
    shared = 0
    while shared < min(len(stash_names), len(plex_names)) and stash_names[-1 - shared] == plex_names[-1 - shared]:
        shared += 1
    if shared == 0:
        return None
    stash_prefix = stash.join(stash.parts[: len(stash.parts) - shared])
    plex_prefix = plex.join(plex.parts[: len(plex.parts) - shared])
    if not stash_prefix or not plex_prefix:
        return None
    return Rule(stash_prefix, plex_prefix)


def nearest_by_folders(stash_path: str, candidates: Iterable[str]) -> str | None:
    """The candidate (a Plex file of the same name) sharing the most trailing
    names with ``stash_path``: the one a path rule most likely should lead to."""
    names = split(stash_path).parts

    def shared(candidate: str) -> int:
        other = split(candidate).parts
        count = 0
        while count < min(len(names), len(other)) and names[-1 - count] == other[-1 - count]:
            count += 1
        return count

    ranked = sorted(candidates, key=lambda c: (-shared(c), c))
    return ranked[0] if ranked else None


def _nfc(name: str) -> str:
    """Names keep their case on every file system; only the normal form differs."""
    return unicodedata.normalize("NFC", name)
