"""A job's life in the consumer, wired to huey's signals.

* starting: count the attempt (the retry policy is applied by
  :mod:`plexsync.sync.worker` once it has the settings);
* done: forget the count, and remove the job's dead letter if it had one;
* final failure (retries exhausted, a permanent error, a cancel or a
  timeout): write or update its dead letter;
* interrupted by SIGTERM: put it back in the queue.

Each outcome is one log line (a success is logged by the task body, which
knows what it wrote); repeats of the same failure are summarised
(:class:`plexsync.worker.logs.FailureSummary`).

A job killed with SIGKILL is covered by the queue's claims
(:mod:`plexsync.queue.reliable`): on start the consumer re-queues orphaned claims.

Once per consumer process the startup hook also starts its presence
(:mod:`plexsync.worker.presence`): the worker lock, the heartbeat, the health
snapshot for Stash's log, and, for a consumer the plugin started, the stop
when idle. The shutdown hook takes the heartbeat away.

A data folder that cannot be written (a full disk) does not stop a consumer
from starting: it waits, and once the folder can be written it catches up
(:mod:`plexsync.worker.writes`, :func:`_catch_up`).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from huey import signals
from huey.api import PeriodicTask, Task

from plexsync import dlq
from plexsync.config import ConfigError, default_value, setting_value
from plexsync.errors import ItemNotInPlex, SyncError
from plexsync.queue.instance import bootstrap, huey
from plexsync.state import attempts, db, outage
from plexsync.tools import status
from plexsync.worker import autostart, clock, credential, health, heartbeat, live, presence, writes
from plexsync.worker.logs import (
    ExpectedFailureFilter,
    FailureSummary,
    configure_consumer_logging,
    first_quoted,
    folder_of,
    reason_pattern,
)

log = logging.getLogger("plexsync.queue.lifecycle")
summary = FailureSummary(log)
# huey's scheduler thread starts beside the workers and may log before a startup hook has
# configured the log's filters (on a full disk its first look at the schedule fails).
logging.getLogger("huey.consumer.Scheduler").addFilter(ExpectedFailureFilter())


def _tracked(task: Task) -> bool:
    return not isinstance(task, PeriodicTask)


_presence_lock = threading.Lock()
_presence: presence.ConsumerPresence | None = None


def _loaded_settings() -> Any:
    """The settings this consumer last read from Stash, without importing the sync code to ask."""
    context = getattr(sys.modules.get("plexsync.sync.worker"), "context", None)  # None while being imported
    return context.current_settings() if context is not None else None


def _idle_exit() -> float:
    """The idle period of a consumer the plugin started: 0 once the plugin page says ``external``."""
    settings = _loaded_settings()
    if settings is not None:
        mode, idle = settings.worker_mode, settings.worker_idle_exit
    else:
        try:
            mode, idle = setting_value("worker_mode"), setting_value("worker_idle_exit")
        except ConfigError:  # reported when the settings load
            mode, idle = default_value("worker_mode"), default_value("worker_idle_exit")
    return 0.0 if mode == "external" else idle


def _publish_health() -> None:
    health.publish(health.collect(_loaded_settings()))


def _compile_bytecode() -> None:
    """Hooks read the plugin's bytecode instead of compiling it (:mod:`plexsync.plugin.bytecode`)."""
    from plexsync.plugin import bytecode

    try:
        if not bytecode.compile_plugin():
            log.info("could not write bytecode for every plugin module (read-only folder?): hooks compile them")
    except OSError as exc:
        log.info("could not write the plugin's bytecode (%s): hooks compile it", exc)


def _catch_up(since: float) -> str:
    """The data folder can be written again after failing since ``since``:
    open what could not be opened, put back the jobs whose end could not be
    recorded, and queue the sync of the scenes changed meanwhile. Every step
    writes, so a folder still unwritable fails it (and it runs again later)."""
    from plexsync.tasks import PRIORITY_EDIT, catch_up

    initialize_schema = getattr(huey.storage, "initialize_schema", None)  # SQLite's, when the start could not
    if initialize_schema is not None:
        initialize_schema()
    db.open_state(bootstrap)
    requeued = huey.recover_orphans() + huey.requeue_unreleased()
    start = since - writes.MARGIN
    catch_up(start, priority=PRIORITY_EDIT)
    again = f"; {requeued} job(s) whose end could not be recorded run again" if requeued else ""
    return f"queued the sync of every scene changed since {time.strftime('%H:%M:%S', time.localtime(start))}{again}"


