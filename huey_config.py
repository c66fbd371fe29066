"""The entry point for ``huey_consumer huey_config.huey``.

Importing this module builds the queue from the environment and registers
every task and the job lifecycle handlers (journal, dead letters, outages).
"""

from plexsync import tasks  # noqa: F401  (registration by import)
from plexsync.queue import lifecycle  # noqa: F401
from plexsync.queue.instance import huey

__all__ = ["huey"]
