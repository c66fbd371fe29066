"""When each scene's own sync job last started and finished, so that a bulk
page never leaves older data in Plex than a user's edit.

A page is read from Stash once and written scene by scene for a few seconds.
A user who edits one of its scenes meanwhile gets a ``sync_scene`` job (with
a higher priority), which reads Stash afresh. The page must not write its
older copy after that job did: it skips a scene whose own sync *started*
after the page was read (that sync read newer data), and queues the scene
again when one *finished* between the page's read and its write (the page
may just have overwritten it). Every order of the two is covered: a sync
that finishes after the page's check wrote after the page. One row per
scene that ever had a sync of its own: bounded by the library, no cleanup.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import peewee

from plexsync.state.db import BaseModel, upsert_target


class SceneSync(BaseModel):
    scene_id = peewee.CharField(primary_key=True)
    started_at = peewee.DoubleField(index=True)
    finished_at = peewee.DoubleField(null=True, index=True)


def started(scene_id: str) -> None:
    """A scene's own sync begins (before it reads Stash)."""
    SceneSync.insert(scene_id=scene_id, started_at=time.time(), finished_at=None).on_conflict(
        **upsert_target(SceneSync.scene_id), preserve=[SceneSync.started_at, SceneSync.finished_at]
    ).execute()


def finished(scene_id: str) -> None:
    """It is over, written or not."""
    SceneSync.update(finished_at=time.time()).where(SceneSync.scene_id == scene_id).execute()


def started_since(scene_ids: Iterable[str], since: float) -> set[str]:
    """Those of ``scene_ids`` whose own sync started after ``since``."""
    return _since(SceneSync.started_at, scene_ids, since)


def finished_since(scene_ids: Iterable[str], since: float) -> set[str]:
    """Those of ``scene_ids`` whose own sync finished after ``since``."""
    return _since(SceneSync.finished_at, scene_ids, since)


def _since(stamp: peewee.Field, scene_ids: Iterable[str], since: float) -> set[str]:
    ids = list(scene_ids)
    if not ids:
        return set()
    query = SceneSync.select(SceneSync.scene_id).where(SceneSync.scene_id.in_(ids) & (stamp > since))
    return {row.scene_id for row in query}
