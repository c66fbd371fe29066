"""The huey instance, built from the bootstrap settings.

SQLite in the data directory by default (one machine, nothing to run);
``PLEXSYNC_REDIS_URL`` switches to ``PriorityRedisHuey`` so several consumers
on several machines share one queue. Same tasks, same code: configuration only.
Both are the claim-on-dequeue variants of :mod:`plexsync.queue.reliable`.
"""

from __future__ import annotations

from huey import Huey

from plexsync.config import Bootstrap
from plexsync.queue.reliable import ReliablePriorityRedisHuey, ReliableSqliteHuey

QUEUE_NAME = "plexsync"


def build_huey(bootstrap: Bootstrap) -> Huey:
    # results=False: jobs are fire-and-forget; stored results would pile up
    # forever (huey keeps every result and error until it is read).
    if bootstrap.redis_url:
        return ReliablePriorityRedisHuey(QUEUE_NAME, url=bootstrap.redis_url, results=False, utc=True)
    bootstrap.data_dir.mkdir(parents=True, exist_ok=True)
    return ReliableSqliteHuey(
        QUEUE_NAME,
        filename=str(bootstrap.data_dir / "queue.db"),
        results=False,
        utc=True,
        timeout=30,  # seconds a writer waits for the lock: hooks fire in bursts
    )


bootstrap = Bootstrap.from_env()
huey = build_huey(bootstrap)
