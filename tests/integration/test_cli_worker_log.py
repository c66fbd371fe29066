"""What a real consumer's log says: one line per job outcome, no "Unhandled
exception" for a classified failure, and repeats of one failure summarised.

Seen in a real ``huey_consumer`` log before this: per job huey writes
"Executing ...", then "... executed in 0.01s" or "Unhandled exception in task"
(with a traceback for every SyncError), "Requeueing ..." and "Added task ... to
schedule" for each retry, and "raised RetryTask" for each wait on an outage:
a wrong path rule made several lines per scene per retry.
"""

from __future__ import annotations

import re

from tests.integration.conftest import World
from tests.support import wait_until


def _count(pattern: str, log: str) -> int:
    return len(re.findall(pattern, log))


def _repeats(pattern: str, log: str) -> int:
    """Failures a summary line stands for: '... (N more time(s) in the last ...'."""
    return sum(int(n) for n in re.findall(pattern + r".*\((\d+) more time\(s\) in the last", log))


def test_a_wrong_path_rule_is_one_line_then_one_summary_not_a_line_per_retry(world: World):
    scenes = [world.add_scene(f"unscanned-{i}", scanned=False) for i in range(12)]
    good_id, _ = world.add_scene("good", title="good")
    consumer = world.start_consumer(PLEXSYNC_RETRIES="2")
    for scene_id, _ in [*scenes, (good_id, None)]:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: len(world.dead_letters()) == 12, timeout=120, message="dead letters")
    consumer.stop()  # graceful: the pending summaries are written
    log = consumer.log()

    assert "Unhandled exception" not in log and "Traceback" not in log
    assert "executed in" not in log and "Executing " not in log and "Requeueing" not in log
    # one line for the scene that synced
    assert len([line for line in log.splitlines() if f"scene {good_id} " in line]) == 1
    assert _count(rf"scene {good_id} synced: 'good'", log) == 1
    # 12 scenes x 2 waits for the folder scan: the first in full, the rest in summary lines
    retry_full = _count(
        r"scene \d+ waits for Plex to scan /media/plex/movies \(attempt \d of 3, next in [\d.]+ s\)", log
    )
    retry_summed = _repeats(r"scene\(s\) wait for Plex to scan /media/plex/movies", log)
    assert 1 <= retry_full <= 2  # a second one only if the run crossed a summary interval
    assert retry_full + retry_summed == 24, log
    # 12 dead letters: likewise
    dead_full = _count(r"ERROR:plexsync\.queue\.lifecycle:\S+:dead letter #\d+ scene \d+: ItemNotInPlex", log)
    dead_summed = _repeats(r"dead letter\(s\): Plex has no file of theirs in /media/plex/movies", log)
    assert 1 <= dead_full <= 2 and dead_full + dead_summed == 12, log
    assert re.search(r"\d+ scene\(s\) wait for Plex to scan /media/plex/movies \(if it has, check Path rules\)", log)
    lines = [line for line in log.splitlines() if re.search(r"\] \w+:plexsync\.", line)]
    # outcomes + at most two summaries of each kind + the one line saying Plex's notifications are heard
    assert len(lines) <= 1 + retry_full + dead_full + 2 * 2 + 1


def test_waiting_for_plex_is_reported_once_not_per_job(world: World):
    scenes = [world.add_scene(f"wait-{i}", title=f"wait {i}") for i in range(8)]
    world.plex.down()
    consumer = world.start_consumer(workers=4)
    for scene_id, _ in scenes:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: _count("waits for Plex", consumer.log()) >= 1, timeout=60, message="jobs waiting")
    world.plex.up()
    wait_until(
        lambda: all(world.plex.item(rk).title == f"wait {i}" for i, (_, rk) in enumerate(scenes)),
        timeout=120,
        message="all synced after the outage",
    )
    consumer.stop()
    log = consumer.log()
    assert "raised RetryTask" not in log and "Unhandled exception" not in log
    assert _count(r"ERROR:plexsync\.sync\.worker:\S+:Plex is unreachable", log) == 1
    assert _count("Plex is unreachable", log) == 1  # the reason is reported once, not in every wait
    # each job waits several times (one probe at a time): the first wait in full, the rest summarised
    assert 1 <= _count(r"scene \d+ waits for Plex", log) <= 2
    assert re.search(r"\d job\(s\) wait for Plex \(\d+ more time\(s\) in the last", log)
    assert _count(r"scene \d+ synced: ", log) == 8
    assert _count("Plex is reachable again", log) == 1
