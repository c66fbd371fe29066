"""Hooks of performers, studios, tags and groups, as Stash sends them
(../shared/stash-plugins.md, "Which hooks carry what"; stashapp/stash
internal/api/resolver_mutation_tag.go): updates carry the whole update input
with nulls, destroys ``{"id"}`` or, from a bulk destroy, the bare id list, and
Tag.Merge.Post the destination's id with ``{"source", "destination"}``."""

from __future__ import annotations

import pytest

from plexsync.hooks import SHOWN_INPUT_FIELDS, HookInputError, RelatedChange, related_change_of, unshown_update


@pytest.mark.parametrize(
    ("hook_type", "kind", "change"),
    [
        ("Performer.Update.Post", "performer", "update"),
        ("Performer.Destroy.Post", "performer", "destroy"),
        ("Studio.Update.Post", "studio", "update"),
        ("Studio.Destroy.Post", "studio", "destroy"),
        ("Tag.Update.Post", "tag", "update"),
        ("Tag.Destroy.Post", "tag", "destroy"),
        ("Group.Update.Post", "group", "update"),
        ("Group.Destroy.Post", "group", "destroy"),
    ],
)
def test_updates_and_destroys_name_their_object(hook_type, kind, change):
    context = {"id": 7, "type": hook_type, "input": {"id": "7", "name": "x", "details": None}, "inputFields": ["id"]}
    assert related_change_of(context) == RelatedChange(kind, change, "7")
    assert related_change_of({"id": " 007 ", "type": hook_type}) == RelatedChange(kind, change, "7")


def test_a_bulk_destroy_whose_input_is_the_id_list_is_read_by_its_id():
    context = {"id": 3, "type": "Tag.Destroy.Post", "input": ["3", "4"]}
    assert related_change_of(context) == RelatedChange("tag", "destroy", "3")


def test_a_merge_names_its_destination_and_its_sources():
    context = {"id": 9, "type": "Tag.Merge.Post", "input": {"source": ["4", 5, "4", "9"], "destination": "9"}}
    change = related_change_of(context)
    assert change == RelatedChange("tag", "merge", "9", ("4", "5"))  # duplicates and the destination dropped
    assert change.describe() == "queued Plex sync of the scenes of tag 9 (merged from tag(s) 4, 5)"


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({"id": "abc", "type": "Tag.Update.Post"}, "hookContext.id 'abc' is not a tag id"),
        ({"id": 0, "type": "Performer.Destroy.Post"}, "hookContext.id 0 is not a performer id"),
        ({"id": 2**63, "type": "Studio.Update.Post"}, "is not a studio id"),
        ({"id": None, "type": "Group.Update.Post"}, "hookContext.id null is not a group id"),
        ({"id": True, "type": "Tag.Destroy.Post"}, "is not a tag id"),
        ({"id": "9" * 4400, "type": "Tag.Update.Post"}, "... (4400 characters) is not a tag id"),
        ({"id": 9, "type": "Tag.Merge.Post"}, "Tag.Merge.Post: hookContext.input.source null is not a list"),
        ({"id": 9, "type": "Tag.Merge.Post", "input": None}, "is not a list of the merged tag ids"),
        ({"id": 9, "type": "Tag.Merge.Post", "input": {"source": []}}, "source has 0 ids; a merge names 1 to"),
        ({"id": 9, "type": "Tag.Merge.Post", "input": {"source": "4"}}, "source '4' is not a list"),
        ({"id": 9, "type": "Tag.Merge.Post", "input": {"source": ["4", "x"]}}, "input.source 'x' is not a tag id"),
        ({"id": 9, "type": "Tag.Merge.Post", "input": {"source": [{"id": 4}]}}, "(an object) is not a tag id"),
        ({"id": 9, "type": "Tag.Merge.Post", "input": {"source": ["1"] * 10_001}}, "has 10001 ids"),
        ({"id": 9, "type": "Movie.Update.Post"}, "is not handled"),
        ({"id": 9, "type": "Scene.Update.Post"}, "is not a performer, studio, tag or group hook"),
    ],
)
def test_bad_input_is_refused_in_one_line(context, reason):
    with pytest.raises(HookInputError) as info:
        related_change_of(context)
    assert reason in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


