"""Hooks of performers, studios, tags and groups, as Stash sends them
(../shared/stash-plugins.md, "Which hooks carry what"; stashapp/stash
internal/api/resolver_mutation_tag.go): updates carry the whole update input
with nulls, destroys ``{"id"}`` or, from a bulk destroy, the bare id list, and
Tag.Merge.Post the destination's id with ``{"source", "destination"}``."""

from __future__ import annotations

import pytest

from plexsync.hooks import HookInputError, RelatedChange, related_change_of


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
