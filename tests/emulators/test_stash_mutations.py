"""Scene mutations and the post-hooks they fire, as a plugin host will see them.

Stash runs a mutation's post-hooks synchronously after the commit and before
the HTTP answer; the hook gets the typed input (every field, nulls included)
and the names of the fields the request set.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
import requests
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator
from emulators.stash.hooks import SCENE_UPDATE_INPUT_KEYS

API_KEY = "mutation-key"


class Recorder:
    """An on_mutation callback that remembers its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, Any, Any]] = []

    def __call__(self, hook_type: str, object_id: int, input: Any, input_fields: Any) -> None:
        self.calls.append((hook_type, object_id, input, input_fields))


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


def test_scene_update_changes_the_scene_and_fires_the_update_hook(stash: StashEmulator, client: StashInterface) -> None:
    tag = stash.add_tag("New tag")
    scene = stash.add_scene(title="Before", tag_ids=[])
    recorder = Recorder()
    stash.on_mutation = recorder

    assert client.update_scene({"id": scene, "title": "After", "tag_ids": [tag]}) == scene

    assert stash.scene(scene)["title"] == "After"
    assert stash.scene(scene)["tags"] == [{"id": tag, "name": "New tag"}]
    [(hook_type, object_id, hook_input, fields)] = recorder.calls
    assert (hook_type, object_id) == ("Scene.Update.Post", int(scene))
    assert list(hook_input) == list(SCENE_UPDATE_INPUT_KEYS)
    assert {k: v for k, v in hook_input.items() if v is not None} == {"id": scene, "title": "After", "tag_ids": [tag]}
    assert fields == ["id", "title", "tag_ids"]


