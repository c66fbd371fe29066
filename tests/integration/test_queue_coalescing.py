"""Coalescing in the queue storage itself, on a real SQLite file and on the
real Redis server: one waiting job per identity (task + arguments), the more
urgent priority kept, a job never taken while the same job runs, and claims of
a killed process merged back. The end-to-end behaviour (hooks, consumers,
Plex) is in test_coalescing.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from huey import SqliteHuey

from plexsync.queue.reliable import ReliablePriorityRedisHuey, ReliableSqliteHuey, job_identity
from tests.integration.conftest import REDIS_URL, flush_redis_db, require_redis
from tests.support import REPO

EDIT, BULK = 10, 0


def _build(backend: str, path: Path, settle: float = 0.0):
    """The queue with no settle time unless asked: these tests take jobs at once."""
    if backend == "sqlite":
        return ReliableSqliteHuey("q", filename=str(path), results=False, settle=settle)
    return ReliablePriorityRedisHuey("q", url=REDIS_URL, results=False, settle=settle)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "redis":
        require_redis()
        flush_redis_db(REDIS_URL)
    yield request.param
    if request.param == "redis":
        flush_redis_db(REDIS_URL)


def _with_tasks(huey):
    @huey.task(name="sync")
    def sync(scene_id: str) -> None:
        pass

    @huey.task(name="other")
    def other(scene_id: str) -> None:
        pass

    huey.sync, huey.other = sync, other
    return huey


@pytest.fixture
def queue(backend: str, tmp_path: Path):
    return _with_tasks(_build(backend, tmp_path / "q.db"))


def waiting(huey) -> list[tuple[str, tuple]]:
    """The queue in the order workers would take it: (task name, args)."""
    return [(t.name, t.args) for t in (huey.deserialize_task(d) for d in huey.storage.enqueued_items())]


def test_a_job_queued_again_while_it_waits_is_one_job(queue):
    for scene in ("1", "2", "1", "1", "3", "2"):
        queue.sync(scene, priority=EDIT)
    queue.other("1")
    assert waiting(queue) == [("sync", ("1",)), ("sync", ("2",)), ("sync", ("3",)), ("other", ("1",))]


def test_an_edit_raises_a_waiting_bulk_job_ahead_and_a_bulk_never_lowers_an_edit(queue):
    for scene in ("1", "2", "3"):
        queue.sync(scene, priority=BULK)
    queue.sync("3", priority=EDIT)  # the user edits scene 3 while "sync all" waits
    queue.sync("4", priority=EDIT)
    queue.sync("4", priority=BULK)  # ... and "sync all" reaches scene 4 after the edit
    assert waiting(queue) == [("sync", ("3",)), ("sync", ("4",)), ("sync", ("1",)), ("sync", ("2",))]
    taken = [queue.dequeue() for _ in range(4)]
    assert [t.priority for t in taken] == [EDIT, EDIT, BULK, BULK]  # the message kept says so too


def test_a_job_queued_while_it_runs_waits_until_the_running_one_is_released(queue):
    queue.sync("1", priority=EDIT)
    queue.sync("2", priority=BULK)
    running = queue.dequeue()
    assert running.args == ("1",)
    queue.sync("1", priority=EDIT)  # an edit arrives during the sync: must run again, after it
    queue.sync("1", priority=EDIT)  # ... only once more
    assert waiting(queue) == [("sync", ("1",)), ("sync", ("2",))]
    assert queue.dequeue().args == ("2",)  # scene 1 is held back, the rest goes on
    assert queue.dequeue() is None
    queue.release(running)
    follow_up = queue.dequeue()
    assert follow_up.args == ("1",)
    queue.release(follow_up)
    assert queue.dequeue() is None


def test_a_job_requeued_by_its_own_retry_runs_after_it_is_released(queue):
    """huey re-enqueues a failed job (no delay) before our release: it must wait."""
    queue.sync("1", priority=EDIT)
    running = queue.dequeue()
    queue.enqueue(running)
    assert queue.dequeue() is None
    queue.release(running)
    assert queue.dequeue().args == ("1",)


def test_a_new_job_settles_before_a_worker_takes_it(backend: str, tmp_path: Path):
    queue = _with_tasks(_build(backend, tmp_path / "q.db", settle=60))
    queue.sync("1", priority=EDIT)
    assert queue.dequeue() is None
    assert waiting(queue) == [("sync", ("1",))]


def test_saves_in_a_row_do_not_put_a_settling_job_off(backend: str, tmp_path: Path):
    """Merging keeps the first queue time: a scene saved again and again is still synced."""
    queue = _with_tasks(_build(backend, tmp_path / "q.db", settle=0.3))
    deadline = time.monotonic() + 30
    taken = None
    while taken is None and time.monotonic() < deadline:
        queue.sync("1", priority=EDIT)  # a save every few milliseconds, for as long as it takes
        taken = queue.dequeue()
        time.sleep(0.01)
    assert taken is not None and taken.args == ("1",)


KILLED_CLAIMER = """
import sys
sys.path.insert(0, {repo!r})
from tests.integration.test_queue_coalescing import _build
from pathlib import Path
huey = _build({backend!r}, Path({path!r}))
assert huey.storage.claim() is not None  # what dequeue does, before the task runs
import os; os._exit(0)  # killed mid-job: the claim stays behind
"""


def test_a_killed_workers_claim_merges_with_the_same_job_waiting(queue, backend: str, tmp_path: Path):
    queue.sync("1", priority=BULK)
    queue.sync("2", priority=BULK)
    script = KILLED_CLAIMER.format(repo=str(REPO), backend=backend, path=str(tmp_path / "q.db"))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=REPO)
    assert queue.storage.claims() == 1
    queue.sync("1", priority=EDIT)  # edited again while the dead claim was held: queued anew
    assert queue.recover_orphans() == 1
    assert queue.storage.claims() == 0
    assert waiting(queue) == [("sync", ("1",)), ("sync", ("2",))]  # one job for scene 1, not two
    first = queue.dequeue()
    assert (first.args, first.priority) == (("1",), EDIT)


def test_an_orphan_claim_comes_back_alone_when_nothing_waits(queue, backend: str, tmp_path: Path):
    queue.sync("1", priority=EDIT)
    script = KILLED_CLAIMER.format(repo=str(REPO), backend=backend, path=str(tmp_path / "q.db"))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=REPO)
    assert queue.recover_orphans() == 1
    task = queue.dequeue()
    assert task.args == ("1",)
    queue.sync("1")
    assert queue.dequeue() is None  # the recovered job holds its identity again
    queue.release(task)
    assert queue.dequeue().args == ("1",)


def test_a_queue_db_from_before_coalescing_gets_the_new_columns_and_keeps_its_jobs(tmp_path: Path):
    path = tmp_path / "q.db"
    old = SqliteHuey("q", filename=str(path), results=False)

    @old.task(name="sync")
    def old_sync(scene_id: str) -> None:
        pass

    old_sync("1")
    conn = sqlite3.connect(path)
    conn.execute(  # the claim table as the previous version created it
        "create table claim (id integer not null primary key, queue text not null, data blob not null, "
        "priority real not null default 0.0, owner text not null, claimed_at real not null)"
    )
    conn.commit()
    conn.close()

    new = _build("sqlite", path)

    @new.task(name="sync")
    def sync(scene_id: str) -> None:
        pass

    sync("1")  # the old row has no identity: not merged, but nothing is lost
    sync("2")
    sync("2")
    assert waiting(new) == [("sync", ("1",)), ("sync", ("1",)), ("sync", ("2",))]
    first = new.dequeue()
    new.release(first)
    assert new.storage.claims() == 0


def test_the_identity_is_task_and_arguments():
    assert job_identity("plexsync.tasks.sync_scene", ("42",), {}) == "plexsync.tasks.sync_scene:('42',)"
    assert job_identity("t", ["42"], None) == job_identity("t", ("42",), {})
    assert job_identity("t", ("42",), {"b": 1, "a": 2}) == job_identity("t", ("42",), {"a": 2, "b": 1})
    assert job_identity("t", ("4",), {}) != job_identity("t", ("42",), {})
    assert "\0" not in job_identity("t", ("a\0b",), {})
