"""Issue: a Stash edit reaches the Plex item, end to end, as a user runs it.

Edits are real GraphQL mutations on the Stash emulator, which (like Stash)
runs the plugin's hook process synchronously through the plugin host; a real
``huey_consumer`` does the sync against the Plex emulator.
"""

from __future__ import annotations

import re

import pytest
import requests

from emulators.stash import images
from tests.integration.conftest import STASH_API_KEY, World
from tests.support import SHARED, wait_until

EDIT_PATH = r"^/library/sections/\d+/all$"
POSTER_PATH = r"^/library/metadata/\d+/posters$"
SCENE_UPDATE = "mutation Edit($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }"


def edit_scene(world: World, scene_id: str, **fields) -> None:
    """What Stash's UI does when a user saves a scene."""
    response = requests.post(
        world.stash.graphql_url,
        json={"query": SCENE_UPDATE, "variables": {"input": {"id": scene_id, **fields}}},
        headers={"ApiKey": STASH_API_KEY},
        timeout=60,
    )
    response.raise_for_status()
    assert "errors" not in response.json(), response.json()


def test_scene_edit_in_stash_updates_the_plex_item_with_fields_locked(world: World):
    parent = world.stash.add_studio("Sunrise Media")
    studio = world.stash.add_studio("Golden Hour", parent_id=parent)
    tags = [world.stash.add_tag(name) for name in ("Beach", "Outdoor")]
    performers = [world.stash.add_performer(name) for name in ("Ann Example", "Bo Sample")]
    scene_id, rating_key = world.add_scene("sunset")
    world.start_consumer()
    world.host.attach()

    edit_scene(
        world,
        scene_id,
        title="Sunset Walk",
        details="A walk along the beach.",
        date="2021-06-15",
        studio_id=studio,
        tag_ids=tags,
        performer_ids=performers,
    )

    hook = world.host.invocations[-1]
    assert hook.kind == "hook" and hook.error is None, hook
    assert hook.output == f"queued Plex sync of scene {scene_id}"
    # the edit lands before the uploads: wait for the cover too
    item = wait_until(
        lambda: (
            (i := world.plex.item(rating_key)).title == "Sunset Walk"
            and i.poster == world.stash.screenshot(scene_id)
            and i
        ),
        message="sync",
    )
    assert item.summary == "A walk along the beach."
    assert item.originally_available_at == "2021-06-15" and item.year == 2021
    assert item.studio == "Golden Hour"
    assert item.genres == ["Beach", "Outdoor"]
    assert item.actors == ["Ann Example", "Bo Sample"]
    assert item.poster == world.stash.screenshot(scene_id)
    assert {"title", "summary", "studio", "originallyAvailableAt", "genre", "actor", "thumb"} <= item.locked
    assert world.dead_letters() == []


def test_removing_a_tag_or_performer_in_stash_removes_it_in_plex(world: World):
    tags = [world.stash.add_tag(name) for name in ("Keep", "Drop", "Also drop")]
    performers = [world.stash.add_performer(name) for name in ("Stays", "Leaves")]
    scene_id, rating_key = world.add_scene("lists", title="Lists", tag_ids=tags, performer_ids=performers)
    world.start_consumer()
    world.host.attach()
    edit_scene(world, scene_id, details="first sync")
    wait_until(lambda: world.plex.item(rating_key).genres == ["Also drop", "Drop", "Keep"], message="first sync")

    edit_scene(world, scene_id, tag_ids=tags[:1], performer_ids=performers[:1])
    item = wait_until(lambda: (i := world.plex.item(rating_key)).genres == ["Keep"] and i, message="removal")
    wait_until(lambda: world.plex.item(rating_key).actors == ["Stays"], message="actor removal")

    edit_scene(world, scene_id, tag_ids=[], performer_ids=[])
    item = wait_until(lambda: (i := world.plex.item(rating_key)).genres == [] and i, message="emptied")
    assert item.actors == []
    assert {"genre", "actor"} <= item.locked


