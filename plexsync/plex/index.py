"""Which Plex items hold which files: one index per process, shared by every
worker thread, built and kept current with as few requests as possible.

Plex has no "item by file path" endpoint (../shared/plex-facts.md), so the
index is built from paged section listings (``/library/sections/{id}/all``,
2,000 items a page: 100,000 items in about 50 requests), reading only rating
keys and ``Part.file``/``size``. It covers every movie and show section, or
the sections named in the *Plex sections* setting.

New items are found without rebuilding and without trusting the sections'
``scannedAt``/``updatedAt`` stamps (nobody has verified when a real Plex
moves them): when a file inside a section's folder is missing, the
section's newest items (``sort=addedAt:desc``, one small page) are merged in.
A section is listed again in full only when an item vanished (an edit got
404); when the listing predates a reason to doubt it: a Stash scan reported
a scene's file changed or moved (``Scene.Update.Post`` with null input), or
PlexSync asked Plex to scan the file's folder (Plex may have moved an item
to a new path, which keeps its ``addedAt``); or when a file stays missing for
:data:`RELIST_AFTER` seconds.

Every request happens under the index lock: threads that miss at the same
moment wait for one catch-up instead of each sending their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from plexsync.errors import Misconfigured
from plexsync.matching.matcher import WAITING, FileIndex, SceneMatch, SectionInfo, match_scene
from plexsync.matching.paths import PathMap

#: Plex's listing type numbers for the items that carry files, per section kind.
SECTION_ITEM_TYPES = {"movie": (1,), "show": (4,)}
LISTING_PAGE_SIZE = 2000
RECENT_PAGE_SIZE = 50
#: A section whose newest page is all news has more: read this many pages, then list it whole.
RECENT_MAX_PAGES = 4
#: The same section's newest items are asked for at most this often (seconds).
CATCH_UP_INTERVAL = 1.0
#: A file missing this long (seconds) after a catch-up has its sections listed again.
RELIST_AFTER = 300.0


#: ``query(path, headers)`` -> the parsed XML answer (the writer's plexapi call).
Query = Callable[[str, dict[str, str]], Element]

#: A filter field of a type that is not its section's own names the type (plexapi's
#: ``_validateFilterField`` sends the server's field key: ``type=4&episode.lastViewedAt>>=``
#: on a show section; ../shared/plex-facts.md). Unprefixed, it is the show's field.
FILTER_PREFIX = {4: "episode."}


def filter_field(item_type: int, field: str) -> str:
    """``field`` as a filter on listings of ``item_type`` items (``lastViewedAt`` -> ``episode.lastViewedAt``)."""
    return FILTER_PREFIX.get(item_type, "") + field


@dataclass(frozen=True)
class PlexTarget:
    """One Plex item to write: what the edit endpoint needs to address it."""

    rating_key: int
    section_id: int
    item_type: int


def _window(start: int, size: int) -> dict[str, str]:
    return {"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)}


def _parts(video: Element) -> list[tuple[str, int | None]]:
    files = []
    for part in video.iter("Part"):
        path = part.get("file")
        if path is None:
            continue
        size = part.get("size")
        files.append((path, int(size) if size and size.isdigit() else None))
    return files


class PlexIndex:
    def __init__(self, query: Query, section_names: Sequence[str] = ()) -> None:
        self._query = query
        self._section_names = tuple(section_names)
        self._lock = threading.Lock()
        self._files: FileIndex[PlexTarget] = FileIndex()
        self._sections: list[SectionInfo] | None = None
        self._listed_at: dict[int, float] = {}  # section id -> Unix time its full listing began
        self._caught_up_at: dict[int, float] = {}
        #: Requests this index sent, by kind (for the benchmark and the tests).
        self.requests = {"sections": 0, "listing": 0, "recent": 0}

    # -- lookups ------------------------------------------------------------------
    def match(
        self,
        files: Iterable[dict],
        path_map: PathMap,
        *,
        catch_up: bool = True,
        fresh_since: float | None = None,
    ) -> SceneMatch[PlexTarget]:
        """Match a scene's files; a file inside a section but missing is looked
        for among that section's newest items first (``catch_up``).

        ``fresh_since`` (Unix time): what the index holds for these files may be
        older than that (a Stash scan saw them change or move, or a scan of
        their folder was asked of Plex), so their sections are listed again
        unless they were listed after it. One listing serves every scene that
        asked before it: a scan of thousands of files costs few relistings.
        """
        files = list(files)
        with self._lock:
            self._ensure_built()
            assert self._sections is not None
            found = match_scene(self._files, self._sections, path_map, files)
            if fresh_since is not None:
                covering = {s.id: s for f in found.files for s in f.sections}
                stale = [s for s in covering.values() if self._listed_at.get(s.id, 0.0) < fresh_since]
                for section in stale:
                    self._list_section(section)
                if stale:
                    found = match_scene(self._files, self._sections, path_map, files)
            if not catch_up or found.outcome != WAITING:
                return found
            missing = {s.id: s for f in found.with_outcome(WAITING) for s in f.sections}
            for section in missing.values():
                self._catch_up(section)
            found = match_scene(self._files, self._sections, path_map, files)
            if found.outcome == WAITING:
                now = time.time()
                for section in missing.values():
                    if now - self._listed_at.get(section.id, now) > RELIST_AFTER:
                        self._list_section(section)
                found = match_scene(self._files, self._sections, path_map, files)
            return found

    def sections(self) -> list[SectionInfo]:
        with self._lock:
            self._ensure_built()
            assert self._sections is not None
            return list(self._sections)

    def paths_named(self, plex_path: str) -> list[str]:
        with self._lock:
            self._ensure_built()
            return self._files.paths_named(plex_path)

    def files_of(self, target: PlexTarget) -> tuple[str, ...]:
        """The files the index last saw in the item."""
        with self._lock:
            return self._files.files_of(target) if target in self._files else ()

    def forget(self) -> None:
        """An item vanished: the next lookup lists everything again."""
        with self._lock:
            self._files, self._sections = FileIndex(), None
            self._listed_at.clear()
            self._caught_up_at.clear()

    def __len__(self) -> int:
        return len(self._files)

    # -- building -----------------------------------------------------------------
    def _ensure_built(self) -> None:
        if self._sections is not None:
            return
        sections = self._load_sections()
        self._files = FileIndex()
        for section in sections:
            self._list_section(section)
        self._sections = sections

    def _load_sections(self) -> list[SectionInfo]:
        self.requests["sections"] += 1
        root = self._query("/library/sections", {})
        every = [
            SectionInfo(
                int(d.get("key", "0")),
                d.get("type", ""),
                d.get("title", ""),
                tuple(loc.get("path", "") for loc in d.iter("Location") if loc.get("path")),
            )
            for d in root.iter("Directory")
        ]
        usable = [s for s in every if s.kind in SECTION_ITEM_TYPES]
        if not self._section_names:
            return usable
        chosen = []
        for name in self._section_names:
            section = next((s for s in usable if name.casefold() in (s.title.casefold(), str(s.id))), None)
            if section is None:
                known = ", ".join(repr(s.title) for s in usable) or "none"
                raise Misconfigured(
                    "plex",
                    f"'Plex sections': Plex has no movie or show library named {name!r} "
                    f"(it has {known})",
                )
            if section not in chosen:
                chosen.append(section)
        return chosen

    def _list_section(self, section: SectionInfo) -> None:
        """Every item of the section, a page at a time (replaces what was indexed of it)."""
        started = time.time()  # items Plex changes while the pages are read may be missed
        stale = [t for t in list(self._files_of_section(section.id))]
        seen: set[PlexTarget] = set()
        for item_type in SECTION_ITEM_TYPES[section.kind]:
            start = 0
            while True:
                self.requests["listing"] += 1
                page = self._query(
                    f"/library/sections/{section.id}/all?type={item_type}", _window(start, LISTING_PAGE_SIZE)
                )
                videos = page.findall("Video")
                for video in videos:
                    target = PlexTarget(int(video.get("ratingKey", "0")), section.id, item_type)
                    self._files.add(target, _parts(video))
                    seen.add(target)
                start += len(videos)
                total = int(page.get("totalSize", start))
                if not videos or start >= total:
                    break
        for target in stale:
            if target not in seen:
                self._files.remove(target)
        self._listed_at[section.id] = started

    def _files_of_section(self, section_id: int) -> Iterable[PlexTarget]:
        return [t for t in self._files._files_of if t.section_id == section_id]

    def _catch_up(self, section: SectionInfo) -> None:
        """Merge the section's newest items; at most once a second per section."""
        now = time.monotonic()
        if now - self._caught_up_at.get(section.id, 0.0) < CATCH_UP_INTERVAL:
            return
        self._caught_up_at[section.id] = now
        for item_type in SECTION_ITEM_TYPES[section.kind]:
            for number in range(RECENT_MAX_PAGES):
                self.requests["recent"] += 1
                page = self._query(
                    f"/library/sections/{section.id}/all?type={item_type}&sort=addedAt:desc",
                    _window(number * RECENT_PAGE_SIZE, RECENT_PAGE_SIZE),
                )
                videos = page.findall("Video")
                news = 0
                for video in videos:
                    target = PlexTarget(int(video.get("ratingKey", "0")), section.id, item_type)
                    files = _parts(video)
                    if target not in self._files or self._files.files_of(target) != tuple(p for p, _ in files):
                        news += 1
                        self._files.add(target, files)
                if news < len(videos) or len(videos) < RECENT_PAGE_SIZE:
                    break
            else:
                self._list_section(section)  # more new items than a few pages hold
                return
