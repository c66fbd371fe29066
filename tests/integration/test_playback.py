"""Issue #10: plays, resume points and ratings made in Plex reach Stash, once.

Through the emulators with real consumers: Plex's account plays, stops
halfway and rates (the emulator's helpers do what a Plex client's requests
do), Stash's task "Copy from Plex now" queues the copy, and the scenes'
``play_count``, ``play_history``, ``resume_time`` and ``rating100`` are read
back over GraphQL. ``shared_world`` runs each test on one machine (SQLite)
and on machines sharing Redis and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
import unicodedata

import requests

from tests.integration.conftest import PLEX_ROOT, STASH_API_KEY, STASH_ROOT, World
from tests.support import wait_until

PLAYED_AT = 1_780_000_000  # Plex's viewedAt of the plays below (Unix seconds)


def copy_from_plex(world: World, runs_before: int | None = None) -> None:
    """Stash's task "Copy from Plex now", then wait until a copy finished and nothing is queued."""
    before = finished_runs(world) if runs_before is None else runs_before
    result = world.host.run_task("Copy from Plex now")
    assert result.error is None, result
    wait_until(lambda: finished_runs(world) > before, timeout=60, message="a copy from Plex finished")
    wait_until(lambda: world.queued() == 0, timeout=60, message="nothing queued")


def finished_runs(world: World) -> float:
    rows = world.state_rows("playback_run")
    return max((row["finished_at"] or 0 for row in rows), default=0)


def scene(world: World, scene_id: str) -> dict:
    return world.stash.scene(scene_id)


def rate_in_stash(world: World, scene_id: str, rating100: int) -> None:
    """As Stash's UI saves a rating: a sceneUpdate, which fires Scene.Update.Post."""
    answer = requests.post(
        world.stash.graphql_url,
        json={
            "query": "mutation($in: SceneUpdateInput!) { sceneUpdate(input: $in) { id } }",
            "variables": {"in": {"id": scene_id, "rating100": rating100}},
        },
        headers={"ApiKey": STASH_API_KEY},
        timeout=10,
    )
    assert "errors" not in answer.json(), answer.text


def rate_requests(world: World) -> int:
    return sum(r.path == "/:/rate" for r in world.plex.requests)


def test_a_play_a_partial_play_and_a_rating_reach_stash_once(shared_world: World) -> None:
    world = shared_world
    (watched, watched_rk), (started, started_rk) = world.add_scene("watched"), world.add_scene("started")
    world.start_consumers(2)
    world.plex.play(watched_rk, at=PLAYED_AT)
    world.plex.partial_play(started_rk, 125_500)
    world.plex.rate(watched_rk, 8.0)

    copy_from_plex(world)

    assert scene(world, watched)["play_count"] == 1
    assert scene(world, watched)["play_history"] == ["2026-05-28T20:26:40Z"]
    assert scene(world, watched)["rating100"] == 80
    assert (scene(world, started)["play_count"], scene(world, started)["resume_time"]) == (0, 125.5)
    assert scene(world, started)["play_duration"] == 125.5
    # the rating's Scene.Update.Post ran the sync into Plex, which wrote no rating back
    wait_until(lambda: world.queued() == 0, message="the hook's sync ran")
    assert rate_requests(world) == 0

    copy_from_plex(world)  # again: nothing new
    assert scene(world, watched)["play_count"] == 1
    assert scene(world, started)["play_duration"] == 125.5

    world.plex.play(watched_rk, at=PLAYED_AT + 60)
    world.plex.partial_play(started_rk, 200_500)
    copy_from_plex(world)
    assert scene(world, watched)["play_count"] == 2
    assert (scene(world, started)["resume_time"], scene(world, started)["play_duration"]) == (200.5, 200.5)
    status = world.host.run_task("Status")
    assert "2 play(s)" not in status.stdout  # the last run's counts, not totals
    assert "from Plex" in status.stdout and "1 play(s), 1 resume point(s), 0 rating(s)" in status.stdout

    # a player that was offline reports a view from before the last copy
    world.plex.play(watched_rk, at=PLAYED_AT - 3600)
    copy_from_plex(world)
    assert scene(world, watched)["play_count"] == 3


def test_two_consumers_copying_at_once_add_each_play_once(shared_world: World) -> None:
    """The first copy stalls in Stash's sceneAddPlay while the second runs on another consumer."""
    world = shared_world
    scenes = [world.add_scene(f"movie-{n}") for n in range(3)]
    world.start_consumers(2, workers=1)
    for n, (_, rating_key) in enumerate(scenes):
        world.plex.play(rating_key, at=PLAYED_AT + n)
    stalled, release = threading.Event(), threading.Event()

    def stall_first(mutation: str, scene_id: int) -> None:
        if not stalled.is_set():
            stalled.set()
            release.wait(timeout=20)

    world.stash.on_activity = stall_first
    before = finished_runs(world)
    assert world.host.run_task("Copy from Plex now").error is None
    assert stalled.wait(timeout=30)
    assert world.host.run_task("Copy from Plex now").error is None  # taken by the idle consumer
    wait_until(lambda: finished_runs(world) > before, timeout=30, message="the second copy finished")
    release.set()
    wait_until(lambda: world.queued() == 0, timeout=60, message="both copies done")
    assert [scene(world, scene_id)["play_count"] for scene_id, _ in scenes] == [1, 1, 1]


