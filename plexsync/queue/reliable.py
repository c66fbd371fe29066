"""huey storages that never lose the job they are running.

huey deletes a job from its queue before running it (../shared/huey-facts.md):
a consumer killed with SIGKILL, or a power cut, loses the job in flight. Here
``dequeue`` moves the job into a *claims* table (a hash on Redis) in the same
transaction, so at every instant a job is either queued, scheduled or
claimed. The claim is released once huey has finished with the job (done,
dead-lettered, or back in the schedule for a retry). When a consumer starts,
claims held by processes that no longer exist go back into the queue.

The SQLite storage also moves due jobs from the schedule to the queue in one
transaction, closing the same gap for scheduled retries.
"""

from __future__ import annotations

import datetime
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Task
from huey.storage import PriorityRedisStorage, SqliteStorage

#: Who holds a claim: host, pid and a per-process nonce (pids get reused).
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


#: A claim older than this is an orphan whoever holds it: no job runs an hour
#: (every HTTP call has a timeout). This is how claims of a machine or
#: container that is gone for good (another host name) come back.
CLAIM_HORIZON = 3600.0


def owner_is_gone(owner: str, claimed_at: float) -> bool:
    """True when the claim's holder cannot be running the job any more."""
    host, _, rest = owner.partition(":")
    if owner == OWNER:
        return False
    if host != socket.gethostname():
        return time.time() - claimed_at > CLAIM_HORIZON
    pid = int(rest.partition(":")[0])
    if pid == os.getpid():
        return True  # our pid with another nonce: this process was re-executed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process whose parent has not reaped it yet still answers ``kill(pid, 0)``.

    A worker the plugin started outlives the hook that started it, so its
    parent becomes the container's PID 1, which may reap late or never.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return False  # no /proc (not Linux): trust kill()


class ReliableSqliteStorage(SqliteStorage):
    table_claim = (
        "create table if not exists claim ("
        "id integer not null primary key, queue text not null, data blob not null, "
        "priority real not null default 0.0, owner text not null, claimed_at real not null)"
    )
    ddl = [*SqliteStorage.ddl, table_claim]

    def claim(self) -> tuple[int, bytes] | None:
        """Pop the next job and record the claim, atomically."""
        if not self.sql("select 1 from task where queue = ? limit 1", (self.name,), results=True):
            return None
        with self.db(commit=True) as curs:
            curs.execute(
                "select id, data, priority from task where queue = ? order by priority desc, id limit 1",
                (self.name,),
            )
            row = curs.fetchone()
            if row is None:
                return None
            task_id, data, priority = row
            curs.execute("delete from task where id = ?", (task_id,))
            curs.execute(
                "insert into claim (queue, data, priority, owner, claimed_at) values (?, ?, ?, ?, ?)",
                (self.name, data, priority, OWNER, time.time()),
            )
            return curs.lastrowid, bytes(data)

    def release(self, claim_id: int) -> None:
        self.sql("delete from claim where id = ?", (claim_id,), commit=True)

    def recover(self) -> int:
        """Put back in the queue every job claimed by a dead process."""
        rows = self.sql("select id, owner, claimed_at from claim where queue = ?", (self.name,), results=True)
        recovered = 0
        for claim_id, owner, claimed_at in rows:
            if not owner_is_gone(owner, claimed_at):
                continue
            with self.db(commit=True) as curs:
                curs.execute(
                    "insert into task (queue, data, priority) select queue, data, priority from claim where id = ?",
                    (claim_id,),
                )
                curs.execute("delete from claim where id = ?", (claim_id,))
                recovered += curs.rowcount
        return recovered

    def claims(self) -> int:
        return self.sql("select count(*) from claim where queue = ?", (self.name,), results=True)[0][0]

    def promote_schedule(self, ts: datetime.datetime, priority_of: Callable[[bytes], float]) -> int:
        """Move due jobs from the schedule into the queue in one transaction."""
        with self.db(commit=True) as curs:
            curs.execute(
                "select id, data from schedule where queue = ? and timestamp <= ?",
                (self.name, ts.timestamp()),  # as huey's own read_schedule
            )
            due = curs.fetchall()
            for row_id, data in due:
                curs.execute(
                    "insert into task (queue, data, priority) values (?, ?, ?)",
                    (self.name, data, priority_of(bytes(data)) or 0),
                )
                curs.execute("delete from schedule where id = ?", (row_id,))
        return len(due)


