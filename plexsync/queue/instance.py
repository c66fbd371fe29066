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

from plexsync import unwritable
from plexsync.config import Bootstrap
from plexsync.queue.reliable import ReliablePriorityRedisHuey, ReliableSqliteHuey
from plexsync.queue.storage import QUEUE_NAME, storage_options

__all__ = ["QUEUE_NAME", "bootstrap", "build_huey", "huey"]


def build_huey(bootstrap: Bootstrap) -> Huey:
    """The huey instance; built even when the data folder cannot be written
    (a full disk: SQLite cannot even open a WAL database nobody holds open),
    so that a consumer starts and waits for it (:mod:`plexsync.worker.writes`,
    which checks the schema again) and a task says what is wrong on its first
    use of the queue, instead of failing at import."""
    # results=False: jobs are fire-and-forget; stored results would pile up
    # forever (huey keeps every result and error until it is read).
    huey_class = ReliablePriorityRedisHuey if bootstrap.redis_url else ReliableSqliteHuey
    storage_class, options = storage_options(str(bootstrap.data_dir), bootstrap.redis_url)
    try:
        return huey_class(QUEUE_NAME, results=False, utc=True, storage_class=storage_class, **options)
    except Exception as exc:
        if not unwritable.is_write_failure(exc):
            raise
    return huey_class(QUEUE_NAME, results=False, utc=True, storage_class=storage_class, create_tables=False, **options)


bootstrap = Bootstrap.from_env()
huey = build_huey(bootstrap)
