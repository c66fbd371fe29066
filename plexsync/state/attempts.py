"""How many times each job has run, for its retry policy and its dead letter.

huey only keeps a countdown of retries left; a dead letter should say how
many attempts were made and since when the job has been failing.
"""

from __future__ import annotations

import time

import peewee
from huey.api import Task

from plexsync.state.db import BaseModel, transactional


class JobAttempts(BaseModel):
    task_id = peewee.CharField(primary_key=True)
    attempts = peewee.IntegerField(default=0)
    first_started_at = peewee.DoubleField()
    updated_at = peewee.DoubleField(index=True)


@transactional
def begin(task: Task) -> int:
    """Count one more attempt of ``task``; returns its number (1 for the first).

    Insert-or-ignore, then increment: correct on every server even when two
    consumers start the same job at once (a job recovered twice).
    """
    now = time.time()
    first = JobAttempts.insert(task_id=task.id, attempts=1, first_started_at=now, updated_at=now)
    if first.on_conflict_ignore().as_rowcount().execute():
        return 1
    again = JobAttempts.update(attempts=JobAttempts.attempts + 1, updated_at=now)
    again.where(JobAttempts.task_id == task.id).execute()
    return JobAttempts.get(JobAttempts.task_id == task.id).attempts


def of(task: Task) -> tuple[int, float | None]:
    """(attempts, first start time) of ``task``."""
    row = JobAttempts.get_or_none(JobAttempts.task_id == task.id)
    return (row.attempts, row.first_started_at) if row else (1, None)


def finish(task: Task) -> None:
    JobAttempts.delete().where(JobAttempts.task_id == task.id).execute()


def purge_stale(older_than_seconds: float) -> int:
    """Drop counts untouched for that long (their jobs are long gone)."""
    cutoff = time.time() - older_than_seconds
    return JobAttempts.delete().where(JobAttempts.updated_at < cutoff).execute()
