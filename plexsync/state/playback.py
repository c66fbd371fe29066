"""What the copy from Plex into Stash has done, per Plex server, so that each
play is added exactly once whatever crashes, retries or consumers run it.

* :class:`PlaybackRun`, one row per server (its ``machineIdentifier``): the
  watermarks (Plex's own times: the newest history entry, view and rating
  read, so the clocks of Plex and the worker never need to agree), when the
  next periodic copy is due (claimed by one consumer at a time), and what the
  last run applied.
* :class:`PlaybackHistory`, one row per server, library section and account:
  how far that account's history in that section was read (a section or an
  account chosen later is read from its beginning).
* :class:`PlaybackView`, one row per Plex history entry (and per mark as
  played counted as a play): **claimed** before the play is written to Stash,
  **done** after. A claim whose owner died (SIGKILL, a power cut) is taken
  over, and the new owner first looks in the scene's play history whether the
  play landed before the crash.
* :class:`PlaybackItem`, one row per Plex item: which item it is (its guid and
  ``addedAt``: Plex gives a deleted item's rating key to new items), its Stash
  scene (or none: reported, not retried), the view state applied, the ratings
  and resume point last seen on each side, and a pending resume write with the
  scene's activity before it (``play_duration`` is added, not set, so a resume
  write must land once too).

Everything is one transaction each, with conditional updates where two
consumers may race, so it works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import peewee

from plexsync.queue.reliable import OWNER, owner_is_gone
from plexsync.state.db import BaseModel, locked, transactional

CLAIMED, DONE, UNMAPPED = "claimed", "done", "unmapped"
#: A history entry that is no play: a mark not counted, or a view of an earlier item under the key.
SKIPPED = "skipped"
#: What a :class:`PlaybackView` row counts: a history entry, or a mark as played seen in the view state.
VIEW, MARK = "view", "mark"
#: Stored for "seen, and there was none" (a rating or resume point), apart from "never seen" (NULL).
NONE_SEEN = -1


class PlaybackRun(BaseModel):
    server = peewee.CharField(primary_key=True)  # Plex machineIdentifier
    history_since = peewee.IntegerField(null=True)  # Plex viewedAt: re-read from here
    viewed_since = peewee.IntegerField(null=True)  # Plex lastViewedAt
    rated_since = peewee.IntegerField(null=True)  # Plex lastRatedAt
    next_due_at = peewee.DoubleField(default=0.0)  # worker clock: when the periodic copy runs next
    started_at = peewee.DoubleField(null=True)
    finished_at = peewee.DoubleField(null=True)
    plays = peewee.IntegerField(default=0)  # applied by the last finished run
    resumes = peewee.IntegerField(default=0)
    ratings = peewee.IntegerField(default=0)
    unmapped = peewee.IntegerField(default=0)
    error = peewee.TextField(null=True)  # why the last run failed; None after a success
    # when a run first went through the view state of every viewed item: items seen
    # after it were unplayed before (their view count rose since), those seen in it not
    views_baseline_at = peewee.DoubleField(null=True)


class PlaybackHistory(BaseModel):
    key = peewee.CharField(primary_key=True)  # "<server>:<section id>:<account id>"
    server = peewee.CharField(index=True)
    since = peewee.IntegerField(null=True)  # Plex viewedAt of the newest entry read: re-read from here


class PlaybackView(BaseModel):
    key = peewee.CharField(primary_key=True)  # "<server>:<history id>"
    server = peewee.CharField(index=True)
    rating_key = peewee.IntegerField()
    scene_id = peewee.CharField(null=True)
    viewed_at = peewee.IntegerField()
    state = peewee.CharField()
    owner = peewee.CharField(null=True)
    claimed_at = peewee.DoubleField()
    account_id = peewee.IntegerField(null=True)  # whose play (None: the owner's, from older PlexSync)
    kind = peewee.CharField(null=True)  # VIEW or MARK (None: VIEW, from older PlexSync)


class PlaybackItem(BaseModel):
    key = peewee.CharField(primary_key=True)  # "<server>:<ratingKey>"
    server = peewee.CharField(index=True)
    rating_key = peewee.IntegerField()
    item = peewee.TextField(null=True)  # "<guid>@<addedAt>": another value is a new item under this key
    scene_id = peewee.CharField(null=True)  # None: maps to no Stash scene
    plex_path = peewee.TextField(null=True)
    title = peewee.TextField(null=True)
    seen_at = peewee.DoubleField()
    view_count = peewee.IntegerField(null=True)  # applied view state
    view_offset = peewee.IntegerField(null=True)
    viewed_at = peewee.IntegerField(null=True)
    rated_at = peewee.IntegerField(null=True)  # Plex lastRatedAt last applied (or decided against)
    stash_rating = peewee.IntegerField(null=True)  # older PlexSync's baseline; stash_seen replaces it
    conflict_at = peewee.IntegerField(null=True)  # the Plex lastRatedAt whose conflict was logged
    plex_seen = peewee.DoubleField(null=True)  # Plex's rating (0-10) last seen; NONE_SEEN: none
    stash_seen = peewee.IntegerField(null=True)  # the scene's rating100 last seen or left; NONE_SEEN: none
    stash_resume = peewee.DoubleField(null=True)  # the scene's resume_time last seen or left
    stash_resume_at = peewee.DoubleField(null=True)  # worker time it was seen
    # a resume write in flight: the target and the scene's activity just before it
    pending_owner = peewee.CharField(null=True)
    pending_at = peewee.DoubleField(null=True)
    pending_resume = peewee.DoubleField(null=True)
    pending_added = peewee.DoubleField(null=True)
    before_duration = peewee.DoubleField(null=True)
    pending_state = peewee.CharField(null=True)  # "view_count,view_offset,viewed_at" the write applies


# -- runs ---------------------------------------------------------------------------------
def run_row(server: str) -> PlaybackRun:
    PlaybackRun.insert(server=server).on_conflict_ignore().execute()
    return PlaybackRun.get_by_id(server)


@transactional
def claim_due(server: str, interval: float, now: float | None = None) -> bool:
    """True for exactly one caller per ``interval`` seconds (the periodic copy's turn)."""
    now = time.time() if now is None else now
    row = locked(PlaybackRun.select().where(PlaybackRun.server == server)).get_or_none()
    if row is None:
        PlaybackRun.insert(server=server).on_conflict_ignore().execute()
        row = PlaybackRun.get_by_id(server)
    if row.next_due_at > now:
        return False
    return (
        PlaybackRun.update(next_due_at=now + interval)
        .where((PlaybackRun.server == server) & (PlaybackRun.next_due_at == row.next_due_at))
        .execute()
        > 0
    )


def started(server: str) -> PlaybackRun:
    row = run_row(server)
    PlaybackRun.update(started_at=time.time()).where(PlaybackRun.server == server).execute()
    return row


@dataclass(frozen=True)
class Watermarks:
    history_since: int | None
    viewed_since: int | None
    rated_since: int | None


@transactional
def finished(server: str, marks: Watermarks, plays: int, resumes: int, ratings: int, unmapped: int) -> None:
    """A run went through: watermarks only move forward (two runs may overlap)."""
    row = locked(PlaybackRun.select().where(PlaybackRun.server == server)).get()
    PlaybackRun.update(
        history_since=_later(row.history_since, marks.history_since),
        viewed_since=_later(row.viewed_since, marks.viewed_since),
        rated_since=_later(row.rated_since, marks.rated_since),
        finished_at=time.time(),
        plays=plays,
        resumes=resumes,
        ratings=ratings,
        unmapped=unmapped,
        error=None,
    ).where(PlaybackRun.server == server).execute()


def failed(server: str, reason: str) -> None:
    run_row(server)
    PlaybackRun.update(error=reason[:500]).where(PlaybackRun.server == server).execute()


def _later(old: int | None, new: int | None) -> int | None:
    if old is None:
        return new
    return old if new is None else max(old, new)


# -- how far each history was read -------------------------------------------------------
def history_key(server: str, section_id: int, account_id: int) -> str:
    return f"{server}:{section_id}:{account_id}"


def history_since(server: str, section_id: int, account_id: int) -> int | None:
    row = PlaybackHistory.get_or_none(PlaybackHistory.key == history_key(server, section_id, account_id))
    return None if row is None else row.since


@transactional
def history_read(server: str, marks: dict[tuple[int, int], int | None]) -> None:
    """A run read these histories ((section, account) -> newest viewedAt) through: only forward."""
    for (section_id, account_id), since in marks.items():
        if since is None:
            continue
        key = history_key(server, section_id, account_id)
        PlaybackHistory.insert(key=key, server=server, since=since).on_conflict_ignore().execute()
        PlaybackHistory.update(since=since).where(
            (PlaybackHistory.key == key) & (PlaybackHistory.since.is_null() | (PlaybackHistory.since < since))
        ).execute()


def views_baselined(server: str) -> None:
    PlaybackRun.update(views_baseline_at=time.time()).where(
        (PlaybackRun.server == server) & PlaybackRun.views_baseline_at.is_null()
    ).execute()


# -- plays --------------------------------------------------------------------------------
def view_key(server: str, history_id: int) -> str:
    return f"{server}:{history_id}"


def mark_key(server: str, scene_id: str, marked_at: int, number: int) -> str:
    """A mark as played, counted once per scene and time whichever item (of one
    guid, in two libraries) showed it."""
    return f"{server}:mark:{scene_id}:{marked_at}:{number}"


def claim_view(
    server: str,
    history_id: int | str,
    rating_key: int,
    viewed_at: int,
    account_id: int | None = None,
    kind: str = VIEW,
) -> str | None:
    """Claim one history entry (or a mark's key): ``"new"``, ``"recover"`` (a dead owner's
    claim, taken over: its play may have landed) or None (done, or a live owner has it)."""
    key = history_id if isinstance(history_id, str) else view_key(server, history_id)
    now = time.time()
    (
        PlaybackView.insert(
            key=key,
            server=server,
            rating_key=rating_key,
            viewed_at=viewed_at,
            state=CLAIMED,
            owner=OWNER,
            claimed_at=now,
            account_id=account_id,
            kind=kind,
        )
        .on_conflict_ignore()
        .execute()
    )
    row = PlaybackView.get_by_id(key)
    if row.state != CLAIMED:
        return None
    if row.owner == OWNER and row.claimed_at == now:  # our insert (no two calls share a time.time())
        return "new"
    # Our own older claim is a run of this process that failed midway: runs of
    # one process never overlap (plexsync.playback.run holds a lock).
    if row.owner != OWNER and not owner_is_gone(row.owner or "", row.claimed_at):
        return None
    taken = (
        PlaybackView.update(owner=OWNER, claimed_at=now)
        .where((PlaybackView.key == key) & (PlaybackView.owner == row.owner) & (PlaybackView.state == CLAIMED))
        .execute()
    )
    return "recover" if taken else None


def settle_view(server: str, history_id: int | str, state: str, scene_id: str | None) -> None:
    key = history_id if isinstance(history_id, str) else view_key(server, history_id)
    PlaybackView.update(state=state, scene_id=scene_id, owner=None).where(PlaybackView.key == key).execute()


def release_view(server: str, history_id: int) -> None:
    """The write failed before Stash took it: the next run claims the entry afresh."""
    PlaybackView.delete().where(
        (PlaybackView.key == view_key(server, history_id)) & (PlaybackView.owner == OWNER)
    ).execute()


def plays_done_at(server: str, scene_id: str, viewed_at: int, kind: str | None = None) -> int:
    """How many plays at this second of this scene were added by us (the recovery check's
    baseline); ``kind``: only those counted from history entries (VIEW) or marks (MARK)."""
    query = PlaybackView.select().where(
        (PlaybackView.server == server)
        & (PlaybackView.scene_id == scene_id)
        & (PlaybackView.viewed_at == viewed_at)
        & (PlaybackView.state == DONE)
    )
    if kind == VIEW:
        query = query.where(PlaybackView.kind.is_null() | (PlaybackView.kind == VIEW))
    elif kind == MARK:
        query = query.where(PlaybackView.kind == MARK)
    return query.count()


def plays_since(server: str, scene_id: str, since: int) -> list[int]:
    """The times of the plays PlexSync added to the scene at or after ``since``."""
    rows = PlaybackView.select(PlaybackView.viewed_at).where(
        (PlaybackView.server == server)
        & (PlaybackView.scene_id == scene_id)
        & (PlaybackView.viewed_at >= since)
        & (PlaybackView.state == DONE)
    )
    return [row.viewed_at for row in rows]


def in_flight_since(server: str) -> int | None:
    """The oldest entry a live consumer still holds: the history watermark must not pass it."""
    return (
        PlaybackView.select(peewee.fn.MIN(PlaybackView.viewed_at))
        .where((PlaybackView.server == server) & (PlaybackView.state == CLAIMED))
        .scalar()
    )


# -- items --------------------------------------------------------------------------------
def item_key(server: str, rating_key: int) -> str:
    return f"{server}:{rating_key}"


def item(server: str, rating_key: int) -> PlaybackItem | None:
    return PlaybackItem.get_or_none(PlaybackItem.key == item_key(server, rating_key))


def item_as(server: str, rating_key: int, identity: str) -> PlaybackItem | None:
    """The item's row, when it is about this item: a row about an earlier item
    that had this rating key (another guid or ``addedAt``) is deleted, so that
    the new item starts afresh. A row from an older PlexSync learns the identity."""
    row = item(server, rating_key)
    if row is None:
        return None
    if row.item is None:
        PlaybackItem.update(item=identity).where((PlaybackItem.key == row.key) & PlaybackItem.item.is_null()).execute()
        row.item = identity
    elif row.item != identity:
        PlaybackItem.delete().where((PlaybackItem.key == row.key) & (PlaybackItem.item == row.item)).execute()
        return None
    return row


def remember_item(
    server: str,
    rating_key: int,
    scene_id: str | None,
    plex_path: str | None,
    title: str | None,
    identity: str | None = None,
) -> PlaybackItem:
    key = item_key(server, rating_key)
    PlaybackItem.insert(
        key=key,
        server=server,
        rating_key=rating_key,
        item=identity,
        scene_id=scene_id,
        plex_path=plex_path,
        title=title,
        seen_at=0.0,
    ).on_conflict_ignore().execute()
    PlaybackItem.update(scene_id=scene_id, plex_path=plex_path, title=title, seen_at=time.time()).where(
        PlaybackItem.key == key
    ).execute()
    return PlaybackItem.get_by_id(key)


def unmapped_items(server: str | None = None, limit: int = 5) -> tuple[int, list[PlaybackItem]]:
    query = PlaybackItem.select().where(PlaybackItem.scene_id.is_null())
    if server is not None:
        query = query.where(PlaybackItem.server == server)
    return query.count(), list(query.order_by(PlaybackItem.seen_at.desc()).limit(limit))


def update_item(server: str, rating_key: int, **values: object) -> None:
    PlaybackItem.update(**values).where(PlaybackItem.key == item_key(server, rating_key)).execute()


def claim_conflict_note(server: str, rating_key: int, rated_at: int) -> bool:
    """True for the one consumer that logs the choice between this Plex rating and Stash's."""
    key = item_key(server, rating_key)
    return (
        PlaybackItem.update(conflict_at=rated_at)
        .where((PlaybackItem.key == key) & (PlaybackItem.conflict_at.is_null() | (PlaybackItem.conflict_at < rated_at)))
        .execute()
        > 0
    )


def claim_resume(
    based_on: PlaybackItem, target: float | None, added: float, before_duration: float, applies: str
) -> bool:
    """Record a resume write about to be sent; False when another live consumer has
    one in flight, or applied one since ``based_on`` was read (``added`` would then
    count the same time twice)."""
    key = based_on.key
    row = PlaybackItem.get_by_id(key)
    if _applied(row) != _applied(based_on):
        return False
    if row.pending_owner and row.pending_owner != OWNER and not owner_is_gone(row.pending_owner, row.pending_at or 0):
        return False
    return (
        PlaybackItem.update(
            pending_owner=OWNER,
            pending_at=time.time(),
            pending_resume=target,
            pending_added=added,
            before_duration=before_duration,
            pending_state=applies,
        )
        .where((PlaybackItem.key == key) & _same_pending(row) & _same_applied(row))
        .execute()
        > 0
    )


def _applied(row: PlaybackItem) -> tuple:
    return (row.view_count, row.view_offset, row.viewed_at)


def _same_applied(row: PlaybackItem) -> peewee.Expression:
    test = None
    for field, value in zip(
        (PlaybackItem.view_count, PlaybackItem.view_offset, PlaybackItem.viewed_at), _applied(row), strict=True
    ):
        part = field.is_null() if value is None else field == value
        test = part if test is None else test & part
    return test


def _same_pending(row: PlaybackItem) -> peewee.Expression:
    if row.pending_owner is None:
        return PlaybackItem.pending_owner.is_null()
    return PlaybackItem.pending_owner == row.pending_owner


def orphaned_resume(row: PlaybackItem) -> bool:
    """A resume write recorded by a consumer that died before recording its outcome."""
    return bool(row.pending_owner) and (
        row.pending_owner == OWNER or owner_is_gone(row.pending_owner or "", row.pending_at or 0)
    )


def take_orphaned_resume(row: PlaybackItem) -> bool:
    return (
        PlaybackItem.update(pending_owner=OWNER, pending_at=time.time())
        .where((PlaybackItem.key == row.key) & (PlaybackItem.pending_owner == row.pending_owner))
        .execute()
        > 0
    )
