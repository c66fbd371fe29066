"""The consumer's log: secret-free, one line per job outcome, repeats summarised.

huey_consumer configures the ``huey`` logger only; PlexSync's own loggers
share its handlers. Every handler gets three filters:

* :class:`JobChatterFilter` turns huey's own lines about each job
  ("Executing", "executed in", "raised RetryTask", "Requeueing", "Added task
  to schedule") into debug lines: PlexSync logs one line per job outcome
  itself (:mod:`plexsync.queue.lifecycle`, :mod:`plexsync.sync.worker`), so at
  the default level a job that succeeds is one line, not three;
* :class:`ExpectedFailureFilter` does the same for huey's "Unhandled
  exception" traceback when the exception is a classified failure (a
  :class:`~plexsync.errors.SyncError`, whose reason already says everything).
  It also demotes the tracebacks of writes the data folder refused (a full
  disk), which :mod:`plexsync.worker.writes` says once, in words. Real bugs
  keep their traceback;
* :class:`RedactingFilter` masks secrets in messages and tracebacks.

:class:`FailureSummary` keeps a wrong path rule from writing one line per
scene per retry: the first failure of a kind is logged in full, the next
ones of the same kind within :data:`SUMMARY_INTERVAL` are counted and logged
as one line ("20 more scenes wait for Plex to scan /media/movies ...").
"""

from __future__ import annotations

import logging
import posixpath
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from plexsync.errors import SyncError
from plexsync.redact import redact
from plexsync.unwritable import is_write_failure

#: Repeated failures of one kind are summarised in one line per this many seconds.
SUMMARY_INTERVAL = 60.0


class RedactingFilter(logging.Filter):
    """Redacts a record's message and traceback before any handler formats it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _demote(record: logging.LogRecord) -> bool:
    """Make ``record`` a debug line; keep it only when the consumer runs verbose (-v)."""
    record.levelno, record.levelname = logging.DEBUG, "DEBUG"
    return logging.getLogger("huey").isEnabledFor(logging.DEBUG)


class ExpectedFailureFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SyncError):
            task = record.getMessage().removeprefix("Unhandled exception in task ").rstrip(".")
            record.msg = f"task {task} failed: {type(exc).__name__}: {exc.reason}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            return _demote(record)
        if exc is not None and is_write_failure(exc):
            # A data folder that cannot be written fails every poll of the queue: the worker
            # says so once, in words (plexsync.worker.writes), not with a traceback a second.
            return _demote(record)
        return True


#: huey's per-job lines (huey/api.py), all at info level.
_CHATTER = re.compile(
    r"^(Executing |Task \S+ raised RetryTask|Requeueing |Added task \S+ to schedule)|executed in [\d.]+s$"
)


class JobChatterFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "huey" and record.levelno == logging.INFO and _CHATTER.search(record.getMessage()):
            return _demote(record)
        return True


def configure_consumer_logging() -> None:
    """Share huey's handlers with PlexSync's loggers and filter them all (once)."""
    huey_logger = logging.getLogger("huey")
    plexsync_logger = logging.getLogger("plexsync")
    if not plexsync_logger.handlers:
        for handler in huey_logger.handlers:
            plexsync_logger.addHandler(handler)
        plexsync_logger.setLevel(huey_logger.level or logging.INFO)
        plexsync_logger.propagate = False
    for handler in {*huey_logger.handlers, *plexsync_logger.handlers}:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(JobChatterFilter())
            handler.addFilter(ExpectedFailureFilter())  # before redaction: it reads exc_info
            handler.addFilter(RedactingFilter())


# -- summarising repeated failures ---------------------------------------------

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def reason_pattern(reason: str) -> str:
    """What two failures of the same kind have in common: the reason with its
    quoted values (paths, titles) and numbers (ids, statuses kept) masked."""
    masked = _QUOTED.sub("'…'", reason)
    return _NUMBER.sub(lambda m: m.group(0) if len(m.group(0)) == 3 else "N", masked)  # keep HTTP statuses


def first_quoted(text: str) -> str | None:
    match = _QUOTED.search(text)
    return match.group(0)[1:-1] if match else None


def folder_of(path: str) -> str:
    """The folder of a path as Plex or Stash spell it (``/`` or ``\\``)."""
    if "\\" in path and "/" not in path:
        return path.rsplit("\\", 1)[0] or path
    return posixpath.dirname(path) or path


@dataclass
class _Group:
    headline: str  # "{n} scene(s) wait for Plex to scan /media/movies"
    started: float
    count: int = 0  # repeats since the first line of this interval
    latest: str = ""
    subjects: set[str] = field(default_factory=set)


class FailureSummary:
    """The first failure of a kind in full, then one line per interval for its repeats.

    ``key`` names the kind (e.g. the error class and its reason pattern);
    ``headline`` says in plain words what the repeats have in common, with
    ``{n}`` for how many different subjects (scenes) they concern.
    Summaries are written by a daemon thread once their interval is over,
    and by :meth:`flush` (the consumer calls it when it stops).
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = SUMMARY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._groups: dict[str, tuple[_Group, int]] = {}  # key -> (group, level)
        self._lock = threading.Lock()
        self._timer: threading.Thread | None = None

    def report(self, key: str, level: int, line: str, headline: str, subject: str) -> None:
        """Log ``line`` if it is the first of its kind in the interval, else count it."""
        with self._lock:
            now = self.clock()
            entry = self._groups.get(key)
            if entry is not None and now - entry[0].started < self.interval:
                entry[0].count += 1
                entry[0].latest = subject
                entry[0].subjects.add(subject)
                return
            if entry is not None:
                self._emit(entry[0], entry[1], now)
            self._groups[key] = (_Group(headline, now), level)
            self._ensure_timer()
        self.logger.log(level, "%s", line)

    def flush(self, everything: bool = True) -> None:
        """Log the summaries of past intervals (all of them when ``everything``)."""
        with self._lock:
            now = self.clock()
            for key, (group, level) in list(self._groups.items()):
                if everything or now - group.started >= self.interval:
                    del self._groups[key]
                    self._emit(group, level, now)

    def _emit(self, group: _Group, level: int, now: float) -> None:
        if group.count:
            elapsed = max(1.0, now - group.started)
            self.logger.log(
                level,
                "%s (%d more time(s) in the last %.0f s; latest: %s)",
                group.headline.replace("{n}", str(len(group.subjects))),
                group.count,
                min(elapsed, self.interval),
                group.latest,
            )

    def _ensure_timer(self) -> None:
        if self._timer is not None or self.clock is not time.monotonic:
            return  # a test's clock drives flush() itself

        def loop() -> None:
            while True:
                time.sleep(min(5.0, self.interval / 4))
                self.flush(everything=False)

        self._timer = threading.Thread(target=loop, name="plexsync-log-summary", daemon=True)
        self._timer.start()
