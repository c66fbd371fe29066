"""How many times each job has run, for its retry policy and its dead letter.

huey only keeps a countdown of retries left; a dead letter should say how
many attempts were made and since when the job has been failing.
"""

from __future__ import annotations

import time

import peewee
from huey.api import Task

from plexsync.state.db import BaseModel, database


class JobAttempts(BaseModel):
    task_id = peewee.CharField(primary_key=True)
    attempts = peewee.IntegerField(default=0)
    first_started_at = peewee.FloatField()
    updated_at = peewee.FloatField(index=True)


def begin(task: Task) -> int:
    """Count one more attempt of ``task``; returns its number (1 for the first)."""
    now = time.time()
    with database.atomic():
        row = JobAttempts.get_or_none(JobAttempts.task_id == task.id)
        if row is None:
            JobAttempts.create(task_id=task.id, attempts=1, first_started_at=now, updated_at=now)
            return 1
        JobAttempts.update(attempts=JobAttempts.attempts + 1, updated_at=now).where(
            JobAttempts.task_id == task.id
        ).execute()
        return row.attempts + 1


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
