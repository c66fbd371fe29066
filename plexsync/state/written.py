"""What PlexSync last wrote into each Plex item, per field group, so that a
sync that would change nothing sends nothing and a changed field sends only
its group.

One row per (Plex rating key, group): ``sent`` digests everything the group's
write said (:attr:`plexsync.sync.mapping.FieldGroup.value`; an image's bytes
for the ``poster`` and ``background`` groups), ``seen`` what Plex shows for it
afterwards (:attr:`~plexsync.sync.mapping.FieldGroup.seen`), which "keep
manual Plex edits" compares with Plex's current value. A row is written only
after Plex accepted the write. In the shared database with
``PLEXSYNC_DATABASE_URL``, so one worker does not redo another's writes.

Each row also names the item it was written into (``item``: its guid and
``addedAt``), because Plex gives the rating key of a deleted item to the next
new one (rating keys are SQLite rowids; Tautulli issues #2767, #2768): rows
about another item than the one now under the key say nothing about it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

import peewee

from plexsync.state.db import BaseModel, Prepared, database, upsert_target
from plexsync.sync.mapping import canonical_digest


class WrittenGroup(BaseModel):
    key = peewee.CharField(primary_key=True)  # "<rating key>:<group>"
    rating_key = peewee.IntegerField(index=True)
    group = peewee.CharField(column_name="group_name")
    sent = peewee.CharField()
    seen = peewee.CharField()
    written_at = peewee.DoubleField()
    item = peewee.TextField(null=True)  # "<guid>@<addedAt>" of the item written into (None: older PlexSync)


@dataclass(frozen=True)
class Written:
    sent: str
    seen: str
    item: str | None = None


def image_digest(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


_groups_of = Prepared(
    lambda: WrittenGroup.select(WrittenGroup.group, WrittenGroup.sent, WrittenGroup.seen, WrittenGroup.item).where(
        WrittenGroup.rating_key == 0
    )
)


def of(rating_key: int) -> dict[str, Written]:
    """Every group last written into this item: group -> digests."""
    return {group: Written(sent, seen, item) for group, sent, seen, item in _groups_of(rating_key)}


def written_into(before: Mapping[str, Written]) -> str | None:
    """The item these rows were written into (None: not known, rows of an older PlexSync)."""
    return next((row.item for row in before.values() if row.item), None)


def _upsert(with_item: bool) -> Prepared:
    """One row's upsert, its SQL built once (a sync remembers up to five groups an item:
    building each statement was a fifth of a first sync's worker CPU, profiled)."""

    def build() -> peewee.Query:
        preserve = [WrittenGroup.sent, WrittenGroup.seen, WrittenGroup.written_at]
        if with_item:
            preserve.append(WrittenGroup.item)
        placeholder = ("", 0, "", "", "", 0.0, "")
        return WrittenGroup.insert_many([placeholder], fields=list(_COLUMNS)).on_conflict(
            **upsert_target(WrittenGroup.key), preserve=preserve
        )

    return Prepared(build)


_COLUMNS = (
    WrittenGroup.key,
    WrittenGroup.rating_key,
    WrittenGroup.group,
    WrittenGroup.sent,
    WrittenGroup.seen,
    WrittenGroup.written_at,
    WrittenGroup.item,
)
_UPSERT = {True: _upsert(True), False: _upsert(False)}


def remember(rating_key: int, groups: Mapping[str, Written], item: str | None = None) -> None:
    """Record groups Plex accepted (an upsert SQLite and PostgreSQL both run), written into ``item``.

    When none of ``groups`` names an item, the rows keep the item they already name.
    """
    if not groups:
        return
    now = time.time()
    rows = [
        (f"{rating_key}:{group}", rating_key, group, digests.sent, digests.seen, now, item or digests.item)
        for group, digests in groups.items()
    ]
    upsert = _UPSERT[any(row[-1] for row in rows)]
    if len(rows) == 1:
        upsert.run(*rows[0])
        return
    with database.atomic():  # all of them or none, as one statement was
        for row in rows:
            upsert.run(*row)


def rating_digest(rating: float | None) -> str:
    """The digest of Plex's user rating (0-10; None: none), as the ``rating`` group records it."""
    return canonical_digest(None if rating is None else round(float(rating), 1))


def note_rating(rating_key: int, rating: float | None, item: str | None = None) -> None:
    """Plex's item already holds this user rating (0-10; None: none), e.g. because
    it was just copied from Plex into Stash: the scene sync that follows sends
    no rating back. The digests are those of :func:`plexsync.sync.mapping.desired_state`'s
    rating group, which depend on the value alone."""
    digest = rating_digest(rating)
    remember(rating_key, {"rating": Written(digest, digest)}, item)


def forget(rating_key: int, groups: tuple[str, ...] = ()) -> None:
    """Forget what was written into the item (only ``groups`` when given)."""
    query = WrittenGroup.delete().where(WrittenGroup.rating_key == rating_key)
    if groups:
        query = query.where(WrittenGroup.group.in_(groups))
    query.execute()