# KEYS: queue zset, claims hash, claim counter. ARGV: owner, time.
# A claim's value: owner, claim time, score and member, newline-separated
# (only the member, last, may hold newlines).
_CLAIM_LUA = """\
local items = redis.call('ZPOPMIN', KEYS[1], 1)
if #items == 0 then return false end
local id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], id, ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. items[2] .. '\\n' .. items[1])
return {id, items[1]}
"""
# KEYS: queue zset, claims hash. ARGV: claim id, score, member.
_RECOVER_LUA = """\
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class _ReliableRedisMixin:
    """Claims for ``PriorityRedisStorage`` (uses its ``conn`` and ``queue_key``)."""

    conn: Any
    queue_key: str

    blocking = False  # Lua cannot block: the consumer polls (tune with -d/-m)

    def _claim_keys(self) -> tuple[str, str]:
        return f"{self.queue_key}.claims", f"{self.queue_key}.claim_ids"

    def claim(self) -> tuple[int, bytes] | None:
        claims, counter = self._claim_keys()
        result = self.conn.eval(_CLAIM_LUA, 3, self.queue_key, claims, counter, OWNER, repr(time.time()))
        if not result:
            return None
        claim_id, member = result
        return int(claim_id), bytes(member)[8:]  # strip the ordering prefix

    def release(self, claim_id: int) -> None:
        self.conn.hdel(self._claim_keys()[0], claim_id)

    def recover(self) -> int:
        claims, _ = self._claim_keys()
        recovered = 0
        for claim_id, value in self.conn.hgetall(claims).items():
            owner, claimed_at, score, member = bytes(value).split(b"\n", 3)
            if owner_is_gone(owner.decode(), float(claimed_at)):
                recovered += self.conn.eval(_RECOVER_LUA, 2, self.queue_key, claims, claim_id, score, member)
        return recovered

    def claims(self) -> int:
        return self.conn.hlen(self._claim_keys()[0])

    def flush_queue(self) -> None:
        super().flush_queue()  # type: ignore[misc]
        self.conn.delete(*self._claim_keys())


class _ReliableHueyMixin:
    """Dequeue by claim; release once huey is done with the job."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._claims: dict[str, int] = {}
        self._claims_lock = threading.Lock()

    def dequeue(self) -> Task | None:
        claimed = self.storage.claim()
        if claimed is None:
            return None
        claim_id, data = claimed
        try:
            task = self.deserialize_task(data)
        except Exception:
            self.storage.release(claim_id)  # unreadable: huey would drop it too
            raise
        with self._claims_lock:
            self._claims[task.id] = claim_id
        return task

    def execute(self, task: Task, timestamp: object = None) -> object:
        try:
            return super().execute(task, timestamp)  # type: ignore[misc]
        finally:
            self.release(task)

    def release(self, task: Task) -> None:
        """huey is done with ``task`` (or put it back in the queue itself)."""
        with self._claims_lock:
            claim_id = self._claims.pop(task.id, None)
        if claim_id is not None:
            self.storage.release(claim_id)

    def recover_orphans(self) -> int:
        return self.storage.recover()


class ReliableSqliteHuey(_ReliableHueyMixin, SqliteHuey):
    storage_class = ReliableSqliteStorage

    def read_schedule(self, timestamp: object = None) -> list[Task]:
        if timestamp is None:
            timestamp = self._get_timestamp()
        self.storage.promote_schedule(timestamp, lambda data: self.deserialize_task(data).priority)
        return []  # already queued, atomically


class ReliablePriorityRedisStorage(_ReliableRedisMixin, PriorityRedisStorage):
    pass


class ReliablePriorityRedisHuey(_ReliableHueyMixin, PriorityRedisHuey):
    storage_class = ReliablePriorityRedisStorage
