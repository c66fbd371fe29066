"""Changes that reach scenes without a scene hook, turned into scene syncs.

A renamed performer, studio, tag or group shows in every scene that has it,
yet Stash fires only the object's own hook. :func:`fan_out` finds those scenes
(Stash's scene filter while the object exists; :mod:`plexsync.state.relations`
once it is gone) and queues each one's sync once.

What fires no hook at all is caught by :func:`reconcile`: Auto Tag and
sceneMerge change scenes through Stash's scene store, which moves their
``updated_at``; performerMerge rewrites the join table and deletes the
merged performers, so it shows only as ids that vanished from Stash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from plexsync.stash.reader import StashReader, stash_time
from plexsync.state import reconcile as reconcile_state
from plexsync.state import relations

Enqueue = Callable[[str], None]


class _Once:
    """Enqueue each scene once per job (the queue coalesces waiting jobs too,
    but not one that is running: this spares it a second sync)."""

    def __init__(self, enqueue: Enqueue) -> None:
        self._enqueue = enqueue
        self.seen: set[str] = set()

    def __call__(self, scene_ids: Iterable[str]) -> None:
        for scene_id in scene_ids:
            if scene_id not in self.seen:
                self.seen.add(scene_id)
                self._enqueue(scene_id)


def fan_out(
    stash: StashReader,
    kind: str,
    change: str,
    object_id: str,
    sources: Iterable[str],
    page_size: int,
    enqueue: Enqueue,
) -> int:
    """Queue the sync of every scene the change reaches; returns how many.

    ``update``: the scenes Stash has with the object. ``destroy``: the scenes
    whose last sync showed it. ``merge``: the destination's scenes in Stash
    plus those whose last sync showed a merged source.
    """
    once = _Once(enqueue)
    if change in ("update", "merge"):
        for page in stash.scene_ids_showing(kind, object_id, page_size):
            once(page)
    gone = [object_id] if change == "destroy" else list(sources)
    if gone:
        once(relations.scenes_using(kind, gone))
        relations.forget_objects(kind, gone)  # each of those scenes is queued; its sync writes its own rows
    return len(once.seen)


@dataclass(frozen=True)
class ReconcileOutcome:
    changed: int  # scenes whose updated_at moved
    orphaned: int  # scenes that showed a performer/studio/tag/group now gone
    watermark: str | None
    first_run: bool = False

    def describe(self) -> str:
        if self.first_run:
            return f"reconcile: first run, changes after {self.watermark} will be caught"
        return (
            f"reconcile: queued {self.changed} scene(s) changed without a hook and {self.orphaned} "
            f"showing something deleted or merged; caught up to {self.watermark}"
        )


def reconcile(stash: StashReader, page_size: int, enqueue: Enqueue) -> ReconcileOutcome:
    """Queue the scenes changed since the last run; the watermark advances only
    once all are queued (a run that fails is redone from the same point).

    The first run only records where the library is: everything older was
    there before PlexSync watched, and "Sync all scenes" is for that. The
    bound ``newest`` is read first and every page stops at it, so a scene
    edited during the run is left for the next one rather than skipped.
    Stash keeps whole seconds, so the window includes the last run's second
    (a scene changed in it after that run passed it is not lost) and skips the
    scenes of that second the last run queued.
    """
    newest = stash.newest_scene_change()
    since, queued_then = reconcile_state.watermark()
    if since is None or not newest:
        at_newest = {s["id"] for page in _at(stash, newest, page_size) for s in page} if newest else set()
        reconcile_state.advance(newest or since or "", at_newest)
        return ReconcileOutcome(0, 0, newest, first_run=since is None)
    once = _Once(enqueue)
    at_newest = queued_then
    if newest != since:
        at_newest = set()
        for page in _changed_between(stash, since, newest, page_size):
            fresh = [s for s in page if not (s["updated_at"] == since and s["id"] in queued_then)]
            once(s["id"] for s in fresh)
            at_newest.update(s["id"] for s in fresh if s["updated_at"] == newest)
    changed = len(once.seen)
    orphaned = _vanished(stash, page_size, once)
    reconcile_state.advance(newest, at_newest)
    return ReconcileOutcome(changed, orphaned, newest)


def _changed_between(stash: StashReader, since: str, newest: str, page_size: int) -> Iterable[list[dict]]:
    """The scenes whose updated_at is from ``since`` to ``newest`` (both Stash's
    text, both included); every scene when ``since`` is empty (an empty library
    at the reconcile's first run: every scene is new)."""
    window = {"updated_at": {"value": since, "value2": newest, "modifier": "BETWEEN"}} if since else {}
    return stash.changed_scenes(window, page_size)


@dataclass(frozen=True)
class CatchUpOutcome:
    queued: int
    since: str | None  # Stash's text of the window's start (None: no scene in Stash)

    def describe(self) -> str:
        if self.since is None:
            return "catch-up: no scene in Stash"
        return f"catch-up: queued {self.queued} scene(s) changed since {self.since}"


def catch_up(stash: StashReader, since: float, page_size: int, enqueue: Enqueue) -> CatchUpOutcome:
    """Queue the scenes Stash changed at or after ``since`` (Unix time): the
    edits whose hooks could not queue them (:mod:`plexsync.worker.writes`).

    The reconcile's window query, over a window of its own: its watermark
    stays where it is (the changes the reconcile is for are caught by its
    next run as before). ``since`` is written as Stash writes times, in the
    zone of its newest change, so that it compares as Stash compares them.
    """
    newest = stash.newest_scene_change()
    if not newest:
        return CatchUpOutcome(0, None)
    start = stash_time(since, like=newest)
    once = _Once(enqueue)
    if start <= newest:
        for page in _changed_between(stash, start, newest, page_size):
            once(s["id"] for s in page)
    return CatchUpOutcome(len(once.seen), start)


def _at(stash: StashReader, moment: str, page_size: int) -> Iterable[list[dict]]:
    """The scenes whose updated_at is ``moment``."""
    return stash.changed_scenes({"updated_at": {"value": moment, "modifier": "EQUALS"}}, page_size)


def _vanished(stash: StashReader, page_size: int, once: _Once) -> int:
    """Queue the scenes whose last sync showed an object Stash no longer has."""
    before = len(once.seen)
    for kind in relations.KINDS:
        known = relations.known_ids(kind)
        if not known:
            continue
        gone = known - stash.object_ids(kind, page_size)
        if gone:
            once(relations.scenes_using(kind, gone))
            relations.forget_objects(kind, gone)  # found once: a scene whose sync fails is not queued every run
    return len(once.seen) - before