def test_a_consumer_killed_after_stash_took_the_play_adds_it_once(shared_world: World) -> None:
    """SIGKILL at the worst moment: Stash has added the play, the consumer has not
    recorded it. The restarted consumer re-runs the copy, finds the play in the
    scene's play history and adds nothing."""
    world = shared_world
    (scene_id, rating_key), (other, other_rk) = world.add_scene("killed"), world.add_scene("after")
    consumer = world.start_consumer(workers=1)
    world.plex.play(rating_key, at=PLAYED_AT)
    world.plex.play(other_rk, at=PLAYED_AT + 1)
    killed = threading.Event()

    def kill_on_first_play(mutation: str, scene: int) -> None:
        if mutation == "sceneAddPlay" and not killed.is_set():
            killed.set()
            consumer.kill()

    world.stash.on_activity = kill_on_first_play
    assert world.host.run_task("Copy from Plex now").error is None
    assert killed.wait(timeout=30)
    world.stash.on_activity = None
    assert scene(world, scene_id)["play_count"] == 1
    world.restart_consumer(consumer)  # puts the killed job back; it runs again
    wait_until(lambda: scene(world, other)["play_count"] == 1, timeout=60, message="the rest copied")
    wait_until(lambda: world.queued() == 0, timeout=60, message="nothing queued")
    assert scene(world, scene_id)["play_count"] == 1
    assert "had reached Stash before a crash" in world.logs()
    copy_from_plex(world)
    assert (scene(world, scene_id)["play_count"], scene(world, other)["play_count"]) == (1, 1)


def test_a_consumer_killed_after_stash_took_the_resume_point_adds_its_duration_once(world: World) -> None:
    """sceneSaveActivity *adds* the play duration: a repeat after the crash would double it."""
    scene_id, rating_key = world.add_scene("stopped")
    consumer = world.start_consumer(workers=1)
    world.plex.partial_play(rating_key, 125_500)
    killed = threading.Event()

    def kill_on_first_save(mutation: str, scene: int) -> None:
        if mutation == "sceneSaveActivity" and not killed.is_set():
            killed.set()
            consumer.kill()

    world.stash.on_activity = kill_on_first_save
    assert world.host.run_task("Copy from Plex now").error is None
    assert killed.wait(timeout=30)
    world.stash.on_activity = None
    world.restart_consumer(consumer)
    wait_until(lambda: "resume point of scene" in world.logs(), timeout=60, message="the recovery")
    wait_until(lambda: world.queued() == 0, timeout=60, message="nothing queued")
    copy_from_plex(world)
    assert (scene(world, scene_id)["resume_time"], scene(world, scene_id)["play_duration"]) == (125.5, 125.5)


def test_the_periodic_copy_runs_when_due_once_per_interval(shared_world: World) -> None:
    """Both consumers' clocks ask every minute (plexsync.worker.clock); the interval's turn is claimed once."""
    world = shared_world
    world.configure_plugin(playback_interval="1")
    scene_id, rating_key = world.add_scene("periodic")
    world.start_consumers(2)
    world.plex.play(rating_key, at=PLAYED_AT)
    wait_until(lambda: scene(world, scene_id)["play_count"] == 1, timeout=90, message="the periodic copy")
    wait_until(lambda: "copy from Plex: 1 play(s)" in world.logs(), timeout=10, message="its log line")
    assert world.logs().count("copy from Plex: ") == 1
    assert scene(world, scene_id)["play_count"] == 1


def test_a_copy_during_a_plex_outage_waits_and_resumes_from_the_last_good_copy(world: World) -> None:
    (first, first_rk), (second, second_rk) = world.add_scene("before"), world.add_scene("during")
    world.start_consumer()
    world.plex.play(first_rk, at=PLAYED_AT)
    copy_from_plex(world)
    world.plex.down()
    world.plex.play(second_rk, at=PLAYED_AT + 10)
    runs = finished_runs(world)
    assert world.host.run_task("Copy from Plex now").error is None
    wait_until(lambda: world.outage_failures("plex") > 0, timeout=30, message="the outage seen")
    world.plex.up()
    wait_until(lambda: finished_runs(world) > runs, timeout=60, message="the copy after the outage")
    wait_until(lambda: world.queued() == 0, timeout=60, message="nothing queued")
    assert (scene(world, first)["play_count"], scene(world, second)["play_count"]) == (1, 1)
    assert world.dead_letters() == []


