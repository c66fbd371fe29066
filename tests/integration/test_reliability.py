"""Issue: never lose a sync. Faults through the emulators, a real consumer,
at least 200 scenes each."""

from __future__ import annotations

import re
import signal
import sqlite3

import pytest

from emulators.plugin_host import RunningTask
from plexsync.retrying import BACKOFF
from tests.integration.conftest import PLEX_TOKEN, World
from tests.support import wait_until

N = 200
TRIES = len(BACKOFF) + 1
pytestmark = pytest.mark.slow


def all_synced(world: World, scenes: list[tuple[str, int]], prefix: str = "scene") -> bool:
    return all(world.plex.item(rk).title == f"{prefix} title {i}" for i, (_, rk) in enumerate(scenes))


def synced_count(world: World, scenes: list[tuple[str, int]], prefix: str = "scene") -> int:
    return sum(world.plex.item(rk).title == f"{prefix} title {i}" for i, (_, rk) in enumerate(scenes))


def assert_all_synced_with_right_values(world: World, scenes: list[tuple[str, int]], prefix: str = "scene") -> None:
    for i, (scene_id, rk) in enumerate(scenes):
        item = world.plex.item(rk)
        assert item.title == f"{prefix} title {i}"
        assert item.genres == [f"{prefix}-tag"]
        assert item.poster == world.stash.screenshot(scene_id)
        assert {"title", "genre", "thumb"} <= item.locked


def start_sync_all(world: World) -> RunningTask:
    """The task as Stash starts it; it follows the run, these tests do not wait for it."""
    return world.host.start_task("Sync all scenes")


def log_lines(world: World, pattern: str) -> list[str]:
    return [line for line in world.logs().splitlines() if re.search(pattern, line)]


def test_plex_down_for_a_while_then_up_every_scene_synced_and_no_dead_letters(world: World):
    scenes = world.add_scenes(N)
    world.plex.down()
    world.start_consumer(workers=4)
    task = start_sync_all(world)
    wait_until(lambda: log_lines(world, "Plex is unreachable"), timeout=60, message="outage noticed")
    wait_until(lambda: world.queued() >= 1, timeout=60, message="the bulk pages queued")
    wait_until(lambda: _outage_failures(world) >= 3, timeout=60, message="several probes while down")
    assert world.dead_letters() == []
    # the task stops following a run that waits for a server, and says so in Stash
    output = task.wait(120).output
    assert output.startswith("sync all queued; 0 of 200 scenes done; waiting for Plex (Plex is unreachable"), output
    assert output.endswith("the sync resumes by itself, the Status task shows it, the Doctor task tells what to fix")
    world.plex.up()
    wait_until(lambda: all_synced(world, scenes), timeout=180, message="backlog drained")
    assert_all_synced_with_right_values(world, scenes)
    assert world.dead_letters() == []
    assert len(log_lines(world, "Plex is unreachable")) == 1  # reported once, not per job
    assert log_lines(world, "Plex is reachable again")


def _outage_failures(world: World, service: str = "plex") -> int:
    conn = sqlite3.connect(str(world.data_dir / "plexsync.db"), timeout=10)
    try:
        row = conn.execute("select failures from outage where service = ?", (service,)).fetchone()
        return row[0] if row else 0
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_thirty_percent_of_plex_requests_failing_every_scene_synced_right(world: World):
    scenes = world.add_scenes(N)
    for fault in ({"status": 500}, {"status": 503}, {"drop": True}, {"garbage": True}):
        world.plex.faults.add(".*", fraction=0.075, **fault)
    # The default retries: each failed request is tried again at once
    # (plexsync.retrying), so only a request failing every try costs a job retry.
    world.start_consumer(workers=4)
    start_sync_all(world)
    wait_until(lambda: all_synced(world, scenes), timeout=240, message="all synced despite faults")
    wait_until(lambda: world.queued() == 0, timeout=60, message="queue drained")
    assert_all_synced_with_right_values(world, scenes)
    assert world.dead_letters() == []
    failed = [r for r in world.plex.requests if r.status != 200]
    assert len(failed) > N / 4  # the faults really happened


def test_consumer_sigkilled_mid_batch_several_times_every_scene_synced(world: World):
    scenes = world.add_scenes(N)
    world.plex.faults.add(".*", delay=0.02)  # keep jobs in flight long enough to be killed in
    consumer = world.start_consumer(workers=4)
    start_sync_all(world)
    for _ in range(3):
        floor = synced_count(world, scenes)
        wait_until(lambda f=floor: synced_count(world, scenes) >= f + 15, timeout=120, message="progress")
        consumer.kill()
        consumer = world.start_consumer(workers=4)
    wait_until(lambda: all_synced(world, scenes), timeout=240, message="all synced after crashes")
    # A title is written before its cover: only an empty queue (no claim left) means every job is done.
    wait_until(lambda: world.queued() == 0, timeout=60, message="no claim left behind")
    assert_all_synced_with_right_values(world, scenes)
    assert world.dead_letters() == []
    assert log_lines(world, r"re-queued \d+ job\(s\) left running by a consumer that was killed")


