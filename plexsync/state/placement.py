"""Scenes whose files lie outside every Plex library used, recorded once.

Such a scene is not an error and is not retried: a Plex library may hold only
part of Stash. It is recorded here so that its log line is written once
(not once per sync or per consumer), and so that a user can see the list.
A later successful sync of the scene removes its row.
"""

from __future__ import annotations

import time

import peewee

from plexsync.state.db import BaseModel, transactional, upsert_target


class OutsideScene(BaseModel):
    scene_id = peewee.CharField(primary_key=True)
    plex_path = peewee.TextField()
    recorded_at = peewee.DoubleField()


@transactional
def record_outside(scene_id: str, plex_path: str) -> bool:
    """Record the scene; True when this is news (new, or under another path)."""
    row = OutsideScene.get_or_none(OutsideScene.scene_id == scene_id)
    if row is not None and row.plex_path == plex_path:
        return False
    OutsideScene.insert(scene_id=scene_id, plex_path=plex_path, recorded_at=time.time()).on_conflict(
        **upsert_target(OutsideScene.scene_id), preserve=[OutsideScene.plex_path, OutsideScene.recorded_at]
    ).execute()
    return True


def clear(scene_id: str) -> None:
    if OutsideScene.select().where(OutsideScene.scene_id == scene_id).exists():  # a read, not a write lock
        OutsideScene.delete().where(OutsideScene.scene_id == scene_id).execute()


def outside_scenes() -> list[OutsideScene]:
    return list(OutsideScene.select().order_by(OutsideScene.scene_id))