def test_a_rating_changed_on_both_sides_resolves_to_the_newer(world: World) -> None:
    scene_id, rating_key = world.add_scene("rated")
    world.start_consumer()
    world.plex.rate(rating_key, 4.0, at=int(time.time()) - 3600)  # an hour ago in Plex
    rate_in_stash(world, scene_id, 60)
    copy_from_plex(world)
    assert scene(world, scene_id)["rating100"] == 60  # Stash's is newer
    assert world.logs().count("changed in Stash (60) and in Plex (4.0): the newer, Stash's, is kept") == 1

    world.plex.rate(rating_key, 9.0, at=int(time.time()) + 5)  # now newer in Plex
    copy_from_plex(world)
    assert scene(world, scene_id)["rating100"] == 90
    copy_from_plex(world)
    assert world.logs().count("the newer, Stash's, is kept") == 1


def test_plex_items_that_map_to_no_scene_are_reported_not_retried(world: World) -> None:
    known, known_rk = world.add_scene("known")
    stray = world.plex.add_movie(world.section_id, files=[f"{PLEX_ROOT}/movies/only-in-plex.mp4"])
    world.start_consumer()
    world.plex.play(stray, at=PLAYED_AT)
    world.plex.rate(stray, 6.0)
    world.plex.play(known_rk, at=PLAYED_AT + 1)

    copy_from_plex(world)
    copy_from_plex(world)

    assert scene(world, known)["play_count"] == 1
    assert world.dead_letters() == []
    assert world.logs().count(f"Plex item {stray} ('only-in-plex'") == 1
    status = world.host.run_task("Status")
    assert f"1 Plex item(s) (not copied): {stray} {PLEX_ROOT}/movies/only-in-plex.mp4" in status.stdout


def test_a_play_reaches_the_scene_when_stash_and_plex_spell_its_name_in_other_unicode_forms(world: World) -> None:
    """A Mac or a NAS keeps "Café" decomposed (NFD), Plex on Linux reports it
    composed (NFC). Stash's path filter is SQL ``LIKE``: it compares code points
    (and folds case only for ASCII), so the composed name finds no scene; the
    decomposed one does. The forward sync already matches these files
    (tests/integration/test_matching_setups.py)."""
    stash_name, plex_name = unicodedata.normalize("NFD", "Café Über"), unicodedata.normalize("NFC", "Café Über")
    scene_id = world.stash.add_scene(
        files=({"path": f"{STASH_ROOT}/movies/{stash_name}.mp4", "size": 1000, "duration": 60.0},)
    )
    rating_key = world.plex.add_movie(world.section_id, files=[f"{PLEX_ROOT}/movies/{plex_name}.mp4"])
    world.start_consumer()
    world.plex.play(rating_key, at=PLAYED_AT)
    copy_from_plex(world)
    assert scene(world, scene_id)["play_count"] == 1
    assert "not copied" not in world.host.run_task("Status").stdout


def test_a_kind_switched_off_is_not_copied(world: World) -> None:
    world.configure_plugin(playback_plays="false", playback_ratings="false")
    scene_id, rating_key = world.add_scene("switched")
    world.start_consumer()
    world.plex.play(rating_key, at=PLAYED_AT)
    world.plex.rate(rating_key, 7.0)
    world.plex.partial_play(rating_key, 30_000)

    copy_from_plex(world)

    read = scene(world, scene_id)
    assert (read["play_count"], read["rating100"], read["resume_time"]) == (0, None, 30.0)


def test_a_rating_copied_from_plex_comes_back_as_no_plex_write(world: World) -> None:
    """The loop issue #10 forbids: the copy writes ``rating100`` through ``sceneUpdate``,
    Stash fires ``Scene.Update.Post``, the hook queues a sync into Plex. The copy
    noted first that Plex already holds that rating (``written.note_rating``), and
    every other field was written by an earlier sync, so that sync sends nothing."""
    scene_id, rating_key = world.add_scene("loop", title="Loop")
    world.start_consumer()
    world.host.attach()
    world.host.run_task("Sync all scenes")
    wait_until(lambda: world.plex.item(rating_key).title == "Loop" and world.queued() == 0, message="first sync")
    hooks_before = sum(inv.kind == "hook" for inv in world.host.invocations)
    before, syncs_before = len(world.plex.requests), world.logs().count(f"scene {scene_id} synced")

    world.plex.rate(rating_key, 7.0)
    copy_from_plex(world)

    assert scene(world, scene_id)["rating100"] == 70
    wait_until(
        lambda: sum(inv.kind == "hook" for inv in world.host.invocations) > hooks_before,
        message="Stash fired the scene hook for the rating",
    )
    wait_until(
        lambda: world.logs().count(f"scene {scene_id} synced") > syncs_before and world.queued() == 0,
        message="the hook's sync ran",
    )
    plex_writes = [r for r in world.plex.requests[before:] if r.method in ("PUT", "POST")]
    assert plex_writes == [], plex_writes
    assert world.plex.item(rating_key).user_rating == 7.0