def test_one_sync_sends_one_edit_and_uploads_the_cover_only_when_it_changed(world: World):
    scene_id, rating_key = world.add_scene("counted", title="Counted")
    world.start_consumer()
    world.host.attach()

    def sync_and_count(change) -> list:
        before = len(world.plex.requests)
        change()
        wait_until(lambda: world.queued() == 0 and len(world.plex.requests) > before, message="sync")
        wait_until(lambda: world.queued() == 0, message="queue drained")
        return [r for r in world.plex.requests[before:]]

    # The first sync of a worker also builds its Plex index (a few GETs).
    first = sync_and_count(lambda: edit_scene(world, scene_id, title="First"))
    # the cover as the poster and as the background
    assert [r.method for r in first if r.method != "GET"] == ["PUT", "POST", "POST"]
    assert world.plex.item(rating_key).title == "First"

    stash_before = len(world.stash.requests)
    second = sync_and_count(lambda: edit_scene(world, scene_id, title="Second"))
    # one read first: the rating key must still name the scene's item (Plex reuses a deleted item's key)
    assert [(r.method, r.path, r.status) for r in second] == [
        ("GET", f"/library/metadata/{rating_key}", 200),
        ("PUT", f"/library/sections/{world.section_id}/all", 200),
    ], second
    # Stash: the edit's own mutation, the worker's one scene query and its cover download. The
    # hook runs inside the mutation, so the worker's requests may be logged before the mutation's.
    stash_requests = sorted((r.method, r.path) for r in world.stash.requests[stash_before:])
    assert stash_requests == [("GET", f"/scene/{scene_id}/screenshot"), ("POST", "/graphql"), ("POST", "/graphql")]
    assert world.plex.item(rating_key).title == "Second"

    def new_cover() -> None:
        world.stash.update_scene(scene_id, cover=images.png("a new cover"))
        edit_scene(world, scene_id, title="Third")

    third = sync_and_count(new_cover)
    assert [r.method for r in third] == ["GET", "PUT", "POST", "POST"]
    posts = [r.path for r in third if r.method == "POST"]
    assert posts == [f"/library/metadata/{rating_key}/posters", f"/library/metadata/{rating_key}/arts"]
    assert world.plex.item(rating_key).poster == world.stash.screenshot(scene_id)


def test_sync_all_task_syncs_every_scene(world: World):
    scenes = world.add_scenes(25, prefix="bulk")
    world.start_consumer()
    result = world.host.run_task("Sync all scenes")
    assert result.error is None and "queued" in result.output
    for index, (_, rating_key) in enumerate(scenes):
        wait_until(lambda rk=rating_key, i=index: world.plex.item(rk).title == f"bulk title {i}", message="bulk sync")
    assert all(world.plex.item(rk).genres == ["bulk-tag"] for _, rk in scenes)


def test_unknown_scene_id_is_queued_by_the_hook_and_dead_lettered_by_the_worker(world: World):
    world.start_consumer()
    [hook] = world.host.fire_hook("Scene.Update.Post", 424242, {"id": "424242"}, ["id"])
    assert hook.error is None and hook.output == "queued Plex sync of scene 424242"
    [letter] = wait_until(world.dead_letters, message="dead letter")
    assert letter["scene_id"] == "424242"
    assert letter["error_class"] == "SceneNotFound"
    assert "does not exist in Stash" in letter["message"]
    assert letter["attempts"] == 1  # permanent: no retries wasted


def test_every_plex_request_of_a_sync_is_a_path_of_the_plex_spec(world: World):
    spec = SHARED / "plex-api-spec" / "plex-api-spec.yaml"
    if not spec.is_file():
        pytest.skip("../shared/plex-api-spec is absent")
    templates = [line.strip()[:-1] for line in spec.read_text().splitlines() if re.match(r"^  /\S*:$", line)]
    # plexapi itself lists sections at /library/sections, which the spec only has as /library/sections/all;
    # the notification socket is /:/websockets/notifications in plexapi's AlertListener, Tautulli and
    # PlexKodiConnect (years of real servers), where the spec spells it /:/websocket/notifications
    templates += ["/library/sections", "/:/websockets/notifications"]
    patterns = [re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$") for t in templates]
    scene_id, _ = world.add_scene("spec-check", title="Spec check")
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: any(r.method == "POST" for r in world.plex.requests), message="sync")
    paths = {r.path for r in world.plex.requests}
    assert paths and all(any(p.match(path) for p in patterns) for path in paths), paths
