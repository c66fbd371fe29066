"""Issue: a scene without a cover must not replace Plex's poster with Stash's placeholder.

Real Stash answers ``paths.screenshot`` of a coverless scene with its built-in
``scene.svg`` (HTTP 200, ``image/svg+xml``; ../shared/stash-plugins.md "No
cover"). Uploading it would swap the poster Plex found for a grey play button
and lock it there. End to end: GraphQL edits on the Stash emulator, the
plugin's hook through the plugin host, a real ``huey_consumer``.
"""

from __future__ import annotations

import base64

from stashapi.stashapp import StashInterface

from emulators.stash import images
from plexsync.stash.reader import StashReader
from tests.integration.conftest import STASH_API_KEY, World
from tests.integration.test_sync_end_to_end import POSTER_PATH, edit_scene
from tests.support import wait_until

PLEX_POSTER = images.png("the poster Plex's agent found")


def test_a_coverless_scene_keeps_its_plex_poster_until_stash_has_a_cover(world: World) -> None:
    scene_id, rating_key = world.add_scene("coverless", title="No cover", screenshot=False)
    assert rating_key is not None
    with world.plex.library.lock:
        world.plex.library.upload_image(world.plex.library.item(rating_key), "poster", PLEX_POSTER)
    assert world.stash.screenshot(scene_id) == images.SCENE_PLACEHOLDER_SVG
    world.start_consumer()
    world.host.attach()

    edit_scene(world, scene_id, title="Still no cover")

    item = wait_until(lambda: (i := world.plex.item(rating_key)).title == "Still no cover" and i, message="sync")
    wait_until(lambda: world.queued() == 0, message="queue drained")
    assert item.poster == PLEX_POSTER
    assert "thumb" not in item.locked and "title" in item.locked
    assert world.plex.requests_matching("POST", POSTER_PATH) == []
    assert world.stash.requests_matching("GET", rf"^/scene/{scene_id}/screenshot$")  # it did look

    cover = images.png("the cover the user set in Stash")
    edit_scene(world, scene_id, cover_image="data:image/png;base64," + base64.b64encode(cover).decode())

    item = wait_until(lambda: (i := world.plex.item(rating_key)).poster == cover and i, message="cover upload")
    assert "thumb" in item.locked
    assert len(world.plex.requests_matching("POST", POSTER_PATH)) == 1
    assert world.dead_letters() == []


def test_the_reader_recognises_every_stash_placeholder(world: World) -> None:
    """Through real HTTP: a scene's SVG answer, and ``default=true`` image URLs (not even fetched)."""
    connection = {"Scheme": "http", "Host": "127.0.0.1", "Port": world.stash.port, "ApiKey": STASH_API_KEY}
    reader = StashReader(connection, 10)
    coverless, _ = world.add_scene("reader-coverless", title="a", screenshot=False)
    covered, _ = world.add_scene("reader-covered", title="b")
    performer = world.stash.add_performer("No Photo")
    studio = world.stash.add_studio("No Logo")
    url_of = {sid: reader.scene(sid)["paths"]["screenshot"] for sid in (coverless, covered)}
    stashapi = StashInterface(dict(connection))
    found = stashapi.call_GQL(
        "query($p: ID!, $s: ID!) { findPerformer(id: $p) { image_path } findStudio(id: $s) { image_path } }",
        {"p": performer, "s": studio},
    )
    world.stash.clear_requests()

    assert reader.download(url_of[coverless]) is None
    assert reader.download(url_of[covered]) == world.stash.screenshot(covered)
    for image_url in (found["findPerformer"]["image_path"], found["findStudio"]["image_path"]):
        assert image_url.endswith("&default=true")
        assert reader.download(image_url) is None
    assert [r.path for r in world.stash.requests] == [f"/scene/{coverless}/screenshot", f"/scene/{covered}/screenshot"]
