"""Mutations of performers, studios, tags and groups: the hooks they fire and
what they do to the scenes that use them.

Read from stashapp/stash cf3489e:

- ``internal/api/resolver_mutation_{performer,studio,tag,group}.go``: an update
  fires ``<Kind>.Update.Post`` with the typed update input (every key, null
  unless set) and the set fields; a destroy fires ``<Kind>.Destroy.Post`` with
  the destroy input ``{"id"}``, the bulk ``<kind>sDestroy(ids)`` with the id list
  itself as the input; ``tagsMerge`` fires ``Tag.Merge.Post`` for the
  destination with ``{"source", "destination"}`` and no input fields; groups
  fire ``Group.*`` and the deprecated ``Movie.*`` hooks both; ``performerMerge``
  fires nothing.
- ``pkg/sqlite/{tag,performer}.go``: renames write the object's own row;
  destroys delete join rows by foreign-key cascade (a scene's studio is set
  null); merges rewrite the join tables with ``UPDATE OR IGNORE`` and delete the
  sources. None of them goes through the scene store, so **no scene's
  updated_at moves**: a reconcile by updated_at cannot see them.
- ``pkg/scene/update.go`` (``AddTag``/``AddPerformer``, which Auto Tag uses) and
  ``pkg/scene/merge.go`` go through ``UpdatePartial`` with a
  ``NewScenePartial()``, which stamps updated_at: Auto Tag and sceneMerge move
  the updated_at of the scenes they change, and fire no hook.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator
from emulators.stash.hooks import UPDATE_INPUT_KEYS


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, Any, Any]] = []

    def __call__(self, hook_type: str, object_id: int, input: Any, input_fields: Any) -> None:
        self.calls.append((hook_type, object_id, input, input_fields))


class Clock:
    """A clock a test steps, so that a changed updated_at would show."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def step(self) -> None:
        self.now += timedelta(seconds=5)


@pytest.fixture
def clock(stash: StashEmulator) -> Clock:
    stepped = Clock()
    stash.clock = stepped
    return stepped


def _gql(client: StashInterface, query: str, **variables: Any) -> dict[str, Any]:
    return client.call_GQL(query, variables)


@pytest.mark.parametrize(
    ("kind", "mutation", "hook_type"),
    [
        ("performer", "performerUpdate(input: $in) { name }", "Performer.Update.Post"),
        ("studio", "studioUpdate(input: $in) { name }", "Studio.Update.Post"),
        ("tag", "tagUpdate(input: $in) { name }", "Tag.Update.Post"),
        ("group", "groupUpdate(input: $in) { name }", "Group.Update.Post"),
    ],
)
def test_a_rename_fires_the_update_hook_and_leaves_scenes_updated_at(
    stash: StashEmulator, client: StashInterface, clock: Clock, kind: str, mutation: str, hook_type: str
) -> None:
    object_id = getattr(stash, f"add_{kind}")("Old name")
    link = {
        "performer": {"performer_ids": [object_id]},
        "studio": {"studio_id": object_id},
        "tag": {"tag_ids": [object_id]},
        "group": {"groups": [(object_id, 1)]},
    }[kind]
    scene = stash.add_scene(title="uses it", **link)
    before = stash.scene(scene)["updated_at"]
    clock.step()
    recorder = Recorder()
    stash.on_mutation = recorder
    input_type = f"{kind.capitalize()}UpdateInput"

    answer = _gql(
        client, f"mutation($in: {input_type}!) {{ {mutation} }}", **{"in": {"id": object_id, "name": " New "}}
    )

    assert next(iter(answer.values()))["name"] == "New"
    hook_type_seen, hook_id, hook_input, fields = recorder.calls[0]
    assert (hook_type_seen, hook_id, fields) == (hook_type, int(object_id), ["id", "name"])
    assert list(hook_input) == list(UPDATE_INPUT_KEYS[kind])
    assert {k: v for k, v in hook_input.items() if v is not None} == {"id": object_id, "name": " New "}
    if kind == "group":
        assert [call[0] for call in recorder.calls] == ["Group.Update.Post", "Movie.Update.Post"]
    assert stash.scene(scene)["updated_at"] == before