def test_graceful_and_immediate_stops_lose_nothing(world: World):
    scenes = world.add_scenes(N)
    world.plex.faults.add(".*", delay=0.02)
    consumer = world.start_consumer(workers=4)
    start_sync_all(world)
    wait_until(lambda: synced_count(world, scenes) >= 20, timeout=120, message="progress")
    assert consumer.stop(signal.SIGTERM) is not None  # huey's immediate stop
    consumer = world.start_consumer(workers=4)
    wait_until(lambda: synced_count(world, scenes) >= 60, timeout=120, message="progress after restart")
    consumer.stop(signal.SIGINT)  # graceful: finishes the jobs in flight
    world.start_consumer(workers=4)
    wait_until(lambda: all_synced(world, scenes), timeout=240, message="all synced after stops")
    assert world.dead_letters() == []


def test_scheduled_retries_survive_a_restart(world: World):
    scenes = world.add_scenes(N)
    # every try of each scene's edit fails twice: inside its bulk page, then in the job of its own the
    # page hands it to (requests are retried at once: plexsync.retrying)
    world.plex.faults.add(r"^/library/sections/\d+/all$", method="PUT", status=500, times=2 * N * TRIES)
    # each failure takes a round of request tries (~1.5 s): a long delay lets retries pile up in the schedule
    consumer = world.start_consumer(workers=4, PLEXSYNC_RETRY_DELAY="30", PLEXSYNC_RETRY_MAX_DELAY="30")
    start_sync_all(world)
    wait_until(lambda: _scheduled(world) >= N // 8, timeout=240, message="retries waiting in the schedule")
    consumer.kill()
    world.start_consumer(workers=4)
    wait_until(lambda: all_synced(world, scenes), timeout=240, message="all synced after restart")
    assert world.dead_letters() == []


def _scheduled(world: World) -> int:
    conn = sqlite3.connect(str(world.data_dir / "queue.db"), timeout=10)
    try:
        return conn.execute("select count(*) from schedule").fetchone()[0]
    finally:
        conn.close()


def test_invalid_plex_token_reported_once_then_fixing_it_drains_the_backlog(world: World):
    scenes = world.add_scenes(N)
    world.configure_plugin(plex_token="wrong-token-0000")
    world.start_consumer(workers=4)
    start_sync_all(world)
    wait_until(lambda: world.queued() >= 1, timeout=60, message="the bulk pages queued")
    wait_until(lambda: _outage_failures(world) >= 3, timeout=60, message="several probes with the bad token")
    reports = log_lines(world, "Plex rejected the token")
    assert len(reports) == 1, reports
    assert "PLEXSYNC_PLEX_TOKEN" in reports[0]
    assert world.dead_letters() == []
    world.configure_plugin()  # the user fixes the token on Stash's plugin page
    wait_until(lambda: all_synced(world, scenes), timeout=180, message="backlog drained")
    assert world.dead_letters() == []
    assert "wrong-token-0000" not in world.logs() and PLEX_TOKEN not in world.logs()


def test_deleted_scene_is_one_readable_dead_letter_and_retrying_it_after_restore_syncs(world: World):
    scenes = world.add_scenes(N)
    world.start_consumer(workers=4)
    start_sync_all(world)
    wait_until(lambda: all_synced(world, scenes), timeout=120, message="first sync")
    gone_id, gone_rk = scenes[17]
    snapshot = world.stash.scene(gone_id)
    world.stash.destroy_scene(gone_id)
    for _ in range(2):  # the same job failing twice is still one dead letter
        world.host.fire_hook("Scene.Update.Post", int(gone_id), {"id": gone_id}, ["id"])
        wait_until(lambda: world.queued() == 0, timeout=60, message="job done")
    [letter] = world.dead_letters()
    assert letter["scene_id"] == gone_id and letter["failures"] == 2
    assert letter["message"] == f"scene {gone_id} does not exist in Stash (deleted?)"
    listing = world.host.run_task("List dead letters")
    assert f"scene {gone_id}: SceneNotFound: scene {gone_id} does not exist" in listing.output

    world.stash.add_scene(
        id=gone_id,
        title="restored title",
        files=tuple({"path": f["path"], "size": 1, "duration": 1.0} for f in snapshot["files"]),
    )
    retry = world.host.run_task("Retry dead letters")
    assert "re-queued 1 dead letter" in retry.output
    wait_until(lambda: world.plex.item(gone_rk).title == "restored title", timeout=60, message="retried sync")
    wait_until(lambda: world.dead_letters() == [], timeout=30, message="dead letter removed after success")


def test_invalid_stash_api_key_reported_once_then_the_right_key_drains_the_backlog(world: World):
    scenes = world.add_scenes(50)
    for scene_id, _ in scenes:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    consumer = world.start_consumer(workers=4, PLEXSYNC_STASH_API_KEY="wrong-stash-key-1111")
    wait_until(lambda: _outage_failures(world, "stash") >= 3, timeout=60, message="several probes with the bad key")
    reports = log_lines(world, "Stash rejected the API key")
    assert len(reports) == 1 and "PLEXSYNC_STASH_API_KEY" in reports[0], reports
    assert world.dead_letters() == []
    consumer.stop()
    world.start_consumer(workers=4)  # restarted with the right key in its environment
    wait_until(lambda: all_synced(world, scenes), timeout=120, message="backlog drained")
    assert world.dead_letters() == []
    assert "wrong-stash-key-1111" not in world.logs()
