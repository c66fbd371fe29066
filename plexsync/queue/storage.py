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
own process 50-200 ms after the last, become one sync.

**Bursts** (bulk edits, Identify over many scenes: thousands of hooks in a
row, issue #9) would still sync a scene once per *round* of edits when a
worker keeps up with the rounds: its job runs, the next round queues a new
one, that runs, the round after queues another. So a job queued for an
identity that is running, or that a worker took less than :data:`HOLD`
seconds ago (it is *hot*), is *held*: no worker takes it while the queue is
*busy* (any job was queued in the last ``quiet`` seconds, :data:`SETTLE` by
default), and at most :data:`HOLD` seconds after it was queued. A burst is
then at most two syncs of a scene however its edits interleave: the first
(prompt: a cold scene is not held), and one after the burst has gone quiet,
which reads Stash after the last edit; a burst longer than :data:`HOLD` adds
one sync per :data:`HOLD` seconds. A single edit of a scene synced minutes
ago, on a quiet queue, waits no longer than before (the queue is quiet
:data:`SETTLE` seconds after it). Holding never drops a job and never lets
one run beside another of its identity: the newest edit still wins.

This holds for every task here because every task body reads the current
state and writes all of it (a sync is a function of Stash's state, not of
the event that asked for it).
"""

from __future__ import annotations

import os
import struct
import time

from huey.storage import PriorityRedisStorage, SqliteStorage

TYPE_CHECKING = False  # not typing's: the hook loads this module, and typing costs it milliseconds (issue #9)
if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Collection
    from typing import Any


def _host_name() -> str:
    """``socket.gethostname()`` without importing socket in every hook (POSIX's uname nodename is the same)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


HOST = _host_name()
#: Who holds a claim: host, pid and a per-process nonce (pids get reused).
OWNER = f"{HOST}:{os.getpid()}:{os.urandom(4).hex()}"


#: A claim older than this is an orphan whoever holds it: no job runs an hour
#: (every HTTP call has a timeout). This is how claims of a machine or
#: container that is gone for good (another host name) come back.
CLAIM_HORIZON = 3600.0


#: Seconds a newly queued job waits before a worker may take it, to gather
#: the events of a scene saved several times in a row (Identify, a scraper,
#: plugins reacting to the first save). An edit reaches Plex this much later.
SETTLE = 1.0
#: Seconds an identity stays *hot* after a worker took it, and the longest a
#: held job waits for a busy queue to go quiet (see the module doc): longer
#: than a bulk edit of thousands of scenes takes. The price: while hooks keep
#: coming for longer (a scan of a big library), an edit of a scene synced in
#: the last few minutes reaches Plex up to this much later.
HOLD = 300.0
#: The SQLite schema this module creates (``pragma user_version``): a hook
#: that finds it current skips the DDL, an exclusive transaction of its own.
SCHEMA_VERSION = 2


#: The huey queue's name (its rows and keys in the storage).
QUEUE_NAME = "plexsync"


def storage_options(data_dir: str, redis_url: str | None) -> tuple[type, dict[str, Any]]:
    """The storage class and its options: the one place that says where the queue
    is, for the consumer's huey (:mod:`plexsync.queue.instance`) and for the hook
    (:mod:`plexsync.queue.producer`) alike."""
    if redis_url:
        return ReliablePriorityRedisStorage, {"url": redis_url}
    os.makedirs(data_dir, exist_ok=True)
    # timeout: seconds a writer waits for the lock: hooks fire in bursts
    return ReliableSqliteStorage, {"filename": os.path.join(data_dir, "queue.db"), "timeout": 30}


#: The keyword argument that says when a job was queued, not what it does:
#: two jobs that differ only in it are one job (the newer message is kept).
QUEUED_AT = "queued_at"


def job_identity(name: str, args: tuple | list | None, kwargs: dict | None) -> str:
    """What makes two queued jobs the same job: task name and arguments
    (:data:`QUEUED_AT` aside).

    ``repr`` rather than JSON: the hook pays for every import, and the
    arguments are short strings whose repr is stable. It never holds a NUL
    (repr escapes it), which the Redis member format below relies on.
    """
    identity = f"{name}:{tuple(args or ())!r}"
    shown = sorted(item for item in kwargs.items() if item[0] != QUEUED_AT) if kwargs else None
    return f"{identity}:{shown!r}" if shown else identity


def identity_of_message(data: bytes) -> str:
    """The :func:`job_identity` of a job serialized by huey's default serializer (pickle)."""
    import pickle

    message = pickle.loads(data)
    return job_identity(message.name, message.args, message.kwargs)


def owner_is_gone(owner: str, claimed_at: float) -> bool:
    """True when the claim's holder cannot be running the job any more."""
    host, _, rest = owner.partition(":")
    if owner == OWNER:
        return False
    if host != HOST:
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


class _Coalescing:
    """What both storages take to coalesce and hold jobs (see the module doc)."""

    #: Set by the huey instance: the identity of a serialized job (None: never coalesced).
    key_of: Callable[[bytes], str | None] | None = None
    #: Set by the huey instance: True while it puts back a job that ran (never held, see the module doc).
    is_requeue: Callable[[], bool] | None = None

    def __init__(
        self, *args: Any, settle: float = SETTLE, quiet: float | None = None, hold: float = HOLD, **kwargs: Any
    ) -> None:
        self.settle = settle
        self.quiet = settle if quiet is None else quiet
        self.hold = hold
        super().__init__(*args, **kwargs)


class ReliableSqliteStorage(_Coalescing, SqliteStorage):
    table_claim = (
        "create table if not exists claim ("
        "id integer not null primary key, queue text not null, data blob not null, "
        "priority real not null default 0.0, owner text not null, claimed_at real not null, job_key text)"
    )
    #: Identities a worker took lately (hot, see the module doc), and when each queue last had a job queued.
    table_recent = (
        "create table if not exists recent (queue text not null, job_key text not null, "
        "claimed_at real not null, primary key (queue, job_key))"
    )
    table_activity = "create table if not exists activity (queue text not null primary key, queued_at real not null)"
    ddl = [*SqliteStorage.ddl, table_claim, table_recent, table_activity]
    #: Columns added to tables of an older queue.db (``create table if not exists`` keeps those as they were).
    added_columns = (
        ("task", "job_key text"),
        ("task", "ready_at real"),
        ("task", "held_since real"),
        ("claim", "job_key text"),
    )
    indexes = (
        "create unique index if not exists task_job_key on task (queue, job_key) where job_key is not null",
        "create index if not exists task_held on task (queue, held_since) where held_since is not null",
        "create index if not exists claim_job_key on claim (queue, job_key)",
        "create index if not exists recent_claimed_at on recent (queue, claimed_at)",
    )
    #: One statement: a waiting job of the same identity is updated in place
    #: (keeping its place in line, its ready time and its hold), never
    #: duplicated; a new one is held when its identity is hot.
    upsert = (
        "insert into task (queue, data, priority, job_key, ready_at, held_since) values (?1, ?2, ?3, ?4, ?5, "
        "case when ?6 and (exists (select 1 from claim where queue = ?1 and job_key = ?4) "
        "or exists (select 1 from recent where queue = ?1 and job_key = ?4 and claimed_at > ?7)) then ?8 end) "
        "on conflict (queue, job_key) where job_key is not null do update set "
        "data = case when excluded.priority >= task.priority then excluded.data else task.data end, "
        "priority = max(task.priority, excluded.priority), "
        "held_since = case when ?6 then task.held_since end"  # a job that ran already ends the hold
    )

    def initialize_schema(self) -> None:
        with self.db() as curs:
            if curs.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION:
                return  # every hook would otherwise run the DDL in an exclusive transaction
        with self.db(commit=True, close=True) as curs:
            curs.execute(f"pragma user_version = {SCHEMA_VERSION}")
            for sql in self.ddl:
                curs.execute(sql)
            for table, column in self.added_columns:
                names = {row[1] for row in curs.execute(f"pragma table_info({table})")}
                if column.split()[0] not in names:
                    curs.execute(f"alter table {table} add column {column}")
            for sql in self.indexes:
                curs.execute(sql)

    def _insert(
        self,
        curs: Any,
        data: Any,
        priority: float,
        key: str | None,
        ready_at: float | None = None,
        now: float | None = None,
    ) -> None:
        """Queue a job; one with an identity merges into a waiting one of the
        same. ``now``: a new job, held if its identity is hot; without it the
        job ran already (a retry, an interrupted or recovered job): never held,
        and a held job it merges into is held no more."""
        if key is None:
            curs.execute(
                "insert into task (queue, data, priority, ready_at) values (?, ?, ?, ?)",
                (self.name, data, priority, ready_at),
            )
        else:
            hot_since = 0.0 if now is None else now - self.hold
            curs.execute(self.upsert, (self.name, data, priority, key, ready_at, now is not None, hot_since, now))

    def enqueue(self, data: bytes, priority: float | None = None) -> None:
        key = self.key_of(data) if self.key_of else None
        fresh = not (self.is_requeue and self.is_requeue())
        now = time.time()
        with self.db(commit=True) as curs:
            self._insert(curs, self.to_blob(data), priority or 0, key, now + self.settle, now if fresh else None)
            if key is not None and fresh:
                curs.execute(
                    "insert into activity (queue, queued_at) values (?, ?) "
                    "on conflict (queue) do update set queued_at = excluded.queued_at",
                    (self.name, now),
                )

    def claim(self) -> tuple[int, bytes] | None:
        """Pop the next settled, unheld job whose identity is not running, and record the claim, atomically."""
        if not self.sql("select 1 from task where queue = ? limit 1", (self.name,), results=True):
            return None
        now = time.time()
        with self.db(commit=True) as curs:
            last = curs.execute("select queued_at from activity where queue = ?", (self.name,)).fetchone()
            if last is None or last[0] <= now - self.quiet:  # quiet: the holds end
                curs.execute("update task set held_since = null where queue = ? and held_since > 0", (self.name,))
            curs.execute(
                "select id, data, priority, job_key from task t where queue = ? "
                "and (ready_at is null or ready_at <= ?) and (held_since is null or held_since <= ?) "
                "and (job_key is null or "
                "not exists (select 1 from claim c where c.queue = t.queue and c.job_key = t.job_key)) "
                "order by priority desc, id limit 1",
                (self.name, now, now - self.hold),
            )
            row = curs.fetchone()
            if row is None:
                return None
            task_id, data, priority, key = row
            curs.execute("delete from task where id = ?", (task_id,))
            curs.execute(
                "insert into claim (queue, data, priority, owner, claimed_at, job_key) values (?, ?, ?, ?, ?, ?)",
                (self.name, data, priority, OWNER, now, key),
            )
            claim_id = curs.lastrowid
            if key is not None:
                curs.execute(
                    "insert into recent (queue, job_key, claimed_at) values (?, ?, ?) "
                    "on conflict (queue, job_key) do update set claimed_at = excluded.claimed_at",
                    (self.name, key, now),
                )
                curs.execute("delete from recent where queue = ? and claimed_at <= ?", (self.name, now - self.hold))
            return claim_id, bytes(data)

    def release(self, claim_id: int) -> None:
        self.sql("delete from claim where id = ?", (claim_id,), commit=True)

    def waiting_above(self, priority: float) -> bool:
        """True when a job more urgent than ``priority`` waits to be taken (a long
        bulk job then makes way). A held job is not: it waits for the queue to go
        quiet, and a bulk page making way for it would keep the queue busy."""
        found = self.sql(
            "select 1 from task where queue = ? and priority > ? and held_since is null limit 1",
            (self.name, priority),
            results=True,
        )
        return bool(found)

    def held_count(self) -> int:
        """Jobs waiting, held while a burst goes on (see the module doc)."""
        query = "select count(*) from task where queue = ? and held_since is not null"
        return int(self.sql(query, (self.name,), results=True)[0][0])

    def recover(self, claim_ids: Collection[int] = ()) -> int:
        """Put back in the queue every job claimed by a dead process, and those
        of ``claim_ids`` (merged with a waiting job of the same identity, if there is one)."""
        rows = self.sql("select id, owner, claimed_at from claim where queue = ?", (self.name,), results=True)
        recovered = 0
        for claim_id, owner, claimed_at in rows:
            if claim_id not in claim_ids and not owner_is_gone(owner, claimed_at):
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

    def states_of(self, identity: str) -> set[str]:
        """Where jobs of ``identity`` are (its keyword variants included: the same
        identity followed by ``:``): ``running``, ``queued``, ``held``."""
        like = identity.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
        match = "(job_key = ? or job_key like ? escape '\\')"
        found = set()
        params = (self.name, identity, like)
        if self.sql(f"select 1 from claim where queue = ? and {match} limit 1", params, results=True):
            found.add("running")
        rows = self.sql(f"select held_since from task where queue = ? and {match}", params, results=True)
        found.update("held" if held else "queued" for (held,) in rows)
        return found

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
# member, ``running`` an identity to the claim that holds it. A held member
# (see the module doc) waits in the ``held`` zset instead (same score) and in
# ``held_at`` (scored by when it was queued); ``recent`` scores identities by
# when a worker last took them; ``activity`` is the time a job was last queued.
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
-- The zset (queue or held) holding the waiting member, and its score.
local function waiting(queue, held, member)
  local score = redis.call('ZSCORE', queue, member)
  if score then return queue, score end
  score = redis.call('ZSCORE', held, member)
  if score then return held, score end
  return false, false
end
-- Put member in place of old in zset (held_at follows a held one).
local function replace(zset, held, held_at, old, member, score)
  redis.call('ZREM', zset, old)
  redis.call('ZADD', zset, score, member)
  if zset == held then
    local at = redis.call('ZSCORE', held_at, old)
    redis.call('ZREM', held_at, old)
    redis.call('ZADD', held_at, at, member)
  end
end
"""
# KEYS: queue zset, pending hash, held zset, held_at zset, running hash, recent zset, activity.
# ARGV: identity, score, prefix, member tail, now, hot since (now - hold), fresh (1: new; 0: a job that ran).
_ENQUEUE_LUA = (
    _KEY_OF_LUA
    + """\
local fresh = ARGV[7] == '1'
if fresh then redis.call('SET', KEYS[7], ARGV[5]) end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local zset, old_score = waiting(KEYS[1], KEYS[3], old)
  if zset == KEYS[3] and not fresh then  -- a job that ran ends the hold
    redis.call('ZREM', KEYS[3], old)
    redis.call('ZREM', KEYS[4], old)
    redis.call('ZADD', KEYS[1], old_score, old)
    zset = KEYS[1]
  end
  if zset then
    if tonumber(ARGV[2]) <= tonumber(old_score) then
      local member = string.sub(old, 1, 8) .. ARGV[4]
      replace(zset, KEYS[3], KEYS[4], old, member, ARGV[2])
      redis.call('HSET', KEYS[2], ARGV[1], member)
    end
    return 0
  end
end
local member = ARGV[3] .. ARGV[4]
local hot = fresh and redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1
if fresh and not hot then
  local taken = redis.call('ZSCORE', KEYS[6], ARGV[1])
  hot = taken and tonumber(taken) > tonumber(ARGV[6])
end
if hot then
  redis.call('ZADD', KEYS[3], ARGV[2], member)
  redis.call('ZADD', KEYS[4], ARGV[5], member)
else
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
redis.call('HSET', KEYS[2], ARGV[1], member)
return 1
"""
)
# KEYS: queue zset, claims hash, claim counter, pending hash, running hash, held zset, held_at zset,
# recent zset, activity.
# ARGV: owner, time, settled (microseconds: members queued before it have settled),
# quiet before (a queue whose last job was queued before this is quiet), held before (held longer: due).
# First the held members that are due (all of them when the queue is quiet) join the queue.
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
local last = redis.call('GET', KEYS[9])
local due
if not last or tonumber(last) <= tonumber(ARGV[4]) then
  due = redis.call('ZRANGE', KEYS[7], 0, -1)
else
  due = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', ARGV[5])
end
for _, m in ipairs(due) do
  local s = redis.call('ZSCORE', KEYS[6], m)
  redis.call('ZREM', KEYS[6], m)
  redis.call('ZREM', KEYS[7], m)
  if s then redis.call('ZADD', KEYS[1], s, m) end
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
  redis.call('ZADD', KEYS[8], ARGV[2], key)
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', ARGV[5])
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
# KEYS: queue zset, claims hash, pending hash, running hash, held zset, held_at zset. ARGV: claim id.
# A recovered job is never held (it was running already); a held job of its identity takes its place.
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
  if old then
    local zset, old_score = waiting(KEYS[1], KEYS[5], old)
    if zset == KEYS[1] then
      if tonumber(score) < tonumber(old_score) then
        replace(zset, KEYS[5], KEYS[6], old, member, score)
        redis.call('HSET', KEYS[3], key, member)
      end
      return 1
    end
    if zset then  -- held: the job joins the queue now, as the more urgent of the two
      if tonumber(old_score) < tonumber(score) then member, score = old, old_score end
      redis.call('ZREM', KEYS[5], old)
      redis.call('ZREM', KEYS[6], old)
    end
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


class _ReliableRedisMixin(_Coalescing):
    """Claims and coalescing for ``PriorityRedisStorage`` (uses its ``conn`` and ``queue_key``)."""

    conn: Any
    queue_key: str

    blocking = False  # Lua cannot block: the consumer polls (tune with -d/-m)

    def _keys(self) -> tuple[str, str, str, str]:
        """claims, claim counter, pending, running."""
        q = self.queue_key
        return f"{q}.claims", f"{q}.claim_ids", f"{q}.pending", f"{q}.running"

    def _burst_keys(self) -> tuple[str, str, str, str]:
        """held, held_at, recent, activity (see the module doc)."""
        q = self.queue_key
        return f"{q}.held", f"{q}.held_at", f"{q}.recent", f"{q}.activity"

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
        requeue = bool(self.is_requeue and self.is_requeue())
        now = time.time()
        prefix = struct.pack(">Q", int(now * 1e6))  # as huey's: same priority, first come first served
        tail = b"\0" + key.encode() + b"\0" + data
        _, _, pending, running = self._keys()
        held, held_at, recent, activity = self._burst_keys()
        self._script(_ENQUEUE_LUA)(
            keys=[self.queue_key, pending, held, held_at, running, recent, activity],
            args=[key, score, prefix, tail, repr(now), repr(now - self.hold), 0 if requeue else 1],
        )

    def claim(self) -> tuple[int, bytes] | None:
        claims, counter, pending, running = self._keys()
        now = time.time()
        settled = int((now - self.settle) * 1e6)
        result = self._script(_CLAIM_LUA)(
            keys=[self.queue_key, claims, counter, pending, running, *self._burst_keys()],
            args=[OWNER, repr(now), settled, repr(now - self.quiet), repr(now - self.hold)],
        )
        if not result:
            return None
        claim_id, member = result
        return int(claim_id), _data_of(bytes(member))

    def release(self, claim_id: int) -> None:
        claims, _, _, running = self._keys()
        self._script(_RELEASE_LUA)(keys=[claims, running], args=[claim_id])

    def recover(self, claim_ids: Collection[int] = ()) -> int:
        claims, _, pending, running = self._keys()
        held, held_at, _, _ = self._burst_keys()
        recovered = 0
        for claim_id, value in self.conn.hgetall(claims).items():
            owner, claimed_at, _ = bytes(value).split(b"\n", 2)
            if int(claim_id) in claim_ids or owner_is_gone(owner.decode(), float(claimed_at)):
                recovered += self._script(_RECOVER_LUA)(
                    keys=[self.queue_key, claims, pending, running, held, held_at], args=[claim_id]
                )
        return recovered

    def claims(self) -> int:
        return self.conn.hlen(self._keys()[0])

    def states_of(self, identity: str) -> set[str]:
        """As the SQLite storage's: ``running``, ``queued``, ``held`` (a scan of
        the pending and running hashes, matching the identity and its variants)."""
        _, _, pending, running = self._keys()
        held = self._burst_keys()[0]
        glob = "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in identity)
        found = set()
        for pattern in (glob, glob + ":*"):
            if next(iter(self.conn.hscan_iter(running, match=pattern, count=1000)), None) is not None:
                found.add("running")
            for _, member in self.conn.hscan_iter(pending, match=pattern, count=1000):
                found.add("held" if self.conn.zscore(held, member) is not None else "queued")
        return found

    def held_count(self) -> int:
        return self.conn.zcard(self._burst_keys()[0])

    def waiting_above(self, priority: float) -> bool:
        """As the SQLite storage's (scores are negated priorities; held jobs wait in their own zset)."""
        return bool(self.conn.zrangebyscore(self.queue_key, "-inf", f"({-priority}", start=0, num=1))

    def queue_size(self) -> int:
        return self.conn.zcard(self.queue_key) + self.conn.zcard(self._burst_keys()[0])

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        """Waiting jobs, held ones among them, in the order of priority and queue time."""
        scored = [
            (score, bytes(member))
            for zset in (self.queue_key, self._burst_keys()[0])
            for member, score in self.conn.zrange(zset, 0, -1, withscores=True)
        ]
        return [_data_of(member) for _, member in sorted(scored)[:limit]]

    def flush_queue(self) -> None:
        super().flush_queue()  # type: ignore[misc]
        self.conn.delete(*self._keys(), *self._burst_keys())


class ReliablePriorityRedisStorage(_ReliableRedisMixin, PriorityRedisStorage):
    pass
