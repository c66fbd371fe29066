"""A job's life in the consumer, wired to huey's signals.

* starting: count the attempt (the retry policy is applied by
  :mod:`plexsync.sync.worker` once it has the settings);
* done: forget the count, and remove the job's dead letter if it had one;
* final failure (retries exhausted, a permanent error, a cancel or a
  timeout): write or update its dead letter;
* interrupted by SIGTERM: put it back in the queue.

Each outcome is one log line (a success is logged by the task body, which
knows what it wrote); repeats of the same failure are summarised
(:class:`plexsync.ops.logs.FailureSummary`).

A job killed with SIGKILL is covered by the queue's claims
(:mod:`plexsync.queue.reliable`): on start the consumer re-queues orphaned claims.
"""

from __future__ import annotations

import logging
from typing import Any

from huey import signals
from huey.api import PeriodicTask, Task

from plexsync import dlq
from plexsync.errors import ItemNotInPlex, SyncError
from plexsync.ops import heartbeat, status
from plexsync.ops.logs import FailureSummary, configure_consumer_logging, first_quoted, folder_of, reason_pattern
from plexsync.queue.instance import bootstrap, huey
from plexsync.state import attempts, db, outage

log = logging.getLogger("plexsync.queue.lifecycle")
summary = FailureSummary(log)


def _tracked(task: Task) -> bool:
    return not isinstance(task, PeriodicTask)


@huey.on_startup()
def on_startup() -> None:
    configure_consumer_logging()
    db.open_state(bootstrap.data_dir)
    outage.probe_now()
    heartbeat.start()
    recovered = huey.recover_orphans()
    if recovered:
        log.warning("re-queued %d job(s) left running by a consumer that was killed", recovered)


@huey.signal(signals.SIGNAL_EXECUTING)
def on_executing(signal: str, task: Task) -> None:
    if not _tracked(task):
        return
    db.open_state(bootstrap.data_dir)
    attempts.begin(task)


@huey.signal(signals.SIGNAL_COMPLETE)
def on_complete(signal: str, task: Task) -> None:
    if not _tracked(task):
        return
    attempts.finish(task)
    dlq.resolve(task.name, task.args)
    status.record_success(task.name, task.args)


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
    tried, since = attempts.of(task)
    error_class = type(exc).__name__ if exc is not None else signal
    reason = getattr(exc, "reason", None) or (str(exc) if exc is not None else f"job {signal}")
    letter = dlq.record(task.name, task.args, error_class, reason, attempts=tried, first_failed_at=since)
    attempts.finish(task)
    key, headline = _kind(error_class, reason, waiting=False)
    summary.report(f"dead:{key}", logging.ERROR, f"dead letter {dlq.describe(letter)}", headline, _subject(task))


@huey.signal(signals.SIGNAL_INTERRUPTED)
def on_interrupted(signal: str, task: Task) -> None:
    """SIGTERM stopped the consumer mid-job: the job goes back to the queue."""
    huey.enqueue(task)
    huey.release(task)
    log.warning("job %s interrupted by shutdown; re-queued", task.id)


def _subject(task: Task) -> str:
    name = dlq.short_task_name(task.name)
    return f"scene {task.args[0]}" if name == "sync_scene" and task.args else name


def _kind(error_class: str, reason: str, waiting: bool) -> tuple[str, str]:
    """(summary key, what repeats of this failure have in common, in words; ``{n}``: how many scenes)."""
    if error_class == ItemNotInPlex.__name__:
        folder = folder_of(first_quoted(reason) or "?")
        if waiting:
            return (
                f"{error_class}:{folder}",
                f"{{n}} scene(s) wait for Plex to scan {folder} (if it has, check Path rules)",
            )
        return (
            f"{error_class}:{folder}",
            f"{{n}} more dead letter(s): Plex has no file of theirs in {folder} (check Path rules)",
        )
    pattern = reason_pattern(reason)
    if waiting:
        return f"{error_class}:{pattern}", f"{{n}} job(s) failed again and will retry: {error_class}: {pattern}"
    return f"{error_class}:{pattern}", f"{{n}} more dead letter(s): {error_class}: {pattern}"


@huey.post_execute()
def on_outcome(task: Task, value: Any, exc: BaseException | None) -> None:
    """One line for a job that will run again: a retry, or a wait for a server.

    Runs before huey re-schedules the job: ``task.retries`` is still the count
    before this failure, and ``task.retry_delay`` the wait before the next try.
    A final failure is logged by :func:`on_failure` (its dead letter).
    """
    from plexsync.sync.worker import WaitingFor

    if not _tracked(task) or exc is None or not task.retries:
        return
    subject = _subject(task)
    if isinstance(exc, WaitingFor):
        service = exc.service.capitalize()
        # not the reason itself: that is logged once, when the outage begins
        line = f"{subject} waits for {service} (see the error logged when it went away); next try in {exc.delay:.0f} s"
        summary.report(f"wait:{exc.service}", logging.INFO, line, f"{{n}} job(s) wait for {service}", subject)
        return
    error_class = type(exc).__name__
    reason = exc.reason if isinstance(exc, SyncError) else str(exc)
    tried = attempts.of(task)[0]
    key, headline = _kind(error_class, reason, waiting=True)
    line = (
        f"{subject} failed (attempt {tried}, {task.retries} retr{'y' if task.retries == 1 else 'ies'} left, "
        f"next in {task.retry_delay or 0:.1f} s): {error_class}: {reason}"
    )
    summary.report(f"retry:{key}", logging.WARNING, line, headline, subject)


@huey.on_shutdown()
def on_shutdown() -> None:
    summary.flush()
    heartbeat.stop()
