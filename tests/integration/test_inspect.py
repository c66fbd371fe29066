"""``plexsync inspect SCENE_ID`` (#18.11) and the scene page's plugin operation
answer from PlexSync's own state: Plex is not asked (its request log shows it),
Stash only for the files of a scene PlexSync never looked up, and no secret
reaches the answer."""

from __future__ import annotations

import json

from tests.integration.conftest import PLEX_TOKEN, STASH_API_KEY, World
from tests.integration.test_cli_status_doctor import cli
from tests.support import wait_until


def test_inspect_tells_each_scene_where_it_is_in_plex_or_why_not(world: World):
    synced, rating_key = world.add_scene("in-plex", title="Harbour Lights")
    fallback = world.stash.add_scene(
        title="Moved", files=[{"path": "/data/stash/old-place/moved.mp4", "size": 4321, "duration": 60.0}]
    )
    moved_key = world.plex.add_movie(world.section_id, files=["/media/plex/movies/new-place/moved.mp4"], sizes=[4321])
    outside = world.stash.add_scene(title="Far", files=[{"path": "/data/stash/elsewhere/far.mp4", "size": 1}])
    never, _ = world.add_scene("never-synced", title="Untouched")
    world.start_consumer()
    for scene_id in (synced, fallback, outside):
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: len(world.state_rows("scene_match")) == 3, timeout=60, message="three matches recorded")
    wait_until(lambda: world.queued() == 0, timeout=60, message="nothing queued")
    plex_requests = len(world.plex.requests)

    shown = cli(world, "inspect", synced)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith(f"Scene {synced}: In Plex\n  In Plex as Plex item {rating_key}, last written")
    assert "file: /data/stash/movies/in-plex.mp4 -> Plex /media/plex/movies/in-plex.mp4" in out
    assert "match: matched by path (library Movies)" in out
    assert f"Plex item {rating_key}: written: " in out and "title" in out and "poster" in out
    machine = world.plex.library.machine_identifier
    link = f"{world.plex.url}/web/index.html#!/server/{machine}/details?key=%2Flibrary%2Fmetadata%2F{rating_key}"
    assert f"open in Plex: {link}" in out

    out = cli(world, "inspect", fallback).stdout
    assert f"In Plex as Plex item {moved_key}" in out
    assert "matched by file name and size only (a path rule is missing or wrong)" in out
    assert "path rule: add /data/stash/old-place=/media/plex/movies/new-place to Path rules" in out

    out = cli(world, "inspect", outside).stdout
    assert f"Scene {outside}: Not in Plex" in out and "outside every Plex library" in out

    assert len(world.plex.requests) == plex_requests  # Plex was asked nothing

    out = cli(world, "inspect", never).stdout  # never looked up: its files come from Stash
    assert f"Scene {never} (Untouched): Not synced yet" in out
    assert "file: /data/stash/movies/never-synced.mp4\n" in out

    answer = json.loads(cli(world, "inspect", "--json", synced).stdout)
    assert answer["state"] == "synced" and answer["items"][0]["open_url"] == link

    assert cli(world, "inspect", "abc").returncode == 2  # a usage error, one line
    missing = cli(world, "inspect", "999")
    assert missing.returncode == 1 and "Stash has no scene 999" in missing.stderr


def test_the_panel_operation_answers_json_without_secrets_and_refuses_a_bad_scene_id(world: World):
    scene_id, rating_key = world.add_scene("panel-op", title="Quiet Shore")
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: world.plex.item(rating_key).title == "Quiet Shore", timeout=60, message="synced")

    answer = world.host.run_operation({"mode": "scene_panel", "scene_id": scene_id})
    assert answer.error is None, answer
    assert answer.output["state"] == "synced" and answer.output["items"][0]["rating_key"] == rating_key
    assert answer.output["worker"]["alive"] is True
    assert answer.logs == []  # nothing in Stash's log for a page opened
    for secret in (PLEX_TOKEN, STASH_API_KEY, answer.stdin["server_connection"]["SessionCookie"]["Value"]):
        assert secret not in answer.stdout

    refused = world.host.run_operation({"mode": "scene_panel", "scene_id": "12; drop"})
    assert refused.error == "PlexSync: args.scene_id is not a scene id ('12; drop'; scene ids are whole numbers)"
