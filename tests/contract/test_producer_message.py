"""The hook's producer writes the message huey itself would write.

A hook queues jobs without ``huey.api`` (:mod:`plexsync.queue.producer`, issue
#9), so what it writes is checked here against huey's own enqueue, read back
by the real huey the consumer runs: same task, arguments, priority and
identity, and the retry policy huey's task defaults give it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from plexsync import tasks
from plexsync.queue import producer
from plexsync.queue.storage import identity_of_message
from tests.support import REPO

FIELDS = ("name", "args", "kwargs", "priority", "retries", "retry_delay", "retry_backoff", "timeout", "eta", "expires")


@pytest.mark.parametrize(
    ("kwargs", "priority"), [({}, producer.PRIORITY_EDIT), ({"rematch": True, "queued_at": 1780000000.5}, 0)]
)
def test_a_produced_message_reads_back_as_the_task_huey_would_queue(kwargs, priority):
    huey = tasks.huey
    expected = tasks.sync_scene.s("42", priority=priority, **kwargs)
    produced = producer.message(producer.SYNC_SCENE, ("42",), kwargs or None, priority)
    task = huey.deserialize_task(produced)
    assert type(task) is type(expected)
    assert {f: getattr(task, f) for f in FIELDS} == {f: getattr(expected, f) for f in FIELDS}
    assert uuid.UUID(task.id).version == 4 and str(uuid.UUID(task.id)) == task.id
    assert identity_of_message(produced) == huey.identity_of(huey.serialize_task(expected))


@pytest.mark.parametrize("sources", [(), ("4", "5")])
def test_a_related_change_reads_back_as_the_task_huey_would_queue(sources):
    """The fan-out job a performer/studio/tag/group hook queues (plexsync.hooks)."""
    huey = tasks.huey
    args = ("tag", "merge", "9", list(sources)) if sources else ("tag", "merge", "9")
    expected = tasks.sync_related.s(*args, priority=producer.PRIORITY_EDIT)
    produced = producer.message(producer.SYNC_RELATED, args, None, producer.PRIORITY_EDIT)
    task = huey.deserialize_task(produced)
    assert type(task) is type(expected)
    assert {f: getattr(task, f) for f in FIELDS} == {f: getattr(expected, f) for f in FIELDS}
    assert identity_of_message(produced) == huey.identity_of(huey.serialize_task(expected))


def test_enqueue_scene_queues_what_tasks_enqueue_scene_queues():
    assert huey_name(tasks.sync_scene) == producer.SYNC_SCENE
    assert huey_name(tasks.sync_related) == producer.SYNC_RELATED
    assert (tasks.PRIORITY_EDIT, tasks.PRIORITY_BULK) == (producer.PRIORITY_EDIT, producer.PRIORITY_BULK)


def huey_name(wrapper) -> str:
    return tasks.huey._registry.task_to_string(wrapper.task_class)


BARE = """
import json, sys
sys.path.insert(0, {repo!r})
from plexsync.queue import producer
producer._bare_huey_package()
import huey.registry, huey.storage
before = sorted(m for m in sys.modules if m.startswith("huey"))
from huey import SqliteHuey, crontab  # any name of huey/__init__ completes the package
import huey
print(json.dumps({{"before": before, "after": "huey.api" in sys.modules, "same": huey.SqliteHuey is SqliteHuey,
                  "storage": huey.storage.SqliteStorage is sys.modules["huey.storage"].SqliteStorage}}))
"""


def test_the_bare_huey_package_loads_no_consumer_side_and_completes_itself_when_asked():
    done = subprocess.run(
        [sys.executable, "-c", BARE.format(repo=str(REPO))], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stdout)
    assert "huey.api" not in seen["before"] and "huey.consumer" not in seen["before"], seen
    assert seen["after"] and seen["same"] and seen["storage"]
