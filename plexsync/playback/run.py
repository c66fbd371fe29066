"""One copy from Plex into Stash: new views (and marks as played, per the
setting) become plays, moved resume points and changed ratings are written,
each exactly once.

Exactly once, for plays (which Stash adds up, so a repeat is a wrong count):
each history entry, and each mark as played counted, is claimed in the shared
state before its play is written and marked done after. A consumer that dies
between the two leaves a claim whose owner is gone; whoever claims it next
first counts the plays at that second in the scene's ``play_history`` against
the ones recorded as done there, and writes only when the play is missing.
Resume writes carry an added play duration (also added up by Stash), so they
are recorded with the scene's duration before the write and checked the same
way. Ratings are set, not added: a repeat writes the same value.

Whose plays: the accounts the *Copy plays of* setting names (the owner by
default), each read from its own history, section by section, from where the
last good run read it; a section or account chosen later is read from its
beginning. Resume points and marks are the view state of the token's account,
the owner's: they count only when the owner is chosen.

Which item: Plex gives a deleted item's rating key to the next new item, so
every row about an item names it by guid and ``addedAt``; a row about another
item is dropped (the new one starts afresh), and a history entry older than
the item under its key is a view of an earlier item, not of this one.

The same file in two libraries is two Plex items mapping to one scene; when
Plex matched them to one movie they share their view state. A view is one
history entry, so one play; a mark is counted once per scene and time, and a
view state change once per scene.

The history watermarks move only when a run went through, to the newest entry
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
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from plexsync import ratings
from plexsync.errors import Permanent
from plexsync.matching.paths import PathMap
from plexsync.playback import mapping
from plexsync.playback.plex_state import OWNER_ACCOUNT, ItemState, PlexState, View
from plexsync.redact import redact
from plexsync.stash import times
from plexsync.stash.writer import StashWriter
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


@dataclass(frozen=True)
class Options:
    """What the settings say beyond the kinds (see ``plexsync.config``)."""

    accounts: tuple[str, ...] = ()  # names of the accounts whose plays count; empty: the owner
    marks: str = "play"  # "play": a mark as played is one play; "none": no play
    rating_policy: str = "newer"


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


def _note_plex_rating(rating_key: int, rating: float | None, item: str) -> None:
    """Tell the Stash -> Plex sync that Plex's rating of the item already is ``rating``,
    so the hook our Stash write fires sends nothing back (noted before the Stash
    write: the hook can run before this call would return)."""
    written.note_rating(rating_key, rating, item)


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


def run(stash: StashWriter, plex: PlexState, path_map: PathMap, kinds: Kinds, options: Options = Options()) -> Outcome:
    if not _RUN_LOCK.acquire(blocking=False):
        return Outcome(skipped=True)
    try:
        return _run(stash, plex, path_map, kinds, options)
    finally:
        _RUN_LOCK.release()


def account_ids(plex: PlexState, names: tuple[str, ...]) -> tuple[int, ...]:
    """The accounts the names stand for, as Plex lists them (any case); the owner when none."""
    if not names:
        return (OWNER_ACCOUNT,)
    known = plex.accounts()
    by_name = {name.casefold(): number for number, name in known.items() if name}
    found = []
    for name in names:
        number = by_name.get(name.casefold())
        if number is None:
            listed = ", ".join(repr(n) for n in known.values() if n) or "none"
            raise Permanent(
                f"Copy plays of (PLEXSYNC_PLAYBACK_ACCOUNTS): Plex has no account named {name!r} (it has {listed})"
            )
        found.append(number)
    return tuple(dict.fromkeys(found))


def _run(stash: StashWriter, plex: PlexState, path_map: PathMap, kinds: Kinds, options: Options) -> Outcome:
    server = plex.server
    row = state.started(server)
    outcome = Outcome()
    history: dict[tuple[int, int], int | None] = {}
    viewed_since = rated_since = None
    try:
        sections = plex.sections()
        accounts = account_ids(plex, options.accounts) if kinds.plays else ()
        copy = _Copy(server, stash, plex, SceneFinder(stash, path_map), outcome, kinds, options, accounts, row)
        if kinds.plays:
            history = copy.plays(sections)
        if copy.reads_view_state:
            items = [item for s in sections for item in plex.changed_items(s, "lastViewedAt", row.viewed_since)]
            viewed_since = copy.view_states(items)
        if kinds.ratings:
            items = [item for s in sections for item in plex.changed_items(s, "lastRatedAt", row.rated_since)]
            rated_since = copy.ratings(items)
    except Exception as exc:
        state.failed(server, " ".join(redact(f"{type(exc).__name__}: {exc}").split()))
        raise
    state.history_read(server, history)
    if copy.reads_view_state:
        state.views_baselined(server)
    marks = state.Watermarks(None, viewed_since, rated_since)
    state.finished(server, marks, outcome.plays, outcome.resumes, outcome.ratings, len(outcome.unmapped))
    return outcome


class _Copy:
    def __init__(
        self,
        server: str,
        stash: StashWriter,
        plex: PlexState,
        finder: SceneFinder,
        outcome: Outcome,
        kinds: Kinds,
        options: Options,
        accounts: tuple[int, ...],
        run: state.PlaybackRun,
    ) -> None:
        self.server, self.stash, self.plex, self.finder, self.outcome = server, stash, plex, finder, outcome
        self.kinds, self.options, self.accounts, self.run = kinds, options, accounts, run
        #: Marks count as plays: the owner's plays count, and the setting says so.
        self.counts_marks = kinds.plays and options.marks == "play" and OWNER_ACCOUNT in accounts
        self.reads_view_state = kinds.resume or self.counts_marks
        #: The first pass over the view state takes it as it is (views before it are in the history).
        self.first_pass = run.views_baseline_at is None
        #: View states applied this run, per scene: two items of one file (and guid) show one change.
        self._applied: set[tuple[str, int, int, int | None]] = set()
        #: Rating keys PlexSync knew as another item: Plex gave them to a new one.
        self._replaced: set[int] = set()

    def _known(self, item: ItemState) -> state.PlaybackItem | None:
        """The item's row; a row about an earlier item under its key is dropped (and remembered)."""
        row = state.item(self.server, item.rating_key)
        into = written.written_into(written.of(item.rating_key))
        if (row is not None and row.item not in (None, item.identity)) or into not in (None, item.identity):
            self._replaced.add(item.rating_key)
        return state.item_as(self.server, item.rating_key, item.identity)

    def _scene(self, item: ItemState) -> str | None:
        scene_id = self.finder.scene_of(item)
        known = self._known(item)
        path = item.files[0] if item.files else None
        state.remember_item(self.server, item.rating_key, scene_id, path, item.title, item.identity)
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
    def plays(self, sections: list) -> dict[tuple[int, int], int | None]:
        """Add a play for each new view of the chosen accounts; the new history watermarks."""
        marks: dict[tuple[int, int], int | None] = {}
        for section in sections:
            for account in self.accounts:
                since = state.history_since(self.server, section.id, account)
                if since is None and account == OWNER_ACCOUNT:
                    since = self.run.history_since  # one watermark for the owner, kept by an older PlexSync
                start = None if since is None else since - HISTORY_OVERLAP
                views, newest = self.plex.read_views(section.id, account, start)
                self._views(views)
                newest = since if newest is None else max(newest, since or newest)
                held = state.in_flight_since(self.server)  # by a live consumer still writing it
                if held is not None and newest is not None:
                    newest = min(newest, held)
                marks[(section.id, account)] = newest
        return marks

    def _views(self, views: list[View]) -> None:
        batches = mapping.mark_batches([(v.history_id, v.account_id, v.viewed_at, v.rating_key) for v in views])
        done = _settled_views(self.server, views)
        todo = [v for v in views if v.history_id not in done]
        items = self.plex.items({v.rating_key for v in todo}) if todo else {}
        for item in items.values():
            self._known(item)  # learns which keys went to a new item
        for view in todo:
            self._play(view, items.get(view.rating_key), marked=view.history_id in batches)

    def _play(self, view: View, item: ItemState | None, marked: bool) -> None:
        claim = state.claim_view(self.server, view.history_id, view.rating_key, view.viewed_at, view.account_id)
        if claim is None:
            return
        if marked and self.options.marks != "play":
            state.settle_view(self.server, view.history_id, state.SKIPPED, None)  # a show or season marked
            return
        if self._earlier_item(view, item):
            when = times.text(view.viewed_at)
            log.info("the view of Plex item %s at %s was of an item deleted since: not copied", view.rating_key, when)
            state.settle_view(self.server, view.history_id, state.SKIPPED, None)
            return
        scene_id = self._scene(item) if item is not None else None
        if scene_id is None:
            if item is None:
                self.outcome.unmapped.add(view.rating_key)
            state.settle_view(self.server, view.history_id, state.UNMAPPED, None)
            return
        if claim == "recover" and self._play_landed(scene_id, view.viewed_at):
            log.info("play of scene %s at %s had reached Stash before a crash", scene_id, times.text(view.viewed_at))
        else:
            self.stash.add_play(scene_id, view.viewed_at)
        state.settle_view(self.server, view.history_id, state.DONE, scene_id)
        self.outcome.plays += 1

    def _earlier_item(self, view: View, item: ItemState | None) -> bool:
        """A history entry from before the item under its key was added, where PlexSync
        knew another item under that key: a view of that earlier item. (An entry older
        than its item is no proof alone: Plex keys history by guid, so a movie
        re-added keeps its views.)"""
        return (
            item is not None
            and item.rating_key in self._replaced
            and item.added_at is not None
            and view.viewed_at < item.added_at
        )

    def _play_landed(self, scene_id: str, viewed_at: int) -> bool:
        scene = self.stash.scene_activity(scene_id) or {}
        in_stash = list(scene.get("play_history") or ()).count(times.text(viewed_at))
        return in_stash > state.plays_done_at(self.server, scene_id, viewed_at)

    # -- view state: marks and resume points ---------------------------------------------
    def view_states(self, items: list[ItemState]) -> int | None:
        """Marks as played (a view count rise no view explains) and resume points."""
        risen: dict[int, list[View]] = {}
        for item in items:
            before = self._before(self._known(item))
            if before is not None and item.view_count > (before.view_count or 0):
                known = self._known(item)
                since = known.viewed_at if known is not None else None
                entries = self.plex.item_views(item.rating_key, since)
                risen[item.rating_key] = [e for e in entries if not self._earlier_item(e, item)]
        every = [(e.history_id, e.account_id, e.viewed_at, e.rating_key) for entries in risen.values() for e in entries]
        batches = mapping.mark_batches(every)
        for item in items:
            views = sum(1 for e in risen.get(item.rating_key, ()) if e.history_id not in batches)
            self._view_state(item, views)
        return max((i.last_viewed_at for i in items if i.last_viewed_at is not None), default=None)

    def _before(self, known: state.PlaybackItem | None) -> mapping.Applied | None:
        """The view state the last copy applied; None on first sight during the first pass
        (then the item's state is taken as it is), unplayed for an item first seen later."""
        if known is not None and known.view_count is not None:
            return mapping.Applied(known.view_count, known.view_offset)
        return None if self.first_pass else mapping.Applied(0, 0)

    def _view_state(self, item: ItemState, views: int) -> None:
        known = self._known(item)
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
                self._resume_done(item.rating_key, known.pending_state or applies, known.pending_resume)
                self.outcome.resumes += 1
                if known.pending_state == applies:
                    return
                known = state.item(self.server, item.rating_key)
                assert known is not None
        before = self._before(known)
        change = (scene_id, item.view_count, item.view_offset, item.last_viewed_at)
        if change in self._applied:  # the same change, shown by another item of the scene's file
            self._resume_done(item.rating_key, applies, known.stash_resume)
            return
        self._applied.add(change)
        rise = 0 if before is None else item.view_count - (before.view_count or 0)
        views = min(views, max(rise, 0))
        marks = max(0, rise - views)
        if marks and self.counts_marks and item.last_viewed_at is not None:
            self._mark_plays(scene_id, item, marks)
        if not self.kinds.resume:
            self._resume_done(item.rating_key, applies, known.stash_resume)
            return
        self._resume(scene_id, item, known, before, views, marks, applies)

    def _mark_plays(self, scene_id: str, item: ItemState, marks: int) -> None:
        """One play per mark at the item's ``lastViewedAt``, keyed by scene and time:
        a play copied from the history at that time (a mark recorded there, before
        PMS 1.40; the same view on another item of one guid) already counts it."""
        at = item.last_viewed_at
        assert at is not None
        covered = state.plays_done_at(self.server, scene_id, at, kind=state.VIEW)
        for number in range(covered, marks):
            key = state.mark_key(self.server, scene_id, at, number)
            claim = state.claim_view(self.server, key, item.rating_key, at, OWNER_ACCOUNT, kind=state.MARK)
            if claim is None:
                continue
            if claim == "recover" and self._play_landed(scene_id, at):
                log.info("play of scene %s at %s had reached Stash before a crash", scene_id, times.text(at))
            else:
                self.stash.add_play(scene_id, at)
            state.settle_view(self.server, key, state.DONE, scene_id)
            self.outcome.plays += 1

    def _resume(
        self,
        scene_id: str,
        item: ItemState,
        known: state.PlaybackItem,
        before: mapping.Applied | None,
        views: int,
        marks: int,
        applies: str,
    ) -> None:
        base = before if before is not None else mapping.Applied(None, None)
        added = mapping.seconds(mapping.watched_ms(base, views, marks > 0, item.view_offset, item.duration_ms))
        target = mapping.seconds(item.view_offset)
        scene = self.stash.scene_activity(scene_id) or {}
        in_stash = float(scene.get("resume_time") or 0.0)
        duration_before = float(scene.get("play_duration") or 0.0)
        keep = self._stash_resume_is_newer(scene_id, scene, known, item, in_stash, target)
        if keep:
            log.info("resume point of scene %s was set in Stash after Plex's: Stash's is kept", scene_id)
        resume = None if keep else target
        if (keep or in_stash == target) and added == 0:
            self._resume_done(item.rating_key, applies, in_stash)
            return
        if not state.claim_resume(known, resume, added, duration_before, applies):
            return
        self.stash.save_activity(scene_id, resume, added)
        self._resume_done(item.rating_key, applies, in_stash if keep else target)
        self.outcome.resumes += 1

    def _stash_resume_is_newer(
        self,
        scene_id: str,
        scene: dict,
        known: state.PlaybackItem,
        item: ItemState,
        in_stash: float,
        target: float,
    ) -> bool:
        """Whether the scene's resume point is one Stash's own player set after Plex's:
        it differs from what PlexSync last saw there (on first sight: it is set), and
        Plex's ``lastViewedAt`` is not later than Stash's own newest play and than
        when PlexSync last saw the scene (:func:`mapping.plex_is_newer`)."""
        if in_stash == target:
            return False
        seen = known.stash_resume
        if seen is None and in_stash == 0.0:
            return False
        if seen is not None and abs(in_stash - seen) < 0.001:
            return False
        seen_at = known.stash_resume_at if seen is not None else None
        return not mapping.plex_is_newer(item.last_viewed_at, self._own_last_play(scene_id, scene), seen_at)

    def _own_last_play(self, scene_id: str, scene: dict) -> float | None:
        """The newest play in the scene's history that PlexSync did not add (Stash's player's)."""
        ours = Counter(state.plays_since(self.server, scene_id, 0))
        for text in sorted(scene.get("play_history") or (), reverse=True):
            moment = int(times.instant(text))
            if ours[moment] > 0:
                ours[moment] -= 1
                continue
            return float(moment)
        return None

    def _resume_landed(self, scene_id: str, known: state.PlaybackItem) -> bool:
        scene = self.stash.scene_activity(scene_id) or {}
        expected = (known.before_duration or 0.0) + (known.pending_added or 0.0)
        duration = float(scene.get("play_duration") or 0.0)
        if known.pending_resume is not None and float(scene.get("resume_time") or 0.0) != known.pending_resume:
            return False
        return duration >= expected - 0.001

    def _resume_done(self, rating_key: int, applies: str, stash_resume: float | None) -> None:
        count, offset, viewed = applies.split(",")
        state.update_item(
            self.server,
            rating_key,
            view_count=int(count),
            view_offset=int(offset),
            viewed_at=None if viewed == "None" else int(viewed),
            stash_resume=stash_resume,
            stash_resume_at=time.time(),
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
        """Plex's rating changed since PlexSync last saw it: the policy says whether it goes to Stash."""
        known = self._known(item)
        before = _written_rating(item)
        plex_seen = _seen(known.plex_seen) if known is not None else None
        if not _side_changed(plex_seen, item.user_rating, before.seen if before else None):
            return
        scene_id = self._scene(item)
        if scene_id is None:
            return
        known = state.item(self.server, item.rating_key)
        assert known is not None
        scene = self.stash.scene_activity(scene_id) or {}
        stash_rating = scene.get("rating100")
        stash_value = mapping.plex_value(stash_rating)
        stash_seen = _seen(known.stash_seen, scale=10)
        if stash_seen is None and known.stash_rating is not None:
            stash_seen = _Seen(mapping.plex_value(known.stash_rating))  # the baseline an older PlexSync kept
        stash_changed = _side_changed(stash_seen, stash_value, before.sent if before else None)
        updated = times.instant(scene["updated_at"]) if scene.get("updated_at") else None
        plex_at = item.last_rated_at if item.last_rated_at is not None else self.run.started_at  # a clear is undated
        winner = ratings.rating_winner(
            self.options.rating_policy,
            ratings.Side(item.user_rating, True, plex_at),
            ratings.Side(stash_value, stash_changed, updated),
        )
        conflict = stash_changed and winner != "plex" and stash_value != item.user_rating
        if conflict and state.claim_conflict_note(self.server, item.rating_key, item.last_rated_at or int(time.time())):
            log.info(
                "rating of scene %s changed in Stash (%s) and in Plex (%s): %s",
                scene_id,
                stash_rating,
                item.user_rating,
                _kept(self.options.rating_policy),
            )
        if winner == "plex":
            _note_plex_rating(item.rating_key, item.user_rating, item.identity)
            stash_rating = None if item.user_rating is None else mapping.rating100(item.user_rating)
            self.stash.set_rating(scene_id, stash_rating)
            self.outcome.ratings += 1
        state.update_item(
            self.server,
            item.rating_key,
            rated_at=item.last_rated_at,
            plex_seen=float(state.NONE_SEEN) if item.user_rating is None else float(item.user_rating),
            stash_seen=state.NONE_SEEN if stash_rating is None else stash_rating,
        )


def _kept(policy: str) -> str:
    if policy == "newer":
        return "the newer, Stash's, is kept"
    if policy == "fill":
        return "both are kept (Rating conflicts: fill)"
    return f"Stash's is kept (Rating conflicts: {policy})"


def _written_rating(item: ItemState) -> written.Written | None:
    """What the sync into Plex last wrote as the item's rating, when it wrote into this item."""
    rows = written.of(item.rating_key)
    into = written.written_into(rows)
    if into is not None and into != item.identity:
        return None
    return rows.get("rating")


@dataclass(frozen=True)
class _Seen:
    """A side's rating as PlexSync last saw it, on Plex's 0-10 scale (None: there was none)."""

    value: float | None


def _seen(stored: float | None, scale: int = 1) -> _Seen | None:
    """A stored last-seen rating (None: never seen; NONE_SEEN: seen empty)."""
    if stored is None:
        return None
    return _Seen(None if stored == state.NONE_SEEN else round(float(stored) / scale, 1))


def _side_changed(seen: _Seen | None, value: float | None, written_digest: str | None) -> bool:
    """Whether a side's rating differs from the one PlexSync last saw there: the copy's
    own record, else what the sync into Plex wrote, else (never seen) whether it has one."""
    if seen is not None:
        return seen.value != value
    if written_digest is not None:
        return written.rating_digest(value) != written_digest
    return value is not None


def _applied_state(known: state.PlaybackItem) -> str:
    return f"{known.view_count},{known.view_offset},{known.viewed_at}"


def _settled_views(server: str, views: list[View]) -> set[int]:
    """History ids of these views already done, skipped or unmapped (one query per 500)."""
    settled: set[int] = set()
    ids = [v.history_id for v in views]
    for start in range(0, len(ids), 500):
        keys = [state.view_key(server, n) for n in ids[start : start + 500]]
        rows = state.PlaybackView.select(state.PlaybackView.key).where(
            state.PlaybackView.key.in_(keys) & (state.PlaybackView.state != state.CLAIMED)
        )
        settled.update(int(row.key.rpartition(":")[2]) for row in rows)
    return settled
