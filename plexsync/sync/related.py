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

from plexsync.stash import times
from plexsync.stash.reader import StashReader
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
    bound ``newest`` is found first (:func:`_newest`) and the window stops at it,
    so a scene edited during the run is left for the next one rather than skipped.
    Stash keeps whole seconds, so the window includes the last run's second
    (a scene changed in it after that run passed it is not lost) and skips the
    scenes of that second the last run queued.

    Times are compared as instants (:mod:`plexsync.stash.times`): Stash writes them
    with its local offset and compares them as text, so the text window asked of
    Stash is widened by the offsets' slack and the instants decide.
    """
    newest = _newest(stash, page_size)
    since, queued_then = reconcile_state.watermark()
    if since is None or newest is None:
        text, at_newest = (newest.text, newest.scene_ids) if newest else (since or "", set())
        reconcile_state.advance(text, at_newest)
        return ReconcileOutcome(0, 0, newest.text if newest else None, first_run=since is None)
    once = _Once(enqueue)
    at_newest = queued_then
    start = times.instant(since) if since else None
    if start != newest.instant:
        at_newest = set()
        for scene, moment in _scenes_between(stash, since, newest, page_size):
            if moment == start and scene["id"] in queued_then:
                continue
            once([scene["id"]])
            if moment == newest.instant:
                at_newest.add(scene["id"])
    changed = len(once.seen)
    orphaned = _vanished(stash, page_size, once)
    reconcile_state.advance(newest.text, at_newest)
    return ReconcileOutcome(changed, orphaned, newest.text)


@dataclass(frozen=True)
class _Newest:
    text: str  # as Stash wrote it
    instant: float
    scene_ids: set[str]  # the scenes changed at that instant


def _newest(stash: StashReader, page_size: int) -> _Newest | None:
    """The latest change in Stash, as an instant (None: no scenes).

    Stash sorts ``updated_at`` as text, so its newest by text is not always the
    latest (after a daylight-saving fall-back it is up to an hour behind). Every
    change at or after that one has a text no more than the offsets' slack before it,
    so the scenes of that band, read next, hold the latest change.
    """
    text = stash.newest_scene_change()
    if not text:
        return None
    band = {"updated_at": {"value": times.wall_bound(text, -times.OFFSET_SLACK), "modifier": "GREATER_THAN"}}
    found: dict[float, tuple[str, set[str]]] = {times.instant(text): (text, set())}
    for page in stash.changed_scenes(band, page_size):
        for scene in page:
            moment = times.instant(scene["updated_at"])
            found.setdefault(moment, (scene["updated_at"], set()))[1].add(scene["id"])
    latest = max(found)
    return _Newest(found[latest][0], latest, found[latest][1])


def _scenes_between(stash: StashReader, since: str, newest: _Newest, page_size: int) -> Iterable[tuple[dict, float]]:
    """The scenes changed from the instant of ``since`` (Stash's text) to ``newest``,
    both included, each with its instant; every scene when ``since`` is empty (an
    empty library at the reconcile's first run: every scene is new). The text window
    asked of Stash is wider than the instants wanted (:mod:`plexsync.stash.times`)."""
    start = times.instant(since) if since else None
    window = {}
    if since:
        slack = times.slack(since, newest.text)
        bounds = {"value": times.wall_bound(since, -slack), "value2": times.wall_bound(newest.text, slack)}
        window = {"updated_at": {**bounds, "modifier": "BETWEEN"}}
    for page in stash.changed_scenes(window, page_size):
        for scene in page:
            moment = times.instant(scene["updated_at"])
            if moment <= newest.instant and (start is None or moment >= start):
                yield scene, moment


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
    zone of its newest change, and compared as an instant.
    """
    newest = _newest(stash, page_size)
    if newest is None:
        return CatchUpOutcome(0, None)
    start = times.text(since, like=newest.text)
    once = _Once(enqueue)
    for scene, _ in _scenes_between(stash, start, newest, page_size):
        once([scene["id"]])
    return CatchUpOutcome(len(once.seen), start)


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
