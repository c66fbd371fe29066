"""One copy from Plex into Stash: new views become plays, moved resume points
and new ratings are written, each exactly once.

Exactly once, for plays (which Stash adds up, so a repeat is a wrong count):
each history entry is claimed in the shared state before its play is written
and marked done after. A consumer that dies between the two leaves a claim
whose owner is gone; whoever claims it next first counts the plays at that
second in the scene's ``play_history`` against the ones recorded as done
there, and writes only when the play is missing. Resume writes carry an
added play duration (also added up by Stash), so they are recorded with the
scene's duration before the write and checked the same way. Ratings are set,
not added: a repeat writes the same value.

The history watermark moves only when a run went through, to the newest entry
read, so an outage or a crash resumes where the last good run stopped; items
read again at the watermark's second are recognised by their claims and
applied state.

No loops: a rating written into Stash fires ``Scene.Update.Post``, whose sync
into Plex must not write that rating back; :func:`_note_plex_rating` tells the
metadata sync that Plex already holds it before Stash is written.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from plexsync.matching.paths import PathMap
from plexsync.playback import mapping
from plexsync.playback.plex_state import ItemState, PlexState, View
from plexsync.redact import redact
from plexsync.stash.writer import StashWriter, stash_time, unix_time
from plexsync.state import playback as state
from plexsync.state import written

log = logging.getLogger("plexsync.playback")

#: Runs of one process never overlap (a periodic and a manual copy): a claim of
#: this process that is not in flight is then known to be left over.
_RUN_LOCK = threading.Lock()
#: History is read from this long before the watermark: a player that was offline
#: reports its views later, with the time they happened (claims drop the repeats).
HISTORY_OVERLAP = 86400


@dataclass(frozen=True)
class Kinds:
    plays: bool = True
    resume: bool = True
    ratings: bool = True


@dataclass
class Outcome:
    plays: int = 0
    resumes: int = 0
    ratings: int = 0
    unmapped: set[int] = field(default_factory=set)  # ratingKeys mapping to no scene
    skipped: bool = False  # another copy was running in this process

    def describe(self) -> str:
        text = f"{self.plays} play(s), {self.resumes} resume point(s), {self.ratings} rating(s) copied"
        if self.unmapped:
            text += f"; {len(self.unmapped)} Plex item(s) map to no Stash scene"
        return text


def _note_plex_rating(rating_key: int, rating: float | None) -> None:
    """Tell the Stash -> Plex sync that Plex's rating of the item already is ``rating``,
    so the hook our Stash write fires sends nothing back (noted before the Stash
    write: the hook can run before this call would return)."""
    written.note_rating(rating_key, rating)


class SceneFinder:
    """Plex item -> Stash scene, through the path rules reversed and checked forwards."""

    def __init__(self, stash: StashWriter, path_map: PathMap) -> None:
        self._stash = stash
        self._path_map = path_map
        self._found: dict[int, str | None] = {}

    def scene_of(self, item: ItemState) -> str | None:
        if item.rating_key not in self._found:
            self._found[item.rating_key] = self._look_up(item.files)
        return self._found[item.rating_key]

    def _look_up(self, plex_files: Iterable[str]) -> str | None:
        for plex_path in plex_files:
            for stash_path in mapping.stash_paths(plex_path, self._path_map):
                for scene in self._stash.scenes_with_path(stash_path):
                    files = [f["path"] for f in scene.get("files") or ()]
                    if any(mapping.same_file(path, plex_path, self._path_map) for path in files):
                        return str(scene["id"])
        return None


def run(stash: StashWriter, plex: PlexState, path_map: PathMap, kinds: Kinds) -> Outcome:
    if not _RUN_LOCK.acquire(blocking=False):
        return Outcome(skipped=True)
    try:
        return _run(stash, plex, path_map, kinds)
    finally:
        _RUN_LOCK.release()


def _run(stash: StashWriter, plex: PlexState, path_map: PathMap, kinds: Kinds) -> Outcome:
    server = plex.server
    row = state.started(server)
    sections = plex.sections()
    outcome = Outcome()
    finder = SceneFinder(stash, path_map)
    copy = _Copy(server, stash, finder, outcome)
    history_since = viewed_since = rated_since = None
    try:
        if kinds.plays:
            history_since = copy.plays(plex, row.history_since, [s.id for s in sections])
        if kinds.resume:
            items = [item for s in sections for item in plex.changed_items(s, "lastViewedAt", row.viewed_since)]
            viewed_since = copy.resumes(items)
        if kinds.ratings:
            items = [item for s in sections for item in plex.changed_items(s, "lastRatedAt", row.rated_since)]
            rated_since = copy.ratings(items)
    except Exception as exc:
        state.failed(server, " ".join(redact(f"{type(exc).__name__}: {exc}").split()))
        raise
    marks = state.Watermarks(history_since, viewed_since, rated_since)
    state.finished(server, marks, outcome.plays, outcome.resumes, outcome.ratings, len(outcome.unmapped))
    return outcome


class _Copy:
    def __init__(self, server: str, stash: StashWriter, finder: SceneFinder, outcome: Outcome) -> None:
        self.server, self.stash, self.finder, self.outcome = server, stash, finder, outcome

    def _scene(self, item: ItemState) -> str | None:
        scene_id = self.finder.scene_of(item)
        known = state.item(self.server, item.rating_key)
        path = item.files[0] if item.files else None
        state.remember_item(self.server, item.rating_key, scene_id, path, item.title)
        if scene_id is None:
            self.outcome.unmapped.add(item.rating_key)
            if known is None or known.scene_id is not None:
                log.info(
                    "Plex item %s (%r, %s) maps to no Stash scene: its plays and ratings are not copied",
                    item.rating_key,
                    item.title,
                    path or "no file",
                )
        return scene_id

    # -- plays ------------------------------------------------------------------------
    def plays(self, plex: PlexState, since: int | None, section_ids: list[int]) -> int | None:
        """Add a play for each new view; the new history watermark."""
        views = plex.views_since(None if since is None else since - HISTORY_OVERLAP, section_ids)
        done = _settled_views(self.server, views)
        todo = [v for v in views if v.history_id not in done]
        items = plex.items({v.rating_key for v in todo}) if todo else {}
        for view in todo:
            self._play(view, items.get(view.rating_key))
        newest = max((v.viewed_at for v in views), default=since)
        held = state.in_flight_since(self.server)  # by a live consumer still writing it
        if held is not None and newest is not None:
            newest = min(newest, held)
        return newest

    def _play(self, view: View, item: ItemState | None) -> None:
        claim = state.claim_view(self.server, view.history_id, view.rating_key, view.viewed_at)
        if claim is None:
            return
        scene_id = self._scene(item) if item is not None else None
        if scene_id is None:
            if item is None:
                self.outcome.unmapped.add(view.rating_key)
            state.settle_view(self.server, view.history_id, state.UNMAPPED, None)
            return
        if claim == "recover" and self._play_landed(scene_id, view):
            log.info("play of scene %s at %s had reached Stash before a crash", scene_id, stash_time(view.viewed_at))
        else:
            self.stash.add_play(scene_id, view.viewed_at)
        state.settle_view(self.server, view.history_id, state.DONE, scene_id)
        self.outcome.plays += 1

    def _play_landed(self, scene_id: str, view: View) -> bool:
        scene = self.stash.scene_activity(scene_id) or {}
        in_stash = list(scene.get("play_history") or ()).count(stash_time(view.viewed_at))
        return in_stash > state.plays_done_at(self.server, scene_id, view.viewed_at)

    # -- resume points ----------------------------------------------------------------
    def resumes(self, items: list[ItemState]) -> int | None:
        for item in items:
            self._resume(item)
        return max((i.last_viewed_at for i in items if i.last_viewed_at is not None), default=None)

    def _resume(self, item: ItemState) -> None:
        known = state.item(self.server, item.rating_key)
        applies = f"{item.view_count},{item.view_offset},{item.last_viewed_at}"
        if known is not None and not known.pending_owner and _applied_state(known) == applies:
            return
        scene_id = self._scene(item)
        if scene_id is None:
            return
        known = state.item(self.server, item.rating_key)
        assert known is not None
        if known.pending_owner:
            if not state.orphaned_resume(known) or not state.take_orphaned_resume(known):
                return  # a live consumer is writing it
            if self._resume_landed(scene_id, known):
                log.info("resume point of scene %s had reached Stash before a crash", scene_id)
                self._resume_done(item.rating_key, known.pending_state or applies)
                self.outcome.resumes += 1
                if known.pending_state == applies:
                    return
                known = state.item(self.server, item.rating_key)
                assert known is not None
        before = mapping.Applied(known.view_count, known.view_offset)
        added = mapping.seconds(mapping.watched_ms(before, item.view_count, item.view_offset, item.duration_ms))
        target = mapping.seconds(item.view_offset)
        scene = self.stash.scene_activity(scene_id) or {}
        duration_before = float(scene.get("play_duration") or 0.0)
        if float(scene.get("resume_time") or 0.0) == target and added == 0:
            self._resume_done(item.rating_key, applies)
            return
        if not state.claim_resume(known, target, added, duration_before, applies):
            return
        self.stash.save_activity(scene_id, target, added)
        self._resume_done(item.rating_key, applies)
        self.outcome.resumes += 1

    def _resume_landed(self, scene_id: str, known: state.PlaybackItem) -> bool:
        scene = self.stash.scene_activity(scene_id) or {}
        expected = (known.before_duration or 0.0) + (known.pending_added or 0.0)
        duration = float(scene.get("play_duration") or 0.0)
        return duration >= expected - 0.001 and float(scene.get("resume_time") or 0.0) == known.pending_resume

    def _resume_done(self, rating_key: int, applies: str) -> None:
        count, offset, viewed = applies.split(",")
        state.update_item(
            self.server,
            rating_key,
            view_count=int(count),
            view_offset=int(offset),
            viewed_at=None if viewed == "None" else int(viewed),
            pending_owner=None,
            pending_at=None,
            pending_resume=None,
            pending_added=None,
            before_duration=None,
            pending_state=None,
        )

    # -- ratings ----------------------------------------------------------------------
    def ratings(self, items: list[ItemState]) -> int | None:
        for item in items:
            self._rating(item)
        return max((i.last_rated_at for i in items if i.last_rated_at is not None), default=None)

    def _rating(self, item: ItemState) -> None:
        if item.user_rating is None or item.last_rated_at is None:
            return  # a rating cleared in Plex is not copied
        known = state.item(self.server, item.rating_key)
        if known is not None and known.rated_at is not None and item.last_rated_at <= known.rated_at:
            return
        scene_id = self._scene(item)
        if scene_id is None:
            return
        scene = self.stash.scene_activity(scene_id) or {}
        stash_rating = scene.get("rating100")
        choice = mapping.choose_rating(
            item.user_rating,
            item.last_rated_at,
            stash_rating,
            unix_time(scene["updated_at"]) if scene.get("updated_at") else 0.0,
            known.stash_rating if known is not None else None,
        )
        if choice.conflict and state.claim_conflict_note(self.server, item.rating_key, item.last_rated_at):
            log.info(
                "rating of scene %s changed in Stash (%s) and in Plex (%s): the newer, %s's, is kept",
                scene_id,
                stash_rating,
                item.user_rating,
                "Plex" if choice.plex_won else "Stash",
            )
        if choice.write is not None:
            _note_plex_rating(item.rating_key, item.user_rating)
            self.stash.set_rating(scene_id, choice.write)
            self.outcome.ratings += 1
            stash_rating = choice.write
        state.update_item(self.server, item.rating_key, rated_at=item.last_rated_at, stash_rating=stash_rating)


def _applied_state(known: state.PlaybackItem) -> str:
    return f"{known.view_count},{known.view_offset},{known.viewed_at}"


def _settled_views(server: str, views: list[View]) -> set[int]:
    """History ids of these views already done or unmapped (one query per 500)."""
    settled: set[int] = set()
    ids = [v.history_id for v in views]
    for start in range(0, len(ids), 500):
        keys = [state.view_key(server, n) for n in ids[start : start + 500]]
        rows = state.PlaybackView.select(state.PlaybackView.key).where(
            state.PlaybackView.key.in_(keys) & (state.PlaybackView.state != state.CLAIMED)
        )
        settled.update(int(row.key.rpartition(":")[2]) for row in rows)
    return settled
