"""``plexsync inspect`` and the scene page ask the queue about one scene's sync:
queued, running (claimed), or scheduled for a retry; on SQLite and on Redis,
with the job's keyword variants (force, rematch) and without mistaking scene
42 for scene 420."""

from __future__ import annotations

import datetime
import time

import pytest

from plexsync.config import Bootstrap
from plexsync.queue.instance import build_huey
from plexsync.queue.instance import huey as plugin_huey
from plexsync.queue.lookup import SYNC_SCENE, scene_job
from plexsync.tasks import sync_scene
from tests.integration.conftest import REDIS_URL, flush_redis_db, require_redis


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def huey(request, tmp_path):
    env = {"PLEXSYNC_DATA_DIR": str(tmp_path / "data")}
    if request.param == "redis":
        require_redis()
        flush_redis_db(REDIS_URL)
        env["PLEXSYNC_REDIS_URL"] = REDIS_URL
    instance = build_huey(Bootstrap.from_env(env))
    instance.storage.settle = 0.0  # take jobs at once
    yield instance
    if request.param == "redis":
        flush_redis_db(REDIS_URL)


def queue(huey, scene_id: str, **flags: bool) -> bytes:
    data = plugin_huey.serialize_task(sync_scene.s(scene_id, **flags))
    huey.storage.enqueue(data, 0)
    return data


def test_the_task_name_is_the_one_huey_gives_sync_scene():
    assert plugin_huey._registry.task_to_string(sync_scene.task_class) == SYNC_SCENE


def test_queued_running_and_scheduled_syncs_of_one_scene_are_found(huey):
    queue(huey, "420")
    assert scene_job(huey, "42").states == frozenset()  # another scene, whose id starts the same
    queue(huey, "7", force=True)
    assert scene_job(huey, "7").states == {"queued"}  # a keyword variant of the job
    queue(huey, "42")
    assert scene_job(huey, "42").states == {"queued"}

    claimed = [huey.storage.claim() for _ in range(3)]
    assert all(claimed)
    assert scene_job(huey, "42").states == {"running"}
    queue(huey, "42")  # edited again while it runs: one more sync waits, held, behind the running one
    assert scene_job(huey, "42").states == {"running", "held"}

    due = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(seconds=300)
    huey.storage.add_to_schedule(plugin_huey.serialize_task(sync_scene.s("9").__class__(("9",), eta=due)), due)
    found = scene_job(huey, "9")
    assert found.states == {"scheduled"}
    assert found.retry_at is not None and 290 < found.retry_at - time.time() <= 300
    assert "tried again" in (found.describe() or "")