def test_an_explicit_null_is_an_input_field_and_clears_the_value(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene(title="Named", rating100=40)
    recorder = Recorder()
    stash.on_mutation = recorder
    client.call_GQL(
        "mutation($in: SceneUpdateInput!) { sceneUpdate(input: $in) { id } }",
        {"in": {"id": scene, "title": None, "rating100": None}},
    )
    assert (stash.scene(scene)["title"], stash.scene(scene)["rating100"]) == ("", None)
    assert recorder.calls[0][3] == ["id", "title", "rating100"]


def test_the_hook_runs_after_commit_and_before_the_response(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene(title="Before")
    entered, release = threading.Event(), threading.Event()
    seen_by_hook: list[str] = []

    def slow_plugin(hook_type: str, object_id: int, input: Any, input_fields: Any) -> None:
        # a plugin reads the scene back over HTTP with its invocation's session cookie
        cookie = stash.new_session()
        answer = requests.post(
            stash.graphql_url,
            json={"query": f"{{ findScene(id: {object_id}) {{ title }} }}"},
            cookies={"session": cookie},
            timeout=10,
        )
        seen_by_hook.append(answer.json()["data"]["findScene"]["title"])
        entered.set()
        release.wait(timeout=10)

    stash.on_mutation = slow_plugin
    results: list[Any] = []
    mutation = threading.Thread(target=lambda: results.append(client.update_scene({"id": scene, "title": "After"})))
    mutation.start()
    assert entered.wait(timeout=10)
    assert seen_by_hook == ["After"]  # committed before the hook ran
    assert mutation.is_alive() and results == []  # the client still waits for its answer
    release.set()
    mutation.join(timeout=10)
    assert results == [scene]


def test_the_response_shows_what_the_hook_changed(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene(title="Original")
    stash.on_mutation = lambda hook_type, object_id, *_: stash.update_scene(str(object_id), details="by hook")
    result = client.call_GQL(
        "mutation($in: SceneUpdateInput!) { sceneUpdate(input: $in) { title details } }",
        {"in": {"id": scene, "title": "Edited"}},
    )
    assert result == {"sceneUpdate": {"title": "Edited", "details": "by hook"}}


def test_a_failing_hook_is_logged_and_the_mutation_still_succeeds(
    stash: StashEmulator, client: StashInterface, caplog: pytest.LogCaptureFixture
) -> None:
    scene = stash.add_scene(title="x")

    def broken(*_: Any) -> None:
        raise RuntimeError("plugin crashed")

    stash.on_mutation = broken
    with caplog.at_level(logging.ERROR, logger="emulators.stash.server"):
        assert client.update_scene({"id": scene, "title": "y"}) == scene
    assert stash.scene(scene)["title"] == "y"
    assert "Scene.Update.Post hook" in caplog.text and "plugin crashed" in caplog.text


def test_the_hook_can_learn_the_session_of_the_mutating_request(stash: StashEmulator) -> None:
    scene = stash.add_scene()
    cookie = stash.new_session()
    sessions: list[str | None] = []
    stash.on_mutation = lambda *_: sessions.append(stash.current_session())
    requests.post(
        stash.graphql_url,
        json={"query": f'mutation {{ sceneUpdate(input: {{id: {scene}, code: "C"}}) {{ id }} }}'},
        cookies={"session": cookie},
        timeout=10,
    )
    assert sessions == [cookie]
    assert stash.current_session() is None


def test_scene_create_fires_the_create_hook_without_input(stash: StashEmulator, client: StashInterface) -> None:
    studio = stash.add_studio("Studio")
    recorder = Recorder()
    stash.on_mutation = recorder
    created = client.create_scene({"title": "Made over GraphQL", "studio_id": studio})
    scene = stash.scene(created["id"])
    assert (scene["title"], scene["studio"]["name"], scene["files"]) == ("Made over GraphQL", "Studio", [])
    assert recorder.calls == [("Scene.Create.Post", int(created["id"]), None, None)]


def test_scene_create_without_title_or_files_is_refused(stash: StashEmulator, client: StashInterface) -> None:
    client.RAISE_GQL_ERRORS = True
    with pytest.raises(Exception, match="title must be set if scene has no files"):
        client.create_scene({"details": "no title"})
    assert stash.library.scenes == {}
    assert client.create_scene({"title": "titled"}) == {"id": "1"}  # the refused insert used no id


def test_scene_destroy_fires_the_destroy_hook_with_the_file(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene(files=[{"path": "/data/gone.mp4", "size": 1, "duration": 1.0}])
    oshash = stash.scene(scene)["files"][0]["fingerprints"][0]["value"]
    recorder = Recorder()
    stash.on_mutation = recorder
    assert client.destroy_scene(scene) is True
    assert recorder.calls == [
        (
            "Scene.Destroy.Post",
            int(scene),
            {
                "id": scene,
                "delete_file": False,
                "delete_generated": True,
                "checksum": "",
                "oshash": oshash,
                "path": "/data/gone.mp4",
            },
            None,
        )
    ]
    assert client.find_scene(int(scene), fragment="id") is None


def test_seeding_calls_do_not_fire_hooks(stash: StashEmulator) -> None:
    recorder = Recorder()
    stash.on_mutation = recorder
    scene = stash.add_scene(title="seeded")
    stash.update_scene(scene, title="changed")
    stash.destroy_scene(scene)
    assert recorder.calls == []


def test_a_destroyed_scene_can_be_restored_under_its_id(stash: StashEmulator) -> None:
    scene = stash.add_scene(title="Keep", files=[{"path": "/data/keep.mp4", "size": 5, "duration": 2.0}])
    stash.destroy_scene(scene)
    assert (
        stash.add_scene(title="Keep", files=[{"path": "/data/keep.mp4", "size": 5, "duration": 2.0}], id=scene) == scene
    )
    assert stash.scene(scene)["files"][0]["path"] == "/data/keep.mp4"
    assert int(stash.add_scene()) == int(scene) + 1


def test_mutation_errors_read_like_stash(stash: StashEmulator, client: StashInterface) -> None:
    scene = stash.add_scene()
    client.RAISE_GQL_ERRORS = True
    with pytest.raises(Exception, match="scene with id 999 not found"):
        client.update_scene({"id": 999, "title": "x"})
    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
        client.update_scene({"id": scene, "studio_id": 999})
    with pytest.raises(Exception, match="scene with id 999 not found"):
        client.destroy_scene(999)