#: This consumer's memory of a data folder it cannot write.
failing_writes = writes.FailingWrites(bootstrap.data_dir, _catch_up)


def _start_presence() -> None:
    global _presence
    with _presence_lock:
        if _presence is not None:
            return
        threading.Thread(target=_compile_bytecode, name="plexsync-bytecode", daemon=True).start()
        started_by_plugin = os.environ.pop(autostart.ENV_AUTOSTARTED, None) == "1"
        others = _other_consumers()
        _presence = presence.ConsumerPresence(
            bootstrap.data_dir,
            huey,
            _idle_exit if started_by_plugin else None,
            on_beat=_publish_health,
            writes=failing_writes,
        ).start()
        if started_by_plugin:
            credential.on_rejected(_presence.stop_for_new_credential)
    log.info("worker started (%s mode): pid %d", _presence.mode, os.getpid())
    if others:
        log.warning(
            "%d other worker(s) already take jobs from this queue: %s; all of them do (Status lists each)",
            len(others),
            "; ".join(status.describe_consumer(beat) for beat in others),
        )


def _other_consumers() -> list[dict[str, Any]]:
    """The consumers alive on this queue before this one (a second ``run.py worker`` is legal, and said)."""
    try:
        beats = [beat for beat in heartbeat.consumers() if beat.get("pid") != os.getpid()]
        # A beat of this machine whose worker was killed stays fresh for a few seconds: trust the presence locks.
        local = autostart.live_consumers(bootstrap.data_dir) - (1 if presence.taken_at_launch is not None else 0)
        return [beat for beat in beats if beat.get("host") != socket.gethostname() or local > 0]
    except Exception as exc:  # the queue's storage is away: the presence thread reports that
        log.debug("could not read the other consumers: %s", exc)
        return []


@huey.on_startup()
def on_startup() -> None:
    configure_consumer_logging()
    try:
        db.open_state(bootstrap)
        outage.probe_now()
        recovered = huey.recover_orphans()
        if recovered:
            log.warning("re-queued %d job(s) left running by a consumer that was killed", recovered)
    except Exception as exc:
        if not failing_writes.failed(exc):  # a full data folder: wait for it (the presence tries again)
            raise
    _start_presence()
    clock.start()
    live.start()


@huey.on_shutdown()
def on_shutdown() -> None:
    summary.flush()
    with _presence_lock:
        presence = _presence
    if presence is None or not presence.halt():
        return
    presence.close()
    try:
        heartbeat.clear()
        _publish_health()
    except Exception as exc:  # the beat ages out by itself
        log.warning("could not take the heartbeat away at shutdown: %s", exc)


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
    if getattr(task, "plexsync_not_done", False):
        return  # ended without doing its work and without failing (a try on a Plex scan's news): not a success
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
    if db.caused_by_database(exc):
        _run_again(task, exc)  # the state database failed, not the job
        return
    error_class = type(exc).__name__ if exc is not None else signal
    reason = getattr(exc, "reason", None) or (str(exc) if exc is not None else f"job {signal}")
    try:
        tried, since = attempts.of(task)
        letter = dlq.record(
            task.name, task.args, error_class, reason, attempts=tried, first_failed_at=since, kwargs=task.kwargs
        )
        attempts.finish(task)
    except db.TRANSIENT as error:
        _run_again(task, error)  # no dead letter without the state database: never drop the job
        return
    key, headline = _kind(error_class, reason, waiting=False)
    summary.report(f"dead:{key}", logging.ERROR, f"dead letter {dlq.describe(letter)}", headline, _subject(task))


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
    huey.requeue(task)
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
    from plexsync.sync.worker import WaitingFor, WaitingForScan

    if not _tracked(task) or exc is None or not task.retries:
        return
    subject = _subject(task)
    if isinstance(exc, WaitingForScan):
        folder = folder_of(first_quoted(exc.reason) or "?")
        line = (
            f"{subject} waits for Plex to scan {folder} (attempt {exc.attempt} of {exc.attempts}, "
            f"next in {exc.delay:.1f} s): {exc.reason}"
        )
        headline = f"{{n}} scene(s) wait for Plex to scan {folder} (if it has, check Path rules)"
        summary.report(f"scan:{folder}", logging.INFO, line, headline, subject)
        return
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
