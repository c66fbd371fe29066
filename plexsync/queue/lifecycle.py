"""A job's life in the consumer, wired to huey's signals.

* starting: count the attempt (the retry policy is applied by
  :mod:`plexsync.sync.worker` once it has the settings);
* done: forget the count, and remove the job's dead letter if it had one;
* final failure (retries exhausted, a permanent error, a cancel or a
  timeout): write or update its dead letter;
* interrupted by SIGTERM: put it back in the queue.

A job killed with SIGKILL is covered by the queue's claims
(:mod:`plexsync.queue.reliable`): on start the consumer re-queues orphaned claims.
"""

from __future__ import annotations

import logging

from huey import signals
from huey.api import PeriodicTask, Task

from plexsync import dlq
from plexsync.ops.logs import configure_consumer_logging
from plexsync.queue.instance import bootstrap, huey
from plexsync.state import attempts, db, outage

log = logging.getLogger("plexsync.queue.lifecycle")


def _tracked(task: Task) -> bool:
    return not isinstance(task, PeriodicTask)


@huey.on_startup()
def on_startup() -> None:
    configure_consumer_logging()
    db.open_state(bootstrap)
    outage.probe_now()
    recovered = huey.recover_orphans()
    if recovered:
        log.warning("re-queued %d job(s) left running by a consumer that was killed", recovered)


@huey.signal(signals.SIGNAL_EXECUTING)
def on_executing(signal: str, task: Task) -> None:
    if not _tracked(task):
        return
    db.open_state(bootstrap)
    attempts.begin(task)


@huey.signal(signals.SIGNAL_COMPLETE)
def on_complete(signal: str, task: Task) -> None:
    if not _tracked(task):
        return
    attempts.finish(task)
    dlq.resolve(task.name, task.args)


@huey.signal(signals.SIGNAL_ERROR, signals.SIGNAL_TIMEOUT, signals.SIGNAL_CANCELED)
def on_failure(signal: str, task: Task, exc: BaseException | None = None) -> None:
    """Dead-letter the job when this failure is its last one.

    For ERROR and TIMEOUT huey emits before it decrements the retries, so
    ``retries == 0`` means none is left. A cancel is always final.
    """
    if not _tracked(task):
        return
    if signal != signals.SIGNAL_CANCELED and task.retries:
        return
    if db.caused_by_database(exc):
        _run_again(task, exc)  # the state database failed, not the job
        return
    error_class = type(exc).__name__ if exc is not None else signal
    reason = getattr(exc, "reason", None) or (str(exc) if exc is not None else f"job {signal}")
    try:
        tried, since = attempts.of(task)
        letter = dlq.record(task.name, task.args, error_class, reason, attempts=tried, first_failed_at=since)
        attempts.finish(task)
    except db.TRANSIENT as error:
        _run_again(task, error)  # no dead letter without the state database: never drop the job
        return
    log.error("dead letter %s", dlq.describe(letter))


def _run_again(task: Task, error: BaseException | None) -> None:
    """One more run instead of a dead letter: huey reads ``retries`` after the
    failure signal and schedules the job again."""
    task.retries = 1
    task.retry_delay = max(task.retry_delay or 0, 1.0)
    why = " ".join(str(error).split())
    log.error("job %s failed while the state database is unreachable (%s); it runs again", task.id, why)


@huey.signal(signals.SIGNAL_INTERRUPTED)
def on_interrupted(signal: str, task: Task) -> None:
    """SIGTERM stopped the consumer mid-job: the job goes back to the queue."""
    huey.enqueue(task)
    huey.release(task)
    log.warning("job %s interrupted by shutdown; re-queued", task.id)
