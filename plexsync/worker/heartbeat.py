"""Is a consumer alive? Every consumer beats; hooks, tasks and ``plexsync status`` read the beat.

The beat lives in huey's key-value storage (``huey.put`` / ``huey.get(peek=True)``):
the ``kv`` table of ``queue.db`` on SQLite, the results hash on Redis. So with
``PLEXSYNC_REDIS_URL`` a consumer on another machine is seen from Stash's
machine, and nothing else needs configuring.

One key holds the most recent beat of any consumer: every consumer overwrites
it every :data:`BEAT_INTERVAL` seconds, so while one of them lives the beat is
never older than that. A consumer that stops cleanly removes its own beat, so
"no consumer" is known at once; after a SIGKILL the beat just ages out.

Several consumers may share a queue (on Redis that is how users scale out;
a second ``run.py worker`` beside an auto-started one is legal too), so a
second key, :data:`CONSUMERS_KEY`, holds each consumer's own beat, for
``status`` to count and name them (pid, host, and how it was started). It is
read, updated and written back by each consumer: two consumers beating in
the same instant may drop one's update, which the next beat (5 s later) puts
back, well inside :data:`MAX_AGE`; no lock is worth that.

Inside one machine the hook does not need the beat at all: every consumer
holds a lock file for its whole life (:mod:`plexsync.worker.autostart`), a cheaper
probe than a query.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

KEY = "plexsync:heartbeat"
#: Each consumer's latest beat: ``{owner: record}``, owner = host:pid.
CONSUMERS_KEY = "plexsync:consumers"
#: Seconds between two beats of one consumer.
BEAT_INTERVAL = 5.0
#: A beat older than this means no consumer is running (three missed beats).
MAX_AGE = 3 * BEAT_INTERVAL
#: When this process started consuming (set by :func:`beat`'s first call).
_started_at: float | None = None


def _huey() -> Any:
    from plexsync.queue.instance import huey

    return huey


def beat(mode: str) -> dict[str, Any]:
    """Record that this consumer is alive; ``mode`` is ``auto`` (started by the plugin) or ``external``."""
    global _started_at
    now = time.time()
    if _started_at is None:
        _started_at = now
    record = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": _started_at,
        "beat_at": now,
        "mode": mode,
    }
    huey = _huey()
    huey.put(KEY, record)
    others = {owner: beat for owner, beat in _all(huey).items() if now - float(beat.get("beat_at", 0)) <= MAX_AGE}
    others[_owner()] = record
    huey.put(CONSUMERS_KEY, others)
    return record


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _all(huey: Any) -> dict[str, dict[str, Any]]:
    records = huey.get(CONSUMERS_KEY, peek=True)
    return records if isinstance(records, dict) else {}


def consumers(max_age: float | None = None) -> list[dict[str, Any]]:
    """The beats of every consumer alive now (within ``max_age``), the longest-running first."""
    now = time.time()
    limit = MAX_AGE if max_age is None else max_age
    alive = [beat for beat in _all(_huey()).values() if now - float(beat.get("beat_at", 0)) <= limit]
    return sorted(alive, key=lambda beat: (float(beat.get("started_at", 0)), str(beat.get("pid"))))


def read() -> dict[str, Any] | None:
    """The most recent beat of any consumer (host, pid, started_at, beat_at, mode), or None."""
    record = _huey().get(KEY, peek=True)
    return record if isinstance(record, dict) else None


def alive(max_age: float | None = None) -> bool:
    """True when some consumer beat within ``max_age`` seconds (default :data:`MAX_AGE`)."""
    record = read()
    if record is None:
        return False
    return time.time() - float(record.get("beat_at", 0)) <= (MAX_AGE if max_age is None else max_age)


def clear() -> None:
    """A stopping consumer removes its beat, unless another consumer has beaten since."""
    huey = _huey()
    records = _all(huey)
    if records.pop(_owner(), None) is not None:
        huey.put(CONSUMERS_KEY, records)
    record = read()
    if record and record.get("host") == socket.gethostname() and record.get("pid") == os.getpid():
        huey.delete(KEY)
