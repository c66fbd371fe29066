"""The same tasks on Redis (PriorityRedisHuey) with several consumers:
configuration only. Needs the Redis server on 127.0.0.1:6379 (skipped
without it, failing instead when PLEXSYNC_REQUIRE_REDIS=1, as in CI)."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import World
from tests.support import wait_until

pytestmark = pytest.mark.redis


def synced(world: World, scenes: list[tuple[str, int]], prefix: str) -> int:
    return sum(world.plex.item(rk).title == f"{prefix} title {i}" for i, (_, rk) in enumerate(scenes))


def test_hooks_and_two_consumers_share_one_redis_queue(redis_world: World):
    world = redis_world
    scenes = world.add_scenes(120, prefix="redis")
    world.plex.faults.add(".*", delay=0.01)
    first, second = world.start_consumer(workers=2), world.start_consumer(workers=2)
    [hook] = world.host.fire_hook("Scene.Update.Post", int(scenes[0][0]), {"id": scenes[0][0]}, ["id"])
    assert hook.error is None, hook
    world.host.start_task("Sync all scenes")  # it follows the run; the test watches Plex instead
    wait_until(lambda: synced(world, scenes, "redis") == len(scenes), timeout=180, message="all synced")
    assert world.dead_letters() == []
    synced_lines = r"scene \d+ synced|page of ids \S+: [1-9]\d* synced"  # a hook's job, a bulk page
    worked = [len(re.findall(synced_lines, consumer.log())) for consumer in (first, second)]
    assert all(count > 0 for count in worked), worked  # both consumers took jobs
    assert not (world.data_dir / "queue.db").exists()  # nothing went to SQLite


def test_a_consumer_killed_mid_job_on_redis_loses_nothing(redis_world: World):
    world = redis_world
    scenes = world.add_scenes(200, prefix="crash")
    world.plex.faults.add(".*", delay=0.03)
    consumer = world.start_consumer(workers=4)
    world.host.start_task("Sync all scenes")  # it follows the run; the test watches Plex instead
    for _ in range(2):
        floor = synced(world, scenes, "crash")
        wait_until(lambda f=floor: synced(world, scenes, "crash") >= f + 15, timeout=120, message="progress")
        consumer.kill()
        consumer = world.start_consumer(workers=4)
    wait_until(lambda: synced(world, scenes, "crash") == len(scenes), timeout=240, message="all synced")
    assert world.dead_letters() == []
    assert re.search(r"re-queued \d+ job\(s\) left running by a consumer that was killed", world.logs())
