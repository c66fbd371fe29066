"""The huey instance, built from the bootstrap settings.

SQLite in the data directory by default (one machine, nothing to run);
``PLEXSYNC_REDIS_URL`` switches to ``PriorityRedisHuey`` so several consumers
on several machines share one queue. Same tasks, same code: configuration only.
Both are the claim-on-dequeue variants of :mod:`plexsync.queue.reliable`; the
storage and its options are :func:`plexsync.queue.storage.storage_options`,
which the hook's producer uses too.
"""

from __future__ import annotations

from huey import Huey

from plexsync.config import Bootstrap
from plexsync.queue.reliable import ReliablePriorityRedisHuey, ReliableSqliteHuey
from plexsync.queue.storage import QUEUE_NAME, storage_options

__all__ = ["QUEUE_NAME", "bootstrap", "build_huey", "huey"]


def build_huey(bootstrap: Bootstrap) -> Huey:
    # results=False: jobs are fire-and-forget; stored results would pile up
    # forever (huey keeps every result and error until it is read).
    huey_class = ReliablePriorityRedisHuey if bootstrap.redis_url else ReliableSqliteHuey
    storage_class, options = storage_options(str(bootstrap.data_dir), bootstrap.redis_url)
    return huey_class(QUEUE_NAME, results=False, utc=True, storage_class=storage_class, **options)


bootstrap = Bootstrap.from_env()
huey = build_huey(bootstrap)
