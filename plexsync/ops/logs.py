"""The consumer's log: secret-free, and one line per expected failure.

huey_consumer configures the ``huey`` logger only; PlexSync's own loggers
share its handlers. Every handler gets two filters:

* :class:`RedactingFilter` masks secrets in messages and tracebacks;
* :class:`ExpectedFailureFilter` turns huey's "Unhandled exception" traceback
  for a classified failure (a :class:`~plexsync.errors.SyncError`, whose
  reason already says everything) into one line. Real bugs keep their
  traceback.
"""

from __future__ import annotations

import logging

from plexsync.errors import SyncError
from plexsync.redact import redact


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


class ExpectedFailureFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SyncError):
            record.msg = f"{record.getMessage()} {type(exc).__name__}: {exc.reason}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
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
            handler.addFilter(ExpectedFailureFilter())  # before redaction: it reads exc_info
            handler.addFilter(RedactingFilter())
