"""Bulk sync by pages (plexsync.sync.bulk): a real consumer, the Stash and Plex
emulators, the plugin task as Stash runs it, and the CLI."""

from __future__ import annotations

import re

from plexsync.retrying import BACKOFF
from plexsync.tools.exitcodes import ExitCode
from tests.integration.conftest import PLEX_ROOT, World
from tests.integration.test_cli_status_doctor import cli
from tests.support import wait_until

EDIT = r"^/library/sections/\d+/all$"
POSTERS = r"^/library/metadata/\d+/posters$"
DETAIL = r"^/library/metadata/[\d,]+$"
#: Tries of one Plex request before its job sees the failure (plexsync.retrying).
TRIES = len(BACKOFF) + 1


def graphql_requests(world: World) -> int:
    return sum(r.path == "/graphql" for r in world.stash.requests)


def assert_synced(world: World, scenes: list[tuple[str, int]], prefix: str = "scene") -> None:
    for i, (scene_id, rating_key) in enumerate(scenes):
        item = world.plex.item(rating_key)
        assert item.title == f"{prefix} title {i}", i
        assert item.genres == [f"{prefix}-tag"] and item.poster == world.stash.screenshot(scene_id), i
        assert {"title", "genre", "thumb"} <= item.locked


def test_sync_all_of_300_scenes_reads_stash_by_pages_and_shows_progress_in_stash(world: World):
    scenes = world.add_scenes(300)
    world.start_consumer(workers=4)
    world.stash.clear_requests()
    result = world.host.run_task("Sync all scenes")  # follows the run until it is done
    assert result.error is None, result
    assert result.output.startswith("sync all: 300 of 300 scenes done by the worker"), result.output
    assert_synced(world, scenes)
    wait_until(lambda: world.queued() == 0, message="queue drained")
    # ids once, then one read per page of 100 (+ the worker's settings): far fewer than one per scene
    assert graphql_requests(world) < 300 / 10, graphql_requests(world)
    assert len(world.plex.requests_matching("PUT", EDIT)) == 300  # one edit per scene
    assert len(world.plex.requests_matching("POST", POSTERS)) == 300
    # each item is read once before its write (is the rating key still this item?), ten to a request
    reads = [r.path.rsplit("/", 1)[1].split(",") for r in world.plex.requests_matching("GET", DETAIL)]
    assert sorted(int(key) for keys in reads for key in keys) == sorted(key for _, key in scenes)
    assert max(map(len, reads)) == 10 and len(reads) < 300 / 5, [len(keys) for keys in reads]  # pages split by 10
    progress = result.progress
    assert progress and progress == sorted(progress) and progress[-1] == 1.0, progress
    assert any(
        re.fullmatch(r"PlexSync Sync all scenes: \d+ of 300 scenes synced \(\d+/s\)", m)
        for m in result.messages("info")
    )
    assert world.dead_letters() == []
    assert not [line for line in world.logs().splitlines() if "sync_scene" in line and "Executing" in line]


def test_a_chunk_read_in_one_request_still_tells_a_reused_rating_key_from_its_item(world: World):
    """Sync all reads a chunk's items in one request before writing them
    (PlexWriter.reading_ahead). One item was deleted and an unrelated file's item
    got its rating key (SQLite rowid reuse, as Tautulli #2767 saw): that answer
    holds another file, so the scene is not written into the new item; the rest of
    the chunk is written from the same read."""
    scenes = world.add_scenes(5)
    world.start_consumer()
    assert world.host.run_task("Sync all scenes").error is None
    assert_synced(world, scenes)
    gone_scene, gone_key = scenes[-1]  # the newest item: its key is the one reused
    world.plex.delete_item(gone_key)
    unrelated = world.plex.add_movie(world.section_id, [f"{PLEX_ROOT}/movies/unrelated.mp4"], title="Unrelated")
    assert unrelated == gone_key
    for scene_id, _ in scenes:
        world.stash.update_scene(scene_id, title=f"renamed {scene_id}")
    world.plex.clear_requests()
    assert world.host.run_task("Sync all scenes").error is None
    wait_until(lambda: world.queued() == 0, message="the handed-off scene's own job")
    reads = [r.path for r in world.plex.requests_matching("GET", DETAIL)]
    assert len(reads) >= 1 and len(reads[0].rsplit("/", 1)[1].split(",")) == 5, reads
    assert [world.plex.item(key).title for _, key in scenes[:-1]] == [f"renamed {s}" for s, _ in scenes[:-1]]
    assert world.plex.item(unrelated).title == "Unrelated"
    wait_until(lambda: f"scene {gone_scene}" in world.logs() and "no Plex item has the file" in world.logs())


