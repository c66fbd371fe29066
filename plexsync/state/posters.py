"""Which cover each Plex item got last, so an unchanged cover is not uploaded again."""

from __future__ import annotations

import hashlib
import time

import peewee

from plexsync.state.db import BaseModel, upsert_target


class PosterState(BaseModel):
    rating_key = peewee.IntegerField(primary_key=True)
    sha256 = peewee.CharField()
    uploaded_at = peewee.DoubleField()


def digest(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


def is_current(rating_key: int, image_digest: str) -> bool:
    row = PosterState.get_or_none(PosterState.rating_key == rating_key)
    return row is not None and row.sha256 == image_digest


def remember(rating_key: int, image_digest: str) -> None:
    """Insert or update (an upsert SQLite, PostgreSQL and MySQL all run)."""
    PosterState.insert(rating_key=rating_key, sha256=image_digest, uploaded_at=time.time()).on_conflict(
        **upsert_target(PosterState.rating_key), preserve=[PosterState.sha256, PosterState.uploaded_at]
    ).execute()
