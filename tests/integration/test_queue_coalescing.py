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


def _build(backend: str, path: Path, settle: float = 0.0, quiet: float | None = None, hold: float = 3600):
    """The queue with no settle time unless asked: these tests take jobs at once.

    ``quiet`` (default: ``settle``) is how long the queue counts as busy after
    a job is queued; holds only show when it is longer than these tests take."""
    options = {"results": False, "settle": settle, "quiet": quiet, "hold": hold}
    if backend == "sqlite":
        return ReliableSqliteHuey("q", filename=str(path), **options)
    return ReliablePriorityRedisHuey("q", url=REDIS_URL, **options)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "redis":
        require_redis()
        flush_redis_db(REDIS_URL)
    yield request.param
    if request.param == "redis":
        flush_redis_db(REDIS_URL)


def _with_tasks(huey):
    """Tasks ``sync`` and ``other``, named alike in every process (pytest and a producer import this module
    under different names)."""

    def sync(scene_id: str) -> None:
        pass

    def other(scene_id: str) -> None:
        pass

    sync.__module__ = other.__module__ = "coalescing"
    sync, other = huey.task(name="sync")(sync), huey.task(name="other")(other)
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
    # when a hook queued it is not what the job does: a scan's jobs of one scene coalesce
    assert job_identity("t", ("42",), {"rematch": True, "queued_at": 1.0}) == job_identity(
        "t", ("42",), {"rematch": True, "queued_at": 2.0}
    )
    assert job_identity("t", ("42",), {"queued_at": 1.0}) == job_identity("t", ("42",), {})
    assert job_identity("t", ("42",), {"rematch": True}) != job_identity("t", ("42",), {})
    assert "\0" not in job_identity("t", ("a\0b",), {})


# -- bursts: at most two syncs of a scene, the last one after its last edit -------------------------------------

BUSY = 3600.0  # the queue counts as busy for longer than any test takes: holds end only when a test says so


def test_a_scene_queued_again_soon_after_its_sync_is_held_while_the_queue_is_busy(backend: str, tmp_path: Path):
    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY))
    queue.sync("1")
    first = queue.dequeue()  # a scene not synced lately is taken at once, busy queue or not
    assert first.args == ("1",)
    queue.release(first)
    queue.sync("1")  # the next round of a bulk edit reaches scene 1 again
    queue.sync("2")
    queue.sync("1")
    assert waiting(queue) == [("sync", ("1",)), ("sync", ("2",))]  # held, but waiting: one job
    assert queue.storage.held_count() == 1  # what `plexsync status` shows
    taken = queue.dequeue()
    assert taken.args == ("2",)
    queue.release(taken)
    assert queue.dequeue() is None  # scene 1 waits for the burst to end
    queue.storage.quiet = 0.0  # no job queued since: the burst is over
    assert queue.dequeue().args == ("1",)
    assert queue.storage.held_count() == 0


def test_a_job_queued_while_its_identity_runs_is_held_too(backend: str, tmp_path: Path):
    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY))
    queue.sync("1")
    running = queue.dequeue()
    queue.sync("1")
    queue.release(running)
    assert queue.dequeue() is None
    queue.storage.quiet = 0.0
    assert queue.dequeue().args == ("1",)


def test_a_held_job_is_not_held_past_the_hold_however_busy_the_queue_stays(backend: str, tmp_path: Path):
    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY, hold=0.2))
    queue.sync("1")
    queue.release(queue.dequeue())
    queue.sync("1")
    deadline = time.monotonic() + 30
    taken = None
    while taken is None and time.monotonic() < deadline:
        queue.sync("2")  # the queue never goes quiet
        taken = next((t for t in iter(queue.dequeue, None) if t.args == ("1",) or queue.release(t)), None)
        time.sleep(0.02)
    assert taken is not None and taken.args == ("1",)


def _drain(queue, synced: dict[str, list[int]], version_of) -> None:
    """Take every job a worker may take now; each 'sync' reads the scene's current version."""
    for task in iter(queue.dequeue, None):
        synced.setdefault(task.args[0], []).append(version_of(task.args[0]))
        queue.release(task)


def test_rounds_of_edits_sync_each_scene_at_most_twice_and_the_last_sync_reads_the_last_edit(
    backend: str, tmp_path: Path
):
    """Every scene edited in 5 rounds while a worker keeps up (the pattern that gave 3 syncs per scene)."""
    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY))
    version: dict[str, int] = {}
    synced: dict[str, list[int]] = {}
    scenes = [str(n) for n in range(1, 41)]
    for round_ in range(5):
        for n, scene in enumerate(scenes):
            version[scene] = round_  # the edit is saved, then its hook queues the sync
            queue.sync(scene)
            if n % 7 == 0:
                _drain(queue, synced, version.__getitem__)
        _drain(queue, synced, version.__getitem__)
    queue.storage.quiet = 0.0
    _drain(queue, synced, version.__getitem__)
    assert waiting(queue) == []
    assert max(len(versions) for versions in synced.values()) == 2
    assert {scene: versions[-1] for scene, versions in synced.items()} == dict.fromkeys(scenes, 4)


