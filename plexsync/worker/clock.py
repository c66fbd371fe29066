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

log = logging.getLogger("plexsync.worker.clock")

#: How often the due check runs; the first one is this long after the start,
#: so a worker started for one edit syncs that edit first.
CHECK_EVERY = 60.0

_lock = threading.Lock()
_thread: threading.Thread | None = None


def start() -> None:
    """Start the clock once per consumer process (huey calls startup hooks once per worker thread)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        _thread = threading.Thread(target=_run, name="plexsync-clock", daemon=True)
        _thread.start()


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
