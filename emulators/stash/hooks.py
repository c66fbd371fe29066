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


# -- studios, performers, tags, groups -----------------------------------------------
# Their Update.Post hooks carry the update input struct the same way (every key,
# null unless set); Destroy.Post carries the destroy input (``{"id"}``), or, from
# the bulk ``performersDestroy``/``studiosDestroy``/``tagsDestroy``, the list of
# ids itself; Tag.Merge.Post fires for the destination with the TagsMergeInput
# and no input fields. Groups fire Group.* and the deprecated Movie.* hooks both.
# ``performerMerge`` fires nothing (internal/api/resolver_mutation_*.go).
PERFORMER_UPDATE_POST = "Performer.Update.Post"
PERFORMER_DESTROY_POST = "Performer.Destroy.Post"
STUDIO_UPDATE_POST = "Studio.Update.Post"
STUDIO_DESTROY_POST = "Studio.Destroy.Post"
TAG_UPDATE_POST = "Tag.Update.Post"
TAG_DESTROY_POST = "Tag.Destroy.Post"
TAG_MERGE_POST = "Tag.Merge.Post"
GROUP_UPDATE_POST = "Group.Update.Post"
GROUP_DESTROY_POST = "Group.Destroy.Post"
MOVIE_UPDATE_POST = "Movie.Update.Post"
MOVIE_DESTROY_POST = "Movie.Destroy.Post"

#: The JSON keys of each update input struct, in struct order: models.PerformerUpdateInput
#: and models.StudioUpdateInput (pkg/models), and the gqlgen-generated TagUpdateInput and
#: GroupUpdateInput (schema order).
UPDATE_INPUT_KEYS = {
    "performer": (
        "id", "name", "disambiguation", "url", "urls", "gender", "birthdate", "ethnicity", "country",
        "eye_color", "height", "height_cm", "measurements", "fake_tits", "penis_length", "circumcised",
        "career_length", "tattoos", "piercings", "aliases", "alias_list", "twitter", "instagram", "favorite",
        "tag_ids", "image", "stash_ids", "rating100", "details", "death_date", "hair_color", "weight",
        "ignore_auto_tag", "custom_fields",
    ),
    "studio": (
        "id", "name", "url", "urls", "parent_id", "image", "stash_ids", "rating100", "favorite", "details",
        "aliases", "tag_ids", "ignore_auto_tag",
    ),
    "tag": (
        "id", "name", "sort_name", "description", "aliases", "ignore_auto_tag", "favorite", "image",
        "stash_ids", "parent_ids", "child_ids",
    ),
    "group": (
        "id", "name", "aliases", "duration", "date", "rating100", "studio_id", "director", "synopsis", "urls",
        "tag_ids", "containing_groups", "sub_groups", "front_image", "back_image",
    ),
}  # fmt: skip


def object_update_input(kind: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """A performer/studio/tag/group update input struct as JSON: all keys, given values, nulls elsewhere."""
    return {key: given.get(key) for key in UPDATE_INPUT_KEYS[kind]}
