"""Is a worker alive? Every consumer writes a beat into huey's key-value store.

huey's kv storage (``huey.put`` / ``huey.get(peek=True)``) lives beside the
queue, in the SQLite file or in Redis, so every process that can enqueue can
also tell whether anything will run the job: the hooks, the Stash tasks and
``plexsync status``. A beat older than :data:`MAX_AGE` means no consumer is
running (a killed consumer simply stops beating).

Minimal version for ``plexsync status``: with several consumers the latest
beat wins, which is all "is any worker alive" needs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from plexsync.queue.instance import huey

log = logging.getLogger("plexsync.ops.heartbeat")

KEY = "plexsync.heartbeat"
#: Seconds between two beats of a running consumer.
INTERVAL = 10.0
#: A beat older than this says no consumer is running.
MAX_AGE = 3 * INTERVAL

_started = False
_start_lock = threading.Lock()
_started_at = time.time()


def beat(mode: str = "external") -> dict[str, Any]:
    """Record that this process is a live consumer; returns the beat."""
    record = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": _started_at,
        "beat_at": time.time(),
        "mode": mode,
    }
    huey.put(KEY, record)
    return record


def read() -> dict[str, Any] | None:
    """The latest beat (host, pid, started_at, beat_at, mode), or None when no consumer ever beat."""
    try:
        record = huey.get(KEY, peek=True)
    except Exception:  # an unreadable beat is no beat
        return None
    return record if isinstance(record, dict) else None


def alive(max_age: float | None = None) -> bool:
    """True when a consumer beat within ``max_age`` seconds (default :data:`MAX_AGE`)."""
    record = read()
    if record is None:
        return False
    return time.time() - float(record.get("beat_at", 0)) <= (MAX_AGE if max_age is None else max_age)


def start(mode: str = "external") -> None:
    """Beat now and then every :data:`INTERVAL` seconds, once per process (daemon thread)."""
    global _started
    with _start_lock:  # every worker thread runs the consumer's startup hooks
        if _started:
            return
        _started = True
    beat(mode)

    def loop() -> None:
        while True:
            time.sleep(INTERVAL)
            try:
                beat(mode)
            except Exception as exc:  # the queue is briefly unreachable: try again next interval
                log.warning("could not record the worker heartbeat: %s", exc)

    threading.Thread(target=loop, name="plexsync-heartbeat", daemon=True).start()


def stop() -> None:
    """A consumer stopping gracefully takes its beat with it (if the latest beat is its own)."""
    record = read()
    if record and record.get("host") == socket.gethostname() and record.get("pid") == os.getpid():
        huey.delete(KEY)