PRODUCER = """
import sqlite3, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.integration.test_queue_coalescing import _build, _with_tasks
queue = _with_tasks(_build({backend!r}, Path({path!r}), quiet={busy!r}))
edits = sqlite3.connect({edits!r}, timeout=60, isolation_level=None)
for round_ in range({rounds!r}):
    for scene in {scenes!r}:
        edits.execute("insert into edit (scene) values (?)", (scene,))  # Stash saves, then runs the hook
        queue.sync(scene)
"""


def test_concurrent_hooks_sync_each_scene_at_most_twice_and_the_last_sync_reads_the_newest_edit(
    backend: str, tmp_path: Path
):
    """4 hook processes side by side, a worker taking jobs meanwhile: each sync reads the newest edit
    of its scene when it starts (as a sync reads Stash), and the last one must be the scene's last edit."""
    edits_path = tmp_path / "edits.db"
    edits = sqlite3.connect(edits_path, isolation_level=None, timeout=60, check_same_thread=False)
    edits.execute("pragma journal_mode=wal")
    edits.execute("create table edit (id integer primary key, scene text not null)")

    def newest(scene: str) -> int:
        return edits.execute("select max(id) from edit where scene = ?", (scene,)).fetchone()[0]

    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY))
    scenes = [str(n) for n in range(1, 61)]
    producers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                PRODUCER.format(
                    repo=str(REPO),
                    backend=backend,
                    path=str(tmp_path / "q.db"),
                    busy=BUSY,
                    edits=str(edits_path),
                    rounds=5,
                    scenes=scenes[share::2],  # two producers per share of the scenes: concurrent hooks per scene
                ),
            ],
            cwd=REPO,
        )
        for share in (0, 1, 0, 1)
    ]
    synced: dict[str, list[int]] = {}
    deadline = time.monotonic() + 240
    while any(p.poll() is None for p in producers) and time.monotonic() < deadline:
        _drain(queue, synced, newest)
        time.sleep(0.005)
    assert [p.wait(timeout=60) for p in producers] == [0, 0, 0, 0]
    _drain(queue, synced, newest)
    queue.storage.quiet = 0.0  # the burst is over
    _drain(queue, synced, newest)
    assert waiting(queue) == [] and queue.storage.claims() == 0
    assert max(len(versions) for versions in synced.values()) <= 2, synced
    assert {scene: versions[-1] for scene, versions in synced.items()} == {scene: newest(scene) for scene in scenes}


def test_a_job_that_ran_goes_back_unheld_and_ends_the_hold_of_the_newer_one(backend: str, tmp_path: Path):
    """A retry that is due, or a job interrupted by shutdown, is not a new edit: a busy queue must not
    put it off (the worker's outage and scan waits depend on it)."""
    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY))
    queue.sync("1")
    running = queue.dequeue()
    queue.sync("1")  # an edit during the sync: held
    queue.requeue(running)  # the sync failed and is due again
    queue.release(running)
    assert waiting(queue) == [("sync", ("1",))]
    assert queue.dequeue().args == ("1",)


def test_a_due_retry_is_not_held(backend: str, tmp_path: Path):
    queue = _with_tasks(_build(backend, tmp_path / "q.db", quiet=BUSY))
    queue.sync("1")
    running = queue.dequeue()
    queue.add_schedule(running)  # what huey does with a retry that has a delay (eta unset: due now)
    queue.release(running)
    queue.sync("2")  # the queue is busy
    assert queue.read_schedule() == []  # due jobs are queued by the storage itself
    assert sorted(t.args for t in iter(queue.dequeue, None)) == [("1",), ("2",)]


def test_a_claim_that_could_not_be_released_goes_back_in_the_queue_once_it_can_be_written(tmp_path: Path):
    """A full disk fails the release of a job that ran (and huey's scheduling of its retry): the
    claim is all that is left of it, and it would hold its scene's next sync back forever."""
    queue = _with_tasks(_build("sqlite", tmp_path / "q.db"))
    queue.sync("1", priority=EDIT)
    running = queue.dequeue()
    queue.storage.conn.execute("pragma query_only = on")  # SQLite refuses every write, as on a full disk
    with pytest.raises(sqlite3.OperationalError):
        queue.release(running)
    queue.storage.conn.execute("pragma query_only = off")
    queue.sync("1", priority=EDIT)  # edited meanwhile: waits behind the claim
    assert queue.storage.claims() == 1 and queue.dequeue() is None
    assert queue.requeue_unreleased() == 1
    assert queue.storage.claims() == 0
    assert waiting(queue) == [("sync", ("1",))]  # merged with the waiting edit: one sync
    assert queue.requeue_unreleased() == 0
