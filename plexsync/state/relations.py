"""Which performers, studios, tags and groups each scene's last sync showed in Plex.

Stash answers "which scenes have tag 7" only while tag 7 exists. Its destroy
and merge hooks arrive after the tag is gone, and ``performerMerge`` fires no
hook at all, so the scenes that still show the old name in Plex are found
here: the ids a scene's last successful sync read are kept per scene.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import peewee

from plexsync.state.db import BaseModel, Prepared, transactional

KINDS = ("performer", "studio", "tag", "group")


class SceneRelation(BaseModel):
    scene_id = peewee.CharField()
    kind = peewee.CharField()
    object_id = peewee.CharField()

    class Meta:
        primary_key = peewee.CompositeKey("scene_id", "kind", "object_id")
        indexes = ((("kind", "object_id"), False),)


def relations_of(scene: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(kind, id) of everything a scene read from Stash points at."""
    found: set[tuple[str, str]] = set()
    studio = scene.get("studio") or {}
    if studio.get("id") is not None:
        found.add(("studio", str(studio["id"])))
    for kind, key in (("tag", "tags"), ("performer", "performers")):
        found.update((kind, str(item["id"])) for item in scene.get(key) or () if item.get("id") is not None)
    for entry in scene.get("groups") or ():
        group = entry.get("group") or {}
        if group.get("id") is not None:
            found.add(("group", str(group["id"])))
    return found


_held = Prepared(
    lambda: SceneRelation.select(SceneRelation.kind, SceneRelation.object_id).where(SceneRelation.scene_id == "")
)


def remember(scene_id: str, scene: Mapping[str, Any]) -> None:
    """Keep what this sync read. Nearly always it is what the last sync read:
    then one read and no transaction (which on SQLite takes the write lock
    every worker shares)."""
    wanted = relations_of(scene)
    if set(_held(scene_id)) != wanted:
        _replace(scene_id, wanted)


@transactional
def _replace(scene_id: str, wanted: set[tuple[str, str]]) -> None:
    held = set(_held(scene_id))
    for kind, object_id in held - wanted:
        SceneRelation.delete().where(
            (SceneRelation.scene_id == scene_id) & (SceneRelation.kind == kind) & (SceneRelation.object_id == object_id)
        ).execute()
    added = [{"scene_id": scene_id, "kind": kind, "object_id": object_id} for kind, object_id in wanted - held]
    for start in range(0, len(added), 200):
        SceneRelation.insert_many(added[start : start + 200]).on_conflict_ignore().execute()


def scenes_using(kind: str, object_ids: Iterable[str]) -> list[str]:
    """The scenes whose last sync showed any of these objects, in id order."""
    ids = list(object_ids)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        rows = SceneRelation.select(SceneRelation.scene_id).where(
            (SceneRelation.kind == kind) & SceneRelation.object_id.in_(ids[start : start + 500])
        )
        found.update(row.scene_id for row in rows)
    return sorted(found, key=_numeric)


def known_ids(kind: str) -> set[str]:
    """Every id of ``kind`` some scene's last sync showed."""
    rows = SceneRelation.select(SceneRelation.object_id).where(SceneRelation.kind == kind).distinct()
    return {row.object_id for row in rows}


def forget_objects(kind: str, object_ids: Iterable[str]) -> None:
    """Drop the rows of objects that no longer exist (their scenes were queued for a sync)."""
    ids = list(object_ids)
    for start in range(0, len(ids), 500):
        SceneRelation.delete().where(
            (SceneRelation.kind == kind) & SceneRelation.object_id.in_(ids[start : start + 500])
        ).execute()


def forget_scene(scene_id: str) -> int:
    """Drop a scene's rows; how many there were (0: its sync never succeeded)."""
    return SceneRelation.delete().where(SceneRelation.scene_id == scene_id).execute()


def _numeric(scene_id: str) -> tuple[int, str]:
    return (int(scene_id), "") if scene_id.isdigit() else (0, scene_id)
