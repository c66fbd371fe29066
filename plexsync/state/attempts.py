"""How many times each job has run, for its retry policy and its dead letter.

huey only keeps a countdown of retries left; a dead letter should say how
many attempts were made and since when the job has been failing.

Most jobs succeed at their first attempt, so that one costs a single read:
the count lives on the task object while it runs, and reaches the table
only when the attempt fails (:func:`failed`, before huey queues the job
again). A job killed by SIGKILL mid-attempt therefore counts that attempt
again from its last failure: a kill is not the job's fault.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import peewee
from huey.api import Task

from plexsync.state.db import BaseModel, upsert_target

_ATTRIBUTE = "_plexsync_attempt"


class JobAttempts(BaseModel):
    task_id = peewee.CharField(primary_key=True)
    attempts = peewee.IntegerField(default=0)  # attempts that failed
    first_started_at = peewee.DoubleField()
    updated_at = peewee.DoubleField(index=True)


@dataclass
class _Attempt:
    number: int
    first_started_at: float
    stored: bool  # the table has a row for the job


def begin(task: Task) -> int:
    """This attempt's number (1 for the first): one read, no write."""
    row = JobAttempts.get_or_none(JobAttempts.task_id == task.id)
    if row is None:
        attempt = _Attempt(1, time.time(), stored=False)
    else:
        attempt = _Attempt(row.attempts + 1, row.first_started_at, stored=True)
    setattr(task, _ATTRIBUTE, attempt)
    return attempt.number


def failed(task: Task) -> None:
    """This attempt failed and the job may run again: keep its count."""
    attempt = getattr(task, _ATTRIBUTE, None)
    if attempt is None:
        return
    now = time.time()
    JobAttempts.insert(
        task_id=task.id, attempts=attempt.number, first_started_at=attempt.first_started_at, updated_at=now
    ).on_conflict(
        **upsert_target(JobAttempts.task_id), preserve=[JobAttempts.attempts, JobAttempts.updated_at]
    ).execute()
    attempt.stored = True


def of(task: Task) -> tuple[int, float | None]:
    """(attempts, first start time) of ``task``, this attempt included."""
    attempt = getattr(task, _ATTRIBUTE, None)
    if attempt is not None:
        return attempt.number, attempt.first_started_at
    row = JobAttempts.get_or_none(JobAttempts.task_id == task.id)
    return (row.attempts + 1, row.first_started_at) if row else (1, None)


def finish(task: Task) -> None:
    attempt = getattr(task, _ATTRIBUTE, None)
    if attempt is not None and not attempt.stored:
        return  # nothing was written for it
    JobAttempts.delete().where(JobAttempts.task_id == task.id).execute()


def purge_stale(older_than_seconds: float) -> int:
    """Drop counts untouched for that long (their jobs are long gone)."""
    cutoff = time.time() - older_than_seconds
    return JobAttempts.delete().where(JobAttempts.updated_at < cutoff).execute()