# -- updates that change nothing Plex shows -------------------------------------

#: Which update-input field sets each field the scene fragment reads of a related object.
_INPUT_FIELD_OF = {"name": "name", "image_path": "image", "parent_studio": "parent_id"}
_FRAGMENT_KEYS = {"performer": "performers", "studio": "studio", "tag": "tags", "group": "group"}
_INPUT_TYPES = {
    "performer": "PerformerUpdateInput",
    "studio": "StudioUpdateInput",
    "tag": "TagUpdateInput",
    "group": "GroupUpdateInput",
}


def _fragment_subfields(key: str) -> set[str]:
    """The fields ``SCENE_FIELDS`` reads inside ``key { ... }`` (nested braces skipped)."""
    from graphql import parse

    from plexsync.stash.reader import SCENE_FIELDS

    def find(selections):
        for selection in selections:
            if selection.name.value == key and selection.selection_set:
                return {s.name.value for s in selection.selection_set.selections}
            if selection.selection_set:
                found = find(selection.selection_set.selections)
                if found:
                    return found
        return None

    fragment = parse(SCENE_FIELDS).definitions[0]
    return find(fragment.selection_set.selections) or set()


@pytest.mark.parametrize("kind", sorted(SHOWN_INPUT_FIELDS))
def test_the_fields_an_update_must_touch_are_those_the_scene_read_shows(kind):
    """A field added to the scene fragment without its input field here would
    leave Plex stale after an update hook that sets only that field."""
    read = _fragment_subfields(_FRAGMENT_KEYS[kind]) - {"id"}
    assert read, kind
    assert {_INPUT_FIELD_OF[name] for name in read} == set(SHOWN_INPUT_FIELDS[kind])


@pytest.mark.parametrize("kind", sorted(SHOWN_INPUT_FIELDS))
def test_the_shown_input_fields_exist_in_the_real_stash_update_inputs(kind):
    from tests.support import real_stash_schema

    fields = real_stash_schema().type_map[_INPUT_TYPES[kind]].fields
    assert set(SHOWN_INPUT_FIELDS[kind]) <= set(fields)


def _update(hook_type: str, fields) -> dict:
    return {"id": 7, "type": hook_type, "input": {"id": "7"}, "inputFields": fields}


def test_a_favourite_toggle_or_a_rating_changes_nothing_plex_shows():
    context = _update("Performer.Update.Post", ["id", "favorite"])
    reason = unshown_update(related_change_of(context), context)
    assert reason == "performer 7: favorite changed, which Plex does not show: no sync queued"
    context = _update("Studio.Update.Post", ["rating100", "id", "details"])
    assert unshown_update(related_change_of(context), context).startswith("studio 7: details, rating100 changed")


@pytest.mark.parametrize(
    ("hook_type", "fields"),
    [
        ("Performer.Update.Post", ["id", "name"]),
        ("Performer.Update.Post", ["image", "favorite"]),
        ("Studio.Update.Post", ["parent_id"]),
        ("Tag.Update.Post", ["id", "name", "description"]),
        ("Group.Update.Post", ["name"]),
        ("Tag.Update.Post", None),  # no inputFields: cannot tell, so sync
        ("Tag.Update.Post", []),
        ("Tag.Update.Post", "name"),  # not a list
        ("Tag.Update.Post", ["description", 5]),  # not Stash's: sync rather than guess
    ],
)
def test_an_update_that_may_change_what_plex_shows_is_synced(hook_type, fields):
    context = _update(hook_type, fields)
    assert unshown_update(related_change_of(context), context) is None


def test_destroys_and_merges_are_always_synced():
    context = {"id": 7, "type": "Tag.Destroy.Post", "input": {"id": "7"}, "inputFields": ["id"]}
    assert unshown_update(related_change_of(context), context) is None
    context = {"id": 9, "type": "Tag.Merge.Post", "input": {"source": ["4"]}, "inputFields": ["source"]}
    assert unshown_update(related_change_of(context), context) is None


def test_odd_field_names_stay_out_of_the_message():
    context = _update("Tag.Update.Post", ["id", "description", "x\n" * 50, "ünïcode"])
    reason = unshown_update(related_change_of(context), context)
    assert reason == "tag 7: description changed, which Plex does not show: no sync queued"