def test_a_chunk_whose_read_ahead_plex_refuses_is_read_item_by_item(world: World):
    """The spec documents ``GET /library/metadata/{ids}`` as "one or more metadata items"
    but not what Plex answers when one of them was deleted: should it be 404, each
    item is read on its own and nothing is handed off or lost."""
    scenes = world.add_scenes(4)
    world.start_consumer()
    world.plex.faults.add(r"^/library/metadata/\d+(,\d+)+$", method="GET", status=404)
    result = world.host.run_task("Sync all scenes")
    assert result.error is None and "handed to a job of their own" not in result.output, result
    assert_synced(world, scenes)
    singles = world.plex.requests_matching("GET", r"^/library/metadata/\d+$")
    assert sorted(int(r.path.rsplit("/", 1)[1]) for r in singles) == sorted(key for _, key in scenes)


def test_a_scene_failing_inside_a_page_is_retried_on_its_own_and_dead_lettered_if_it_keeps_failing(world: World):
    scenes = world.add_scenes(40)
    (flaky_id, flaky_rk), (broken_id, broken_rk) = scenes[5], scenes[17]
    # the flaky item's cover upload fails every try of the page's attempt, then works
    world.plex.faults.add(rf"^/library/metadata/{flaky_rk}/posters$", method="POST", status=500, times=TRIES)
    world.plex.faults.add(rf"^/library/metadata/{broken_rk}/posters$", method="POST", status=500)  # always
    world.start_consumer(workers=2, PLEXSYNC_RETRIES="1")
    world.stash.clear_requests()
    result = world.host.run_task("Sync all scenes")
    assert result.error is None, result
    assert "2 failed inside a page and were queued on their own" in result.output, result.output
    wait_until(lambda: world.plex.item(flaky_rk).poster == world.stash.screenshot(flaky_id), message="flaky synced")
    [letter] = wait_until(world.dead_letters, timeout=60, message="the broken scene's dead letter")
    assert letter["scene_id"] == broken_id and letter["task_name"] == "sync_scene"
    wait_until(lambda: world.queued() == 0, message="queue drained")
    others = [scene for scene in scenes if scene[0] not in (flaky_id, broken_id)]
    for i, (scene_id, rating_key) in enumerate(scenes):
        if (scene_id, rating_key) in others:
            assert world.plex.item(rating_key).title == f"scene title {i}"
    logs = world.logs()
    for scene_id in (flaky_id, broken_id):
        assert re.search(rf"scene {scene_id} failed inside a bulk page \(.*\); queued on its own", logs)
    assert re.search(rf"scene {flaky_id} synced: ", logs)  # by its own job


def test_a_user_edit_during_a_bulk_sync_goes_ahead_and_wins(world: World):
    scenes = world.add_scenes(60, prefix="bulk")
    world.plex.faults.add(EDIT, method="PUT", delay=0.2)  # the pages take seconds
    world.start_consumer(workers=1)  # one worker: the edit can only go ahead if the page makes way
    task = world.host.start_task("Sync all scenes")
    first_rk = scenes[0][1]
    wait_until(lambda: world.plex.item(first_rk).title == "bulk title 0", timeout=60, message="the page started")
    last_id, last_rk = scenes[-1]
    world.stash.update_scene(last_id, title="edited meanwhile")
    [hook] = world.host.fire_hook("Scene.Update.Post", int(last_id), {"id": last_id}, ["id"])
    assert hook.error is None
    wait_until(lambda: world.plex.item(last_rk).title == "edited meanwhile", timeout=60, message="edit synced")
    synced_before = sum(world.plex.item(rk).title.startswith("bulk title") for _, rk in scenes[:-1])
    assert synced_before < 40, synced_before  # it did not wait for the whole page
    result = task.wait(120)
    assert result.output.startswith("sync all: 60 of 60 scenes done"), result.output
    wait_until(lambda: world.queued() == 0, message="queue drained")
    assert world.plex.item(last_rk).title == "edited meanwhile"  # the page never wrote its older copy over it
    assert all(world.plex.item(rk).title == f"bulk title {i}" for i, (_, rk) in enumerate(scenes[:-1]))
    assert world.dead_letters() == []


def test_cli_sync_all_reads_by_pages(world: World):
    scenes = world.add_scenes(250)
    world.stash.clear_requests()
    result = cli(world, "sync", "--all", "--jobs", "3")
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    assert "syncing 250 scene(s) from Stash" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "250 synced, 0 failed, 0 outside Plex"
    assert_synced(world, scenes)
    assert graphql_requests(world) < 250 / 10, graphql_requests(world)
