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

Both storages also *coalesce*: a job is known by its task and arguments (its
:func:`job_identity`), and at most one job of an identity waits in the queue.
Queuing it again while it waits only raises its priority (and takes the newer
message when that is at least as urgent), so a burst of hooks for one scene is
one sync. A job that is running holds its identity in the claims: an edit
arriving meanwhile queues a new job, and no worker takes that one before the
running job is released, so the follow-up reads Stash after the edit and
writes Plex after the older sync. The newest edit always wins, and one
scene's syncs never overlap. A job newly queued *settles* for
:data:`SETTLE` seconds before a worker takes it (merging into it does not
extend that), so the hooks of several saves of one scene in a row, each its
own process 50-200 ms after the last, become one sync. This holds for every task here because every
task body reads the current state and writes all of it (a sync is a function
of Stash's state, not of the event that asked for it).
"""

from __future__ import annotations

import datetime
import os
import socket
import struct
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


#: Seconds a newly queued job waits before a worker may take it, to gather
#: the events of a scene saved several times in a row (Identify, a scraper,
#: plugins reacting to the first save). An edit reaches Plex this much later.
SETTLE = 1.0


def job_identity(name: str, args: tuple | list | None, kwargs: dict | None) -> str:
    """What makes two queued jobs the same job: task name and arguments.

    ``repr`` rather than JSON: the hook pays for every import, and the
    arguments are short strings whose repr is stable. It never holds a NUL
    (repr escapes it), which the Redis member format below relies on.
    """
    identity = f"{name}:{tuple(args or ())!r}"
    return f"{identity}:{sorted(kwargs.items())!r}" if kwargs else identity


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
        "priority real not null default 0.0, owner text not null, claimed_at real not null, job_key text)"
    )
    ddl = [*SqliteStorage.ddl, table_claim]
    #: Columns added to tables of an older queue.db (``create table if not exists`` keeps those as they were).
    added_columns = (("task", "job_key text"), ("task", "ready_at real"), ("claim", "job_key text"))
    indexes = (
        "create unique index if not exists task_job_key on task (queue, job_key) where job_key is not null",
        "create index if not exists claim_job_key on claim (queue, job_key)",
    )
    #: One statement: a waiting job of the same identity is updated in place
    #: (keeping its place in line and its ready time), never duplicated.
    upsert = (
        "insert into task (queue, data, priority, job_key, ready_at) values (?, ?, ?, ?, ?) "
        "on conflict (queue, job_key) where job_key is not null do update set "
        "data = case when excluded.priority >= task.priority then excluded.data else task.data end, "
        "priority = max(task.priority, excluded.priority)"
    )

    #: Set by the huey instance: the identity of a serialized job (None: never coalesced).
    key_of: Callable[[bytes], str | None] | None = None

    def __init__(self, *args: Any, settle: float = SETTLE, **kwargs: Any) -> None:
        self.settle = settle
        super().__init__(*args, **kwargs)

    def initialize_schema(self) -> None:
        with self.db(commit=True, close=True) as curs:
            for sql in self.ddl:
                curs.execute(sql)
            for table, column in self.added_columns:
                names = {row[1] for row in curs.execute(f"pragma table_info({table})")}
                if column.split()[0] not in names:
                    curs.execute(f"alter table {table} add column {column}")
            for sql in self.indexes:
                curs.execute(sql)

    def _insert(self, curs: Any, data: Any, priority: float, key: str | None, ready_at: float | None = None) -> None:
        """Queue a job; one with an identity merges into a waiting one of the same."""
        if key is None:
            curs.execute(
                "insert into task (queue, data, priority, ready_at) values (?, ?, ?, ?)",
                (self.name, data, priority, ready_at),
            )
        else:
            curs.execute(self.upsert, (self.name, data, priority, key, ready_at))

    def enqueue(self, data: bytes, priority: float | None = None) -> None:
        key = self.key_of(data) if self.key_of else None
        with self.db(commit=True) as curs:
            self._insert(curs, self.to_blob(data), priority or 0, key, time.time() + self.settle)

    def claim(self) -> tuple[int, bytes] | None:
        """Pop the next settled job whose identity is not running, and record the claim, atomically."""
        if not self.sql("select 1 from task where queue = ? limit 1", (self.name,), results=True):
            return None
        with self.db(commit=True) as curs:
            curs.execute(
                "select id, data, priority, job_key from task t where queue = ? "
                "and (ready_at is null or ready_at <= ?) and (job_key is null or "
                "not exists (select 1 from claim c where c.queue = t.queue and c.job_key = t.job_key)) "
                "order by priority desc, id limit 1",
                (self.name, time.time()),
            )
            row = curs.fetchone()
            if row is None:
                return None
            task_id, data, priority, key = row
            curs.execute("delete from task where id = ?", (task_id,))
            curs.execute(
                "insert into claim (queue, data, priority, owner, claimed_at, job_key) values (?, ?, ?, ?, ?, ?)",
                (self.name, data, priority, OWNER, time.time(), key),
            )
            return curs.lastrowid, bytes(data)

    def release(self, claim_id: int) -> None:
        self.sql("delete from claim where id = ?", (claim_id,), commit=True)

    def waiting_above(self, priority: float) -> bool:
        """True when a job more urgent than ``priority`` waits (a long bulk job then makes way)."""
        found = self.sql(
            "select 1 from task where queue = ? and priority > ? limit 1", (self.name, priority), results=True
        )
        return bool(found)

    def recover(self) -> int:
        """Put back in the queue every job claimed by a dead process (merged
        with a waiting job of the same identity, if there is one)."""
        rows = self.sql("select id, owner, claimed_at from claim where queue = ?", (self.name,), results=True)
        recovered = 0
        for claim_id, owner, claimed_at in rows:
            if not owner_is_gone(owner, claimed_at):
                continue
            with self.db(commit=True) as curs:
                row = curs.execute("select data, priority, job_key from claim where id = ?", (claim_id,)).fetchone()
                if row is None:
                    continue
                self._insert(curs, *row)
                curs.execute("delete from claim where id = ?", (claim_id,))
                recovered += curs.rowcount
        return recovered

    def claims(self) -> int:
        return self.sql("select count(*) from claim where queue = ?", (self.name,), results=True)[0][0]

    def promote_schedule(self, ts: datetime.datetime, priority_of: Callable[[bytes], float]) -> int:
        """Move due jobs from the schedule into the queue in one transaction
        (a due retry merges with a waiting job of the same identity, and has
        waited enough: it does not settle again)."""
        with self.db(commit=True) as curs:
            curs.execute(
                "select id, data from schedule where queue = ? and timestamp <= ?",
                (self.name, ts.timestamp()),  # as huey's own read_schedule
            )
            due = curs.fetchall()
            for row_id, data in due:
                raw = bytes(data)
                self._insert(curs, data, priority_of(raw) or 0, self.key_of(raw) if self.key_of else None)
                curs.execute("delete from schedule where id = ?", (row_id,))
        return len(due)


# Redis keeps a job as a member of huey's priority zset: an 8-byte ordering
# prefix, then (for a job with an identity) NUL, the identity, NUL, and the
# serialized job. Beside the zset: ``pending`` maps an identity to its waiting
# member, ``running`` an identity to the claim that holds it.
_KEY_OF_LUA = """\
local function key_of(member)
  if string.byte(member, 9) ~= 0 then return false end
  local stop = string.find(member, '\\0', 10, true)
  return string.sub(member, 10, stop - 1)
end
local function member_of(claim)
  local at = 0
  for _ = 1, 3 do at = string.find(claim, '\\n', at + 1, true) end
  return string.sub(claim, 1, at - 1), string.sub(claim, at + 1)
end
"""
# KEYS: queue zset, pending hash. ARGV: identity, score, prefix, member tail.
_ENQUEUE_LUA = """\
local old = redis.call('HGET', KEYS[2], ARGV[1])
local old_score = old and redis.call('ZSCORE', KEYS[1], old)
if old_score then
  if tonumber(ARGV[2]) <= tonumber(old_score) then
    local member = string.sub(old, 1, 8) .. ARGV[4]
    redis.call('ZREM', KEYS[1], old)
    redis.call('ZADD', KEYS[1], ARGV[2], member)
    redis.call('HSET', KEYS[2], ARGV[1], member)
  end
  return 0
end
local member = ARGV[3] .. ARGV[4]
redis.call('ZADD', KEYS[1], ARGV[2], member)
redis.call('HSET', KEYS[2], ARGV[1], member)
return 1
"""
# KEYS: queue zset, claims hash, claim counter, pending hash, running hash.
# ARGV: owner, time, settled (microseconds: members queued before it have settled).
# Each running identity holds back at most one waiting member, so (running + 1)
# members of a priority hold a claimable one if any is. Within a priority,
# members are in the order they were queued (the prefix is the time), so the
# first one that has not settled means none after it has: on to the next priority.
# A claim's value: owner, claim time, score and member, newline-separated
# (only the member, last, may hold newlines).
_CLAIM_LUA = (
    _KEY_OF_LUA
    + """\
local function queued_at(member)
  local t = 0
  for i = 1, 8 do t = t * 256 + string.byte(member, i) end
  return t
end
local window = redis.call('HLEN', KEYS[5]) + 1
local settled = tonumber(ARGV[3])
local min = '-inf'
local member, score, key
while not member do
  local items = redis.call('ZRANGEBYSCORE', KEYS[1], min, '+inf', 'WITHSCORES', 'LIMIT', 0, window)
  if #items == 0 then return false end
  local next_min = false
  for i = 1, #items, 2 do
    local k = key_of(items[i])
    if not k or redis.call('HEXISTS', KEYS[5], k) == 0 then
      if k and queued_at(items[i]) > settled then
        next_min = '(' .. items[i + 1]
      else
        member, score, key = items[i], items[i + 1], k
      end
      break
    end
  end
  if not member then
    if not next_min then return false end
    min = next_min
  end
end
redis.call('ZREM', KEYS[1], member)
local id = redis.call('INCR', KEYS[3])
if key then
  redis.call('HDEL', KEYS[4], key)
  redis.call('HSET', KEYS[5], key, id)
end
redis.call('HSET', KEYS[2], id, ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. score .. '\\n' .. member)
return {id, member}
"""
)
# KEYS: claims hash, running hash. ARGV: claim id.
_RELEASE_LUA = (
    _KEY_OF_LUA
    + """\
local claim = redis.call('HGET', KEYS[1], ARGV[1])
if not claim then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local _, member = member_of(claim)
local key = key_of(member)
if key and redis.call('HGET', KEYS[2], key) == ARGV[1] then redis.call('HDEL', KEYS[2], key) end
return 1
"""
)
# KEYS: queue zset, claims hash, pending hash, running hash. ARGV: claim id.
_RECOVER_LUA = (
    _KEY_OF_LUA
    + """\
local claim = redis.call('HGET', KEYS[2], ARGV[1])
if not claim then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local head, member = member_of(claim)
local score = string.sub(head, string.find(head, '[^\\n]*$'))
local key = key_of(member)
if key then
  if redis.call('HGET', KEYS[4], key) == ARGV[1] then redis.call('HDEL', KEYS[4], key) end
  local old = redis.call('HGET', KEYS[3], key)
  local old_score = old and redis.call('ZSCORE', KEYS[1], old)
  if old_score then
    if tonumber(score) < tonumber(old_score) then
      redis.call('ZREM', KEYS[1], old)
      redis.call('ZADD', KEYS[1], score, member)
      redis.call('HSET', KEYS[3], key, member)
    end
    return 1
  end
  redis.call('HSET', KEYS[3], key, member)
end
redis.call('ZADD', KEYS[1], score, member)
return 1
"""
)


def _data_of(member: bytes) -> bytes:
    """The serialized job inside a zset member (see the format above)."""
    if member[8:9] == b"\0":
        return member[member.index(b"\0", 9) + 1 :]
    return member[8:]


class _ReliableRedisMixin:
    """Claims and coalescing for ``PriorityRedisStorage`` (uses its ``conn`` and ``queue_key``)."""

    conn: Any
    queue_key: str

    blocking = False  # Lua cannot block: the consumer polls (tune with -d/-m)
    #: Set by the huey instance: the identity of a serialized job (None: never coalesced).
    key_of: Callable[[bytes], str | None] | None = None

    def __init__(self, *args: Any, settle: float = SETTLE, **kwargs: Any) -> None:
        self.settle = settle
        super().__init__(*args, **kwargs)

    def _keys(self) -> tuple[str, str, str, str]:
        """claims, claim counter, pending, running."""
        q = self.queue_key
        return f"{q}.claims", f"{q}.claim_ids", f"{q}.pending", f"{q}.running"

    def _script(self, source: str) -> Any:
        scripts = self.__dict__.setdefault("_scripts", {})
        if source not in scripts:
            scripts[source] = self.conn.register_script(source)
        return scripts[source]

    def enqueue(self, data: bytes, priority: float | None = None) -> None:
        key = self.key_of(data) if self.key_of else None
        if key is None:
            super().enqueue(data, priority)  # type: ignore[misc]
            return
        score = 0 if priority is None else -priority
        prefix = struct.pack(">Q", int(time.time() * 1e6))  # as huey's: same priority, first come first served
        tail = b"\0" + key.encode() + b"\0" + data
        pending = self._keys()[2]
        self._script(_ENQUEUE_LUA)(keys=[self.queue_key, pending], args=[key, score, prefix, tail])

    def claim(self) -> tuple[int, bytes] | None:
        claims, counter, pending, running = self._keys()
        now = time.time()
        settled = int((now - self.settle) * 1e6)
        result = self._script(_CLAIM_LUA)(
            keys=[self.queue_key, claims, counter, pending, running], args=[OWNER, repr(now), settled]
        )
        if not result:
            return None
        claim_id, member = result
        return int(claim_id), _data_of(bytes(member))

    def release(self, claim_id: int) -> None:
        claims, _, _, running = self._keys()
        self._script(_RELEASE_LUA)(keys=[claims, running], args=[claim_id])

    def recover(self) -> int:
        claims, _, pending, running = self._keys()
        recovered = 0
        for claim_id, value in self.conn.hgetall(claims).items():
            owner, claimed_at, _ = bytes(value).split(b"\n", 2)
            if owner_is_gone(owner.decode(), float(claimed_at)):
                recovered += self._script(_RECOVER_LUA)(
                    keys=[self.queue_key, claims, pending, running], args=[claim_id]
                )
        return recovered

    def claims(self) -> int:
        return self.conn.hlen(self._keys()[0])

    def waiting_above(self, priority: float) -> bool:
        """True when a job more urgent than ``priority`` waits (scores are negated priorities)."""
        return bool(self.conn.zrangebyscore(self.queue_key, "-inf", f"({-priority}", start=0, num=1))

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        items = self.conn.zrange(self.queue_key, 0, limit - 1 if limit else -1)
        return [_data_of(bytes(item)) for item in items]

    def flush_queue(self) -> None:
        super().flush_queue()  # type: ignore[misc]
        self.conn.delete(*self._keys())


class _ReliableHueyMixin:
    """Dequeue by claim; release once huey is done with the job."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._claims: dict[str, int] = {}
        self._claims_lock = threading.Lock()
        self.storage.key_of = self.identity_of

    def identity_of(self, data: bytes) -> str:
        """The :func:`job_identity` of a serialized job (every enqueue path goes
        through the storage, so this is where coalescing is decided)."""
        message = self.serializer.deserialize(data)  # type: ignore[attr-defined]
        return job_identity(message.name, message.args, message.kwargs)

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
