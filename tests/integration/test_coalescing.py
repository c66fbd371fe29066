"""Bursts of hooks coalesce: real hook processes (the plugin host), real
consumers, SQLite and Redis. A scene already waiting is not queued again; a
scene whose sync is running when it is edited again is synced once more, after
the running sync (never beside it), so the newest edit always wins.

Syncs are counted as Plex edit requests per item (one edit per sync)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import World
from tests.support import wait_until

EDIT_PATH = r"^/library/sections/\d+/all$"


@pytest.fixture(params=["sqlite", "redis"])
def any_world(request) -> World:
    return request.getfixturevalue("world" if request.param == "sqlite" else "redis_world")


def edits_per_item(world: World) -> Counter:
    return Counter(int(r.arg("id")) for r in world.plex.requests_matching("PUT", EDIT_PATH))


def waiting_jobs(world: World) -> int:
    """Jobs in the queue (not running, not scheduled) on either backend."""
    from plexsync.config import Bootstrap
    from plexsync.queue.instance import build_huey

    env = {k: v for k, v in world.env.items() if k.startswith("PLEXSYNC_")}
    huey = build_huey(Bootstrap.from_env(env))
    return huey.storage.queue_size()


def edit_and_fire(world: World, scene_id: str, title: str) -> None:
    """A user's save in Stash: the change, then the hook process Stash runs for it."""
    world.stash.update_scene(scene_id, title=title)
    [hook] = world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id, "title": title}, ["title"])
    assert hook.error is None, hook


def test_a_burst_of_concurrent_hooks_while_the_worker_is_stopped_is_one_sync_per_scene(any_world: World):
    world = any_world
    scenes = world.add_scenes(24, prefix="burst")

    def edit_three_times(index: int) -> None:
        scene_id = scenes[index][0]
        for version in range(1, 4):
            edit_and_fire(world, scene_id, f"burst {index} v{version}")

    with ThreadPoolExecutor(max_workers=4) as pool:  # four hook processes at a time
        list(pool.map(edit_three_times, range(len(scenes))))
    assert waiting_jobs(world) == len(scenes)  # 72 hook events, one job per scene

    world.start_consumer(workers=2)
    wait_until(
        lambda: all(world.plex.item(rk).title == f"burst {i} v3" for i, (_, rk) in enumerate(scenes)),
        timeout=120,
        message="every scene synced with its newest edit",
    )
    wait_until(lambda: waiting_jobs(world) == 0, timeout=30, message="queue drained")
    assert edits_per_item(world) == Counter({rk: 1 for _, rk in scenes})
    assert world.dead_letters() == []


def test_an_edit_during_a_running_sync_is_synced_after_it_and_wins(any_world: World):
    world = any_world
    [(scene_id, rating_key), (other_id, other_rk)] = world.add_scenes(2, prefix="race")
    # The first edit request for the item is slow: the sync is running when the user saves again.
    world.plex.faults.add(EDIT_PATH, method="PUT", delay=2.0, times=1)
    world.start_consumer(workers=2)  # a second worker is free to take the follow-up at once
    edit_and_fire(world, scene_id, "race v1")
    screenshot = f"/scene/{scene_id}/screenshot"
    wait_until(lambda: world.stash.requests_matching("GET", screenshot), timeout=30, message="first sync read Stash")
    edit_and_fire(world, scene_id, "race v2")  # while the first sync's Plex edit is in flight
    edit_and_fire(world, other_id, "other v1")  # other scenes do not wait behind it

    wait_until(lambda: world.plex.item(other_rk).title == "other v1", timeout=30, message="other scene synced")
    wait_until(lambda: edits_per_item(world)[rating_key] == 2, timeout=60, message="synced once more")
    wait_until(lambda: waiting_jobs(world) == 0, timeout=30, message="queue drained")
    edits = [
        r.arg("title.value") for r in world.plex.requests_matching("PUT", EDIT_PATH) if r.arg("id") == str(rating_key)
    ]
    assert edits == ["race v1", "race v2"]  # one after the other: the newest last
    assert world.plex.item(rating_key).title == "race v2"
    assert edits_per_item(world)[rating_key] == 2
    assert world.dead_letters() == []
