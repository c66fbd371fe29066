"""Play activity in the emulated Stash, against the real schema.

From ../shared/stash-schema and Stash's source (stashapp/stash): ``sceneAddPlay(id,
times: [Timestamp!])`` inserts one ``scenes_view_dates`` row per time (now when
none) and answers ``HistoryMutationResult { count history }`` with the scene's
whole history, newest first; ``sceneSaveActivity(id, resume_time, playDuration)``
sets ``resume_time`` when given and **adds** ``playDuration`` to ``play_duration``
(``play_duration + ?``). Neither fires a hook (../shared/stash-plugins.md) nor
stamps ``updated_at``. ``rating100`` is set through ``sceneUpdate``, which fires
``Scene.Update.Post`` with the input and its fields.
"""

from __future__ import annotations

from typing import Any

from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator

ADD_PLAY = "mutation($id: ID!, $times: [Timestamp!]) { sceneAddPlay(id: $id, times: $times) { count history } }"
SAVE = "mutation($id: ID!, $r: Float, $d: Float) { sceneSaveActivity(id: $id, resume_time: $r, playDuration: $d) }"


def test_plays_and_activity_fire_no_hook_and_leave_updated_at(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene(title="Watched")
    before = stash.scene(scene)["updated_at"]
    fired: list[Any] = []
    stash.on_mutation = lambda *call: fired.append(call)

    first = client.call_GQL(ADD_PLAY, {"id": scene, "times": ["2024-05-01T10:00:00Z"]})["sceneAddPlay"]
    second = client.call_GQL(ADD_PLAY, {"id": scene, "times": ["2024-06-01T10:00:00+02:00"]})["sceneAddPlay"]
    assert first == {"count": 1, "history": ["2024-05-01T10:00:00Z"]}
    assert second == {"count": 2, "history": ["2024-06-01T08:00:00Z", "2024-05-01T10:00:00Z"]}
    client.call_GQL(SAVE, {"id": scene, "r": 95.5, "d": 100.0})
    client.call_GQL(SAVE, {"id": scene, "d": 20.0})

    read = stash.scene(scene)
    assert (read["play_count"], read["last_played_at"], read["resume_time"], read["play_duration"]) == (
        2,
        "2024-06-01T08:00:00Z",
        95.5,
        120.0,
    )
    assert read["updated_at"] == before
    assert fired == []


def test_a_rating_through_scene_update_fires_the_update_hook(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene(title="Rated")
    fired: list[Any] = []
    stash.on_mutation = lambda *call: fired.append(call)
    client.call_GQL(
        "mutation($in: SceneUpdateInput!) { sceneUpdate(input: $in) { id } }", {"in": {"id": scene, "rating100": 80}}
    )
    assert stash.scene(scene)["rating100"] == 80
    [(hook_type, _, hook_input, fields)] = fired
    assert (hook_type, hook_input["rating100"], fields) == ("Scene.Update.Post", 80, ["id", "rating100"])


def test_a_play_of_an_unknown_scene_fails(stash: StashEmulator, client: StashInterface) -> None:
    answer = stash_answer(stash, ADD_PLAY, {"id": "999"})
    assert answer["errors"][0]["message"] == "scene with id 999 not found"


def stash_answer(stash: StashEmulator, query: str, variables: dict) -> dict:
    import requests

    return requests.post(stash.graphql_url, json={"query": query, "variables": variables}, timeout=5).json()
