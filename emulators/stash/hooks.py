"""What Stash hands a post-hook after a scene mutation.

Stash passes the mutation's *typed* Go input struct, JSON-encoded, as
``hookContext.input``: every field of the struct is present, unset ones as
null (the structs have no ``omitempty``), and ``inputFields`` names the
fields the request actually set. Scene.Create.Post carries neither (both
null). Scene.Destroy.Post carries the destroy input plus the scene's checksum,
oshash and path, and no input fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Scene

SCENE_UPDATE_POST = "Scene.Update.Post"
SCENE_CREATE_POST = "Scene.Create.Post"
SCENE_DESTROY_POST = "Scene.Destroy.Post"

#: models.SceneUpdateInput's JSON keys, in struct order.
SCENE_UPDATE_INPUT_KEYS = (
    "clientMutationId",
    "id",
    "title",
    "code",
    "details",
    "director",
    "url",
    "urls",
    "date",
    "rating100",
    "o_counter",
    "organized",
    "studio_id",
    "gallery_ids",
    "performer_ids",
    "movies",
    "groups",
    "tag_ids",
    "cover_image",
    "stash_ids",
    "resume_time",
    "play_duration",
    "play_count",
    "primary_file_id",
)

_GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def update_input(given: Mapping[str, Any]) -> dict[str, Any]:
    """The SceneUpdateInput struct as JSON: all keys, given values, nulls elsewhere."""
    shaped = {key: given.get(key) for key in SCENE_UPDATE_INPUT_KEYS}
    if given.get("groups") is not None:
        shaped["groups"] = [{"group_id": g["group_id"], "scene_index": g.get("scene_index")} for g in given["groups"]]
    if given.get("stash_ids") is not None:
        shaped["stash_ids"] = [
            {"stash_id": s["stash_id"], "endpoint": s["endpoint"], "updated_at": s.get("updated_at") or _GO_ZERO_TIME}
            for s in given["stash_ids"]
        ]
    return shaped


def destroy_input(given: Mapping[str, Any], scene: Scene) -> dict[str, Any]:
    """plugin.SceneDestroyInput: the destroy input plus what identified the files."""
    primary = scene.primary_file
    return {
        "id": given["id"],
        "delete_file": given.get("delete_file"),
        "delete_generated": given.get("delete_generated"),
        "checksum": "",  # md5 is not calculated by default
        "oshash": primary.oshash if primary else "",
        "path": primary.path if primary else "",
    }
