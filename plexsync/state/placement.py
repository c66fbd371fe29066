"""Scenes whose files lie outside every Plex library used, recorded once.

Such a scene is not an error and is not retried: a Plex library may hold only
part of Stash. It is recorded here so that its log line is written once
(not once per sync or per consumer), and so that a user can see the list.
A later successful sync of the scene removes its row.

Every matched sync asks whether its scene has a row to remove; nearly always
it has not. A process keeps the set of recorded ids (while there are at most
:data:`CACHED_IDS`) for :data:`IDS_TTL` seconds, so a bulk sync asks the
table once in a while instead of once a scene. A scene another process
recorded within those seconds and this one then syncs keeps its row until
its next sync: the row only says where its file was seen outside Plex.
"""

from __future__ import annotations

import threading
import time

import peewee

from plexsync.state.db import BaseModel, transactional, upsert_target

#: Seconds a process trusts its copy of the recorded ids.
IDS_TTL = 5.0
#: Beyond this many rows, each sync asks the table about its own scene instead.
CACHED_IDS = 5000
_ids: tuple[float, frozenset[str] | None] | None = None
_ids_lock = threading.Lock()


class OutsideScene(BaseModel):
    scene_id = peewee.CharField(primary_key=True)
    plex_path = peewee.TextField()
    recorded_at = peewee.DoubleField()


def _recorded_ids() -> frozenset[str] | None:
    """The recorded scene ids as read at most :data:`IDS_TTL` seconds ago; None when too many to keep."""
    global _ids
    now = time.monotonic()
    with _ids_lock:
        cached = _ids
    if cached is not None and now - cached[0] < IDS_TTL:
        return cached[1]
    rows = [row.scene_id for row in OutsideScene.select(OutsideScene.scene_id).limit(CACHED_IDS + 1)]
    ids = frozenset(rows) if len(rows) <= CACHED_IDS else None
    with _ids_lock:
        _ids = (now, ids)
    return ids


def _forget() -> None:
    global _ids
    with _ids_lock:
        _ids = None


@transactional
def record_outside(scene_id: str, plex_path: str) -> bool:
    """Record the scene; True when this is news (new, or under another path)."""
    _forget()
    row = OutsideScene.get_or_none(OutsideScene.scene_id == scene_id)
    if row is not None and row.plex_path == plex_path:
        return False
    OutsideScene.insert(scene_id=scene_id, plex_path=plex_path, recorded_at=time.time()).on_conflict(
        **upsert_target(OutsideScene.scene_id), preserve=[OutsideScene.plex_path, OutsideScene.recorded_at]
    ).execute()
    return True


def clear(scene_id: str) -> None:
    """The scene was matched: its row, if it has one, goes."""
    recorded = _recorded_ids()
    if recorded is not None and scene_id not in recorded:
        return
    if OutsideScene.select().where(OutsideScene.scene_id == scene_id).exists():  # a read, not a write lock
        _forget()
        OutsideScene.delete().where(OutsideScene.scene_id == scene_id).execute()


def outside_scenes() -> list[OutsideScene]:
    return list(OutsideScene.select().order_by(OutsideScene.scene_id))
