"""Bulk sync by pages: many scenes per Stash read, no queue job per scene.

"Sync all" lists every scene id once (ids only, a few requests) and cuts the
ids into ranges of :data:`PAGE_SIZE`; each range is one page job. A page job
reads its scenes in one request (``after < id <= upto``: keyset paging, so a
scene added or deleted meanwhile shifts no other page; the last range is
open at the top and catches scenes added after the listing) and syncs each
through :func:`plexsync.sync.scene.apply_scene`, the same code as a hook's
job, from the data it read. The per-scene costs of a job (the queue's
claim, attempt counts, outage checks, dead-letter lookups) are paid once a
page instead of once a scene.

What a page must never do:

* **lose a scene.** One that fails inside the page (any error but a server
  being unavailable) is handed to a ``sync_scene`` job of its own, which has
  the retries and the dead letter; a server that is unavailable fails the
  whole page, which waits for it like every other job and then runs again;
* **overwrite a user's edit** with its older copy (:mod:`plexsync.state.freshness`);
* **hold up a user's edit**: between chunks of :data:`CHUNK` scenes a page
  that sees a more urgent job waiting queues the rest of its range as a new
  job and ends, so its worker takes the edit next.

Pure orchestration: every I/O goes through the reader, the writer, the state
modules and the callbacks of :class:`PageHooks`, so the CLI runs the same
pages in its own process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from plexsync import dlq
from plexsync.errors import OutsidePlex, SyncError, Unavailable
from plexsync.matching.paths import PathMap
from plexsync.plex.writer import PlexTarget, PlexWriter
from plexsync.stash.reader import StashReader
from plexsync.state import bulkrun, freshness, placement
from plexsync.sync.mapping import FieldPolicy
from plexsync.sync.scene import apply_scene, scene_files

log = logging.getLogger("plexsync.sync.bulk")

#: Scenes per page job at most: one Stash request each (1,000 scenes are 10 pages).
PAGE_SIZE = 100
#: A small library is still cut into this many pages (of at least
#: :data:`MIN_PAGE_SIZE` scenes), so that every worker has some.
SPREAD_PAGES = 8
MIN_PAGE_SIZE = 10
#: Scenes between two looks at the queue, the freshness stamps and the progress.
CHUNK = 10
#: Ids per request when a run is planned.
ID_PAGE_SIZE = 5000


@dataclass(frozen=True)
class Page:
    after: int  # exclusive
    upto: int | None  # inclusive; None: no upper end
    planned: int


def plan(stash: StashReader) -> list[Page]:
    """The pages of a run: ranges of up to :data:`PAGE_SIZE` ids, the last one open."""
    ids = sorted(int(scene_id) for batch in stash.scene_ids(ID_PAGE_SIZE) for scene_id in batch)
    page_size = min(PAGE_SIZE, max(MIN_PAGE_SIZE, -(-len(ids) // SPREAD_PAGES)))
    pages, after = [], 0
    for start in range(0, len(ids), page_size):
        chunk = ids[start : start + page_size]
        last = start + page_size >= len(ids)
        pages.append(Page(after, None if last else chunk[-1], len(chunk)))
        after = chunk[-1]
    return pages or [Page(0, None, 0)]


@dataclass
class PageHooks:
    """What a page does beyond syncing, supplied by its runner (worker or CLI)."""

    #: A scene failed inside the page: give it a job of its own (or report it).
    hand_off: Callable[[str, BaseException], None]
    #: A scene's own sync may have been overwritten by the page: sync it again.
    again: Callable[[str], None]
    #: True when the page should make way (a more urgent job waits).
    should_yield: Callable[[], bool] = lambda: False
    #: Queue the rest of the range, ``(after, upto, done so far, handed off so far)``.
    continue_from: Callable[[int, int | None, int, int], None] | None = None
    #: One scene dealt with: its id, outcome ("synced", "outside", "newer",
    #: "handed off") and, unless synced, why.
    on_scene: Callable[[str, str, str | None], None] = lambda scene_id, outcome, reason: None


@dataclass
class PageOutcome:
    synced: int = 0
    outside: int = 0
    newer: int = 0  # left to a newer sync of their own
    handed_off: int = 0
    again: int = 0
    yielded_after: int | None = None  # the last id done, when the rest went to a new job
    written: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.synced + self.outside + self.newer + self.handed_off

    def describe(self) -> str:
        parts = [f"{self.synced} synced"]
        for count, what in (
            (self.outside, "outside Plex"),
            (self.newer, "left to their own newer sync"),
            (self.handed_off, "handed to a job of their own"),
            (self.again, "queued again after an edit"),
        ):
            if count:
                parts.append(f"{count} {what}")
        return ", ".join(parts)


def _chunks(scenes: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(scenes), size):
        yield scenes[start : start + size]


def sync_page(
    stash: StashReader,
    plex: PlexWriter,
    path_map: PathMap,
    after: int,
    upto: int | None,
    hooks: PageHooks,
    *,
    policy: FieldPolicy,
    force: bool = False,
    done_before: int = 0,
    handed_off_before: int = 0,
    report: bool = True,
) -> PageOutcome:
    """Sync the scenes with ``after < id <= upto``; raises :class:`Unavailable`
    (and only that) when a server is, having synced what it could.

    ``policy``, ``force``: as for :func:`~plexsync.sync.scene.apply_scene`.
    ``done_before``, ``handed_off_before``: what a previous job did of this
    range before it made way (for the progress). ``report``: write the progress (a run's page).
    """
    read_at = time.time()  # before the read: a sync that starts later read newer data
    scenes = [scene for batch in stash.scenes_between(after, upto, PAGE_SIZE) for scene in batch]
    outcome = PageOutcome()
    for position, chunk in enumerate(_chunks(scenes, CHUNK)):
        if position and hooks.continue_from is not None and hooks.should_yield():
            last = int(scenes[position * CHUNK - 1]["id"])
            hooks.continue_from(last, upto, done_before + outcome.done, handed_off_before + outcome.handed_off)
            outcome.yielded_after = last
            return outcome
        _sync_chunk(stash, plex, path_map, chunk, read_at, hooks, outcome, policy, force)
        if report:
            bulkrun.report(upto, done_before + outcome.done, handed_off_before + outcome.handed_off)
    if report:
        bulkrun.report(upto, done_before + outcome.done, handed_off_before + outcome.handed_off, finished=True)
    return outcome


def _sync_chunk(
    stash: StashReader,
    plex: PlexWriter,
    path_map: PathMap,
    chunk: list[dict],
    read_at: float,
    hooks: PageHooks,
    outcome: PageOutcome,
    policy: FieldPolicy,
    force: bool,
) -> None:
    ids = [str(scene["id"]) for scene in chunk]
    newer = freshness.started_since(ids, read_at)
    written: list[str] = []
    ahead = _targets(plex, path_map, [scene for scene in chunk if str(scene["id"]) not in newer])
    try:
        with plex.reading_ahead(ahead):
            for scene in chunk:
                scene_id = str(scene["id"])
                if scene_id in newer:
                    outcome.newer += 1
                    hooks.on_scene(scene_id, "newer", "a newer sync of its own started")
                    continue
                kind, reason = _sync_one(stash, plex, path_map, scene, hooks, policy, force)
                if kind == "synced":
                    written.append(scene_id)
                    outcome.synced += 1
                elif kind == "outside":
                    outcome.outside += 1
                else:
                    outcome.handed_off += 1
                hooks.on_scene(scene_id, kind, reason)
    finally:  # also when a server went away midway: what was written is checked
        if written:
            outcome.written.extend(written)
            for scene_id in sorted(freshness.finished_since(written, read_at)):
                hooks.again(scene_id)
                outcome.again += 1
            _resolve_dead_letters(written)


def _targets(plex: PlexWriter, path_map: PathMap, scenes: list[dict]) -> list[PlexTarget]:
    """The items the chunk's scenes match now (from the index in memory), to be read ahead together."""
    targets: list[PlexTarget] = []
    for scene in scenes:
        files = scene_files(scene)
        try:
            targets += plex.match(files, path_map).targets if files else []
        except SyncError:  # the scene's own sync meets it again and says so
            continue
    return targets


def _sync_one(
    stash: StashReader,
    plex: PlexWriter,
    path_map: PathMap,
    scene: dict,
    hooks: PageHooks,
    policy: FieldPolicy,
    force: bool,
) -> tuple[str, str | None]:
    scene_id = str(scene["id"])
    try:
        apply_scene(stash, plex, path_map, scene, force=force, policy=policy)
    except Unavailable:
        raise
    except OutsidePlex as exc:
        if placement.record_outside(scene_id, exc.plex_path):
            log.info("scene %s not synced: %s", scene_id, exc.reason)
        return "outside", exc.reason
    except SyncError as exc:  # waiting for a scan, gone from Plex, refused...: its own job retries it
        hooks.hand_off(scene_id, exc)
        return "handed off", f"{type(exc).__name__}: {exc.reason}"
    except Exception as exc:  # a bug or a library surprise: the scene's own job keeps the traceback
        hooks.hand_off(scene_id, exc)
        return "handed off", f"unexpected {type(exc).__name__}: {exc}"
    return "synced", None


def _resolve_dead_letters(scene_ids: Iterable[str]) -> None:
    """Synced scenes lose their dead letters, as after their own job: one read for the chunk."""
    keys = [dlq.job_key("sync_scene", [scene_id]) for scene_id in scene_ids]
    letters = dlq.DeadLetter.select(dlq.DeadLetter.job_key).where(dlq.DeadLetter.job_key.in_(keys))
    found = [row.job_key for row in letters]
    if found:
        dlq.DeadLetter.delete().where(dlq.DeadLetter.job_key.in_(found)).execute()
