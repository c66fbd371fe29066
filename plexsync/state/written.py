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
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

import peewee

from plexsync.state.db import BaseModel, Prepared, upsert_target
from plexsync.sync.mapping import canonical_digest


class WrittenGroup(BaseModel):
    key = peewee.CharField(primary_key=True)  # "<rating key>:<group>"
    rating_key = peewee.IntegerField(index=True)
    group = peewee.CharField(column_name="group_name")
    sent = peewee.CharField()
    seen = peewee.CharField()
    written_at = peewee.DoubleField()


@dataclass(frozen=True)
class Written:
    sent: str
    seen: str


def image_digest(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


_groups_of = Prepared(
    lambda: WrittenGroup.select(WrittenGroup.group, WrittenGroup.sent, WrittenGroup.seen).where(
        WrittenGroup.rating_key == 0
    )
)


def of(rating_key: int) -> dict[str, Written]:
    """Every group last written into this item: group -> digests."""
    return {group: Written(sent, seen) for group, sent, seen in _groups_of(rating_key)}


def remember(rating_key: int, groups: Mapping[str, Written]) -> None:
    """Record groups Plex accepted (an upsert SQLite and PostgreSQL both run)."""
    if not groups:
        return
    now = time.time()
    rows = [
        {
            "key": f"{rating_key}:{group}",
            "rating_key": rating_key,
            "group": group,
            "sent": digests.sent,
            "seen": digests.seen,
            "written_at": now,
        }
        for group, digests in groups.items()
    ]
    WrittenGroup.insert_many(rows).on_conflict(
        **upsert_target(WrittenGroup.key),
        preserve=[WrittenGroup.sent, WrittenGroup.seen, WrittenGroup.written_at],
    ).execute()


def note_rating(rating_key: int, rating: float | None) -> None:
    """Plex's item already holds this user rating (0-10; None: none), e.g. because
    it was just copied from Plex into Stash: the scene sync that follows sends
    no rating back. The digests are those of :func:`plexsync.sync.mapping.desired_state`'s
    rating group, which depend on the value alone."""
    value = None if rating is None else round(float(rating), 1)
    digest = canonical_digest(value)
    remember(rating_key, {"rating": Written(digest, digest)})


def forget(rating_key: int, groups: tuple[str, ...] = ()) -> None:
    """Forget what was written into the item (only ``groups`` when given)."""
    query = WrittenGroup.delete().where(WrittenGroup.rating_key == rating_key)
    if groups:
        query = query.where(WrittenGroup.group.in_(groups))
    query.execute()
