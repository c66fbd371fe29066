"""The consumer's clock: once a minute, queue the jobs that run on an interval
setting (the reconcile, the copy from Plex) when they are due.

Not huey periodic tasks: huey runs those through the queue, so an every-minute
check would be a job waiting in the queue most of the time, counted by
``status`` ("a job waits and no worker runs" after every stop) and by the
idle check of a worker the plugin started. This thread only enqueues when an
interval has passed (a claim shared by every worker), so the queue sees one
short job per interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("plexsync.worker.clock")

#: How often the due check runs; the first one is this long after the start,
#: so a worker started for one edit syncs that edit first.
CHECK_EVERY = 60.0


def once_per_process(name: str, target: Callable[[], None]) -> Callable[[], None]:
    """A ``start()`` that runs ``target`` in one daemon thread per consumer process, however often
    it is called: huey calls startup hooks once per worker thread."""
    lock = threading.Lock()
    started: list[threading.Thread] = []

    def start() -> None:
        with lock:
            if not started:
                started.append(threading.Thread(target=target, name=name, daemon=True))
                started[0].start()

    return start


def _run() -> None:
    stop = threading.Event()  # never set: the daemon thread ends with the process
    while not stop.wait(CHECK_EVERY):
        from plexsync.playback import job
        from plexsync.sync import worker

        for what, check in (("a reconcile", worker.queue_reconcile_if_due), ("a copy from Plex", job.queue_if_due)):
            try:
                check()
            except Exception:  # a locked database, Redis away: the next minute tries again
                log.warning("could not check whether %s is due; trying again in a minute", what, exc_info=True)


#: Start the clock (once per consumer process).
start = once_per_process("plexsync-clock", _run)