def test_destroying_a_tag_removes_it_from_scenes_without_moving_their_updated_at(
    stash: StashEmulator, client: StashInterface, clock: Clock
) -> None:
    doomed, kept = stash.add_tag("doomed"), stash.add_tag("kept")
    scene = stash.add_scene(title="tagged", tag_ids=[doomed, kept])
    before = stash.scene(scene)["updated_at"]
    clock.step()
    recorder = Recorder()
    stash.on_mutation = recorder

    assert _gql(client, "mutation($in: TagDestroyInput!) { tagDestroy(input: $in) }", **{"in": {"id": doomed}})

    assert [t["name"] for t in stash.scene(scene)["tags"]] == ["kept"]
    assert stash.scene(scene)["updated_at"] == before
    assert recorder.calls == [("Tag.Destroy.Post", int(doomed), {"id": doomed}, None)]


def test_a_bulk_destroy_fires_one_hook_per_object_with_the_id_list_as_input(
    stash: StashEmulator, client: StashInterface
) -> None:
    first, second = stash.add_performer("A"), stash.add_performer("B")
    recorder = Recorder()
    stash.on_mutation = recorder
    assert _gql(client, "mutation($ids: [ID!]!) { performersDestroy(ids: $ids) }", ids=[first, second])
    assert recorder.calls == [
        ("Performer.Destroy.Post", int(first), [first, second], None),
        ("Performer.Destroy.Post", int(second), [first, second], None),
    ]
    assert stash.library.performers == {}


def test_destroying_a_studio_leaves_its_scenes_without_a_studio(stash: StashEmulator, client: StashInterface) -> None:
    parent = stash.add_studio("Parent")
    child = stash.add_studio("Child", parent_id=parent)
    scene = stash.add_scene(title="s", studio_id=parent)
    _gql(client, "mutation($in: StudioDestroyInput!) { studioDestroy(input: $in) }", **{"in": {"id": parent}})
    assert stash.scene(scene)["studio"] is None
    assert stash.library.studios[int(child)].parent_id is None


def test_tags_merge_moves_scenes_to_the_destination_and_fires_the_merge_hook(
    stash: StashEmulator, client: StashInterface, clock: Clock
) -> None:
    old, also_old, new = stash.add_tag("old"), stash.add_tag("also old"), stash.add_tag("new")
    both = stash.add_scene(title="both", tag_ids=[old, new])
    only_old = stash.add_scene(title="only old", tag_ids=[also_old, old])
    before = stash.scene(only_old)["updated_at"]
    clock.step()
    recorder = Recorder()
    stash.on_mutation = recorder

    merged = _gql(
        client,
        "mutation($in: TagsMergeInput!) { tagsMerge(input: $in) { id name } }",
        **{"in": {"source": [old, also_old], "destination": new}},
    )

    assert merged["tagsMerge"] == {"id": new, "name": "new"}
    assert [t["name"] for t in stash.scene(both)["tags"]] == ["new"]
    assert [t["name"] for t in stash.scene(only_old)["tags"]] == ["new"]
    assert stash.scene(only_old)["updated_at"] == before
    assert set(stash.library.tags) == {int(new)}
    assert recorder.calls == [("Tag.Merge.Post", int(new), {"source": [old, also_old], "destination": new}, None)]


def test_performer_merge_fires_no_hook_and_moves_no_updated_at(
    stash: StashEmulator, client: StashInterface, clock: Clock
) -> None:
    source, destination = stash.add_performer("Alias"), stash.add_performer("Real")
    scene = stash.add_scene(title="s", performer_ids=[source])
    before = stash.scene(scene)["updated_at"]
    clock.step()
    recorder = Recorder()
    stash.on_mutation = recorder
    _gql(
        client,
        "mutation($in: PerformerMergeInput!) { performerMerge(input: $in) { id } }",
        **{"in": {"source": [source], "destination": destination}},
    )
    assert [p["name"] for p in stash.scene(scene)["performers"]] == ["Real"]
    assert stash.scene(scene)["updated_at"] == before
    assert recorder.calls == []


def test_refusals_read_like_stash(stash: StashEmulator) -> None:
    taken, other = stash.add_tag("Taken"), stash.add_tag("Other")
    for query, variables, message in [
        ("mutation($in: TagUpdateInput!) { tagUpdate(input: $in) { id } }",
         {"in": {"id": other, "name": "taken"}}, "tag with name 'taken' already exists"),
        ("mutation($in: TagDestroyInput!) { tagDestroy(input: $in) }",
         {"in": {"id": "999"}}, "tag with id 999 not found"),
        ("mutation($in: TagsMergeInput!) { tagsMerge(input: $in) { id } }",
         {"in": {"source": [taken], "destination": taken}}, "cannot merge where source == destination"),
    ]:  # fmt: skip
        answer = requests.post(stash.graphql_url, json={"query": query, "variables": variables}, timeout=5).json()
        assert [error["message"] for error in answer["errors"]] == [message]
