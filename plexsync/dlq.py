"""Dead letters: the jobs that finally failed, kept until retried or expired.

One row per job (task name + arguments): when the same job fails again its
row is updated, never duplicated. A retried job's row stays until the retry
succeeds (:func:`resolve` is called on every successful sync), so a retry
that fails again is never lost either.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import peewee

from plexsync.redact import redact
from plexsync.state.db import BaseModel, transactional


class DeadLetter(BaseModel):
    job_key = peewee.CharField(unique=True)  # "sync_scene:42": what makes two failures the same job
    task_name = peewee.CharField()
    args = peewee.TextField()  # JSON list
    #: The job's keyword arguments (JSON object; None from PlexSync before 2026-12):
    #: a retried forced sync is forced again. Not part of the job's identity.
    kwargs = peewee.TextField(null=True)
    scene_id = peewee.CharField(null=True, index=True)
    error_class = peewee.CharField()
    message = peewee.TextField()
    attempts = peewee.IntegerField()
    failures = peewee.IntegerField(default=1)  # how many times the job ended here
    first_failed_at = peewee.DoubleField()
    last_failed_at = peewee.DoubleField(index=True)


def job_key(task_name: str, args: Sequence[object]) -> str:
    return f"{task_name}:{json.dumps(list(args), default=str, separators=(',', ':'))}"


def short_task_name(name: str) -> str:
    """huey names tasks 'module.function'; people and retries use the function name."""
    return name.rsplit(".", 1)[-1]


def record(
    task_name: str,
    args: Sequence[object],
    error_class: str,
    message: str,
    attempts: int,
    first_failed_at: float | None = None,
    kwargs: Mapping[str, object] | None = None,
) -> DeadLetter:
    """Insert or update the dead letter of this job (``kwargs``: its keyword
    arguments, JSON values only; see :func:`_merged_kwargs`)."""
    name = short_task_name(task_name)
    key = job_key(name, args)
    now = time.time()
    scene_id = str(args[0]) if name == "sync_scene" and args else None
    clean = " ".join(redact(message).split())[:2000]
    return _upsert(
        {
            "job_key": key,
            "task_name": name,
            "args": json.dumps(list(args), default=str),
            "kwargs": json.dumps({k: v for k, v in (kwargs or {}).items() if k != "task"}, default=str, sort_keys=True),
            "scene_id": scene_id,
            "error_class": error_class[:255],
            "message": clean,
            "attempts": attempts,
            "first_failed_at": first_failed_at or now,
            "last_failed_at": now,
        }
    )


@transactional
def _upsert(row: dict[str, object]) -> DeadLetter:
    """Insert-or-ignore, then update: one row per job even when two consumers
    dead-letter the same job at once (two hooks for one scene)."""
    if not DeadLetter.insert(**row).on_conflict_ignore().as_rowcount().execute():
        held = DeadLetter.get(DeadLetter.job_key == row["job_key"])
        DeadLetter.update(
            kwargs=_merged_kwargs(held.kwargs, str(row["kwargs"])),
            error_class=row["error_class"],
            message=row["message"],
            last_failed_at=row["last_failed_at"],
            attempts=DeadLetter.attempts + row["attempts"],
            failures=DeadLetter.failures + 1,
        ).where(DeadLetter.job_key == row["job_key"]).execute()
    return DeadLetter.get(DeadLetter.job_key == row["job_key"])


def _merged_kwargs(held: str | None, new: str) -> str:
    """The same job failed again: the newest arguments, but a flag set by any
    failure stays set (a forced sync that failed, then a plain one of the same
    scene: the retry must still force, or the user's request is lost)."""
    merged = {**_loads(held), **_loads(new)}
    merged.update({key: True for key, value in _loads(held).items() if value is True})
    return json.dumps(merged, sort_keys=True)


def _loads(text: str | None) -> dict[str, object]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def resolve(task_name: str, args: Sequence[object]) -> bool:
    """The job succeeded: its dead letter, if any, goes."""
    key = job_key(short_task_name(task_name), args)
    if not DeadLetter.select().where(DeadLetter.job_key == key).exists():
        return False
    return DeadLetter.delete().where(DeadLetter.job_key == key).execute() > 0


def all_letters() -> list[DeadLetter]:
    return list(DeadLetter.select().order_by(DeadLetter.last_failed_at.desc()))


def get(letter_id: int) -> DeadLetter | None:
    return DeadLetter.get_or_none(DeadLetter.id == letter_id)


def purge(older_than_days: float) -> int:
    """Delete dead letters whose last failure is older than ``older_than_days``."""
    cutoff = time.time() - older_than_days * 86400
    return DeadLetter.delete().where(DeadLetter.last_failed_at <= cutoff).execute()


@dataclass(frozen=True)
class RetryOutcome:
    queued: list[int]
    unknown: list[int]


def retry(letters: Iterable[DeadLetter]) -> RetryOutcome:
    """Queue each letter's job again with a fresh set of retries.

    The row stays until the job succeeds; if it fails again, the same row is
    updated with the new reason.
    """
    from plexsync.tasks import TASKS_BY_NAME

    queued, unknown = [], []
    for letter in letters:
        task = TASKS_BY_NAME.get(letter.task_name)
        if task is None:
            unknown.append(letter.id)
            continue
        task(*json.loads(letter.args), **_loads(letter.kwargs))
        queued.append(letter.id)
    return RetryOutcome(queued, unknown)


def describe(letter: DeadLetter) -> str:
    """One line for lists: id, job, error, attempts, last failure time."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(letter.last_failed_at))
    subject = f"scene {letter.scene_id}" if letter.scene_id else letter.task_name
    if _loads(letter.kwargs).get("force") is True:
        subject += " (forced sync)"
    return f"#{letter.id} {subject}: {letter.error_class}: {letter.message} ({letter.attempts} attempts, last {when})"
