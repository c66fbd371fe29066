"""Which Plex items hold a scene's files: the decision, without any I/O.

A Stash file's Plex path (from the path rules) is looked up, in this order:

1. exactly as Plex spells it in ``Part.file``;
2. under its normalised key (NFC, one separator, case-folded for Windows
   paths), but only when exactly one Plex file has that key: two files whose
   names differ only in normal form are two files, never merged;
3. by file name plus size across all sections, again only when exactly one
   Plex file fits, and only when either the Plex path lies outside every
   library's folders (a path rule is wrong or missing) or that one Plex file
   lies where no path rule leads (a folder the rules do not know). When the
   rules lead into a library folder *and* could have led to the candidate,
   the candidate is some other Stash file's (a copy with the same name and
   size in another folder) and is never taken: the file matches its own path
   or nothing. Without a unique name-and-size match there is no guess.

A file found by none of these lies either inside a folder of a Plex library
(Plex has not scanned it yet: "waiting") or outside all of them ("outside":
nothing to retry). Every item that holds a matched file is a target: a
multi-part item, a file in two sections.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from plexsync.matching.paths import PathMap, is_under, name_key, path_key, split

T = TypeVar("T", bound=Hashable)

PATH, FALLBACK, WAITING, OUTSIDE = "path", "fallback", "waiting", "outside"
#: A scene's outcome is its best file's, in this order.
OUTCOME_ORDER = (PATH, FALLBACK, WAITING, OUTSIDE)


@dataclass(frozen=True)
class SectionInfo:
    """A Plex library section: what to list, and which folders it covers."""

    id: int
    kind: str  # movie | show
    title: str
    locations: tuple[str, ...]

    def covers(self, plex_path: str) -> bool:
        return any(is_under(plex_path, location) for location in self.locations)


class FileIndex(Generic[T]):
    """Plex files -> the items holding them, under the three lookups above."""

    def __init__(self) -> None:
        self._exact: dict[str, list[T]] = {}
        self._by_key: dict[str, set[str]] = {}
        self._by_name: dict[str, set[str]] = {}
        self._size: dict[str, int | None] = {}
        self._files_of: dict[T, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._files_of)

    def __contains__(self, target: object) -> bool:
        return target in self._files_of

    def files_of(self, target: T) -> tuple[str, ...]:
        return self._files_of.get(target, ())

    def add(self, target: T, files: Iterable[tuple[str, int | None]]) -> None:
        """Index ``target``'s files, replacing what was indexed for it before."""
        if target in self._files_of:
            self.remove(target)
        paths = []
        for path, size in files:
            paths.append(path)
            holders = self._exact.setdefault(path, [])
            if target not in holders:
                holders.append(target)
            if len(holders) == 1:
                self._by_key.setdefault(path_key(path), set()).add(path)
                self._by_name.setdefault(name_key(path), set()).add(path)
            if size is not None:
                self._size[path] = size
        self._files_of[target] = tuple(paths)

    def remove(self, target: T) -> None:
        for path in self._files_of.pop(target, ()):
            holders = self._exact.get(path, [])
            if target in holders:
                holders.remove(target)
            if holders:
                continue
            self._exact.pop(path, None)
            self._size.pop(path, None)
            for table, key in ((self._by_key, path_key(path)), (self._by_name, name_key(path))):
                paths = table.get(key)
                if paths is not None:
                    paths.discard(path)
                    if not paths:
                        del table[key]

    def by_path(self, plex_path: str) -> list[T]:
        found = self._exact.get(plex_path)
        if found:
            return list(found)
        same_key = self._by_key.get(path_key(plex_path), ())
        if len(same_key) == 1:
            return list(self._exact[next(iter(same_key))])
        return []

    def by_name_and_size(self, plex_path: str, size: int | None) -> str | None:
        """The one Plex file with this name and size, or None (none, or several)."""
        if size is None:
            return None
        fits = [p for p in self._by_name.get(name_key(plex_path), ()) if self._size.get(p) == size]
        return fits[0] if len(fits) == 1 else None

    def paths_named(self, plex_path: str) -> list[str]:
        """Every Plex file with this file name (for suggesting a path rule)."""
        return sorted(self._by_name.get(name_key(plex_path), ()))


@dataclass
class FileMatch(Generic[T]):
    stash_path: str
    plex_path: str
    size: int | None
    outcome: str
    targets: list[T] = field(default_factory=list)
    sections: tuple[SectionInfo, ...] = ()  # the sections whose folders hold plex_path

    @property
    def folder(self) -> str:
        """The folder Plex would scan to find this file."""
        parsed = split(self.plex_path)
        return parsed.join(parsed.parts[:-1])


@dataclass
class SceneMatch(Generic[T]):
    files: list[FileMatch[T]]

    @property
    def outcome(self) -> str:
        outcomes = {f.outcome for f in self.files}
        return next((o for o in OUTCOME_ORDER if o in outcomes), OUTSIDE)

    @property
    def targets(self) -> list[T]:
        return list(dict.fromkeys(t for f in self.files for t in f.targets))

    def with_outcome(self, outcome: str) -> list[FileMatch[T]]:
        return [f for f in self.files if f.outcome == outcome]


def match_file(
    index: FileIndex[T], sections: Sequence[SectionInfo], path_map: PathMap, stash_path: str, size: int | None
) -> FileMatch[T]:
    plex_path = path_map.to_plex(stash_path)
    covering = tuple(s for s in sections if s.covers(plex_path))
    found = index.by_path(plex_path)
    if found:
        return FileMatch(stash_path, plex_path, size, PATH, found, covering)
    candidate = index.by_name_and_size(plex_path, size)
    if candidate is not None and not (covering and path_map.reaches(candidate, stash_path)):
        return FileMatch(stash_path, plex_path, size, FALLBACK, index.by_path(candidate), covering)
    return FileMatch(stash_path, plex_path, size, WAITING if covering else OUTSIDE, [], covering)


def match_scene(
    index: FileIndex[T], sections: Sequence[SectionInfo], path_map: PathMap, files: Iterable[dict]
) -> SceneMatch[T]:
    """``files`` as Stash reports them: dicts with ``path`` and ``size``."""
    return SceneMatch(
        [match_file(index, sections, path_map, f["path"], _size(f.get("size"))) for f in files if f.get("path")]
    )


def _size(raw: object) -> int | None:
    try:
        return int(raw) if raw is not None else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
