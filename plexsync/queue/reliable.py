"""The huey instances over :mod:`plexsync.queue.storage`: dequeue by claim,
release once huey is done with the job, coalesce by job identity."""

from __future__ import annotations

import logging
import threading

from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Task

from plexsync.queue.storage import (
    CLAIM_HORIZON,
    OWNER,
    SETTLE,
    ReliablePriorityRedisStorage,
    ReliableSqliteStorage,
    job_identity,
    owner_is_gone,
)

__all__ = [
    "CLAIM_HORIZON",
    "OWNER",
    "SETTLE",
    "ReliablePriorityRedisHuey",
    "ReliablePriorityRedisStorage",
    "ReliableSqliteHuey",
    "ReliableSqliteStorage",
    "job_identity",
    "owner_is_gone",
]


class _ReliableHueyMixin:
    """Dequeue by claim; release once huey is done with the job."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._claims: dict[str, int] = {}
        #: Claims whose release failed (the queue could not be written): see :meth:`requeue_unreleased`.
        self._unreleased: set[int] = set()
        self._claims_lock = threading.Lock()
        self._requeueing = threading.local()
        self.storage.key_of = self.identity_of
        self.storage.is_requeue = lambda: getattr(self._requeueing, "on", False)

    def requeue(self, task: Task) -> None:
        """Put back a job that ran (interrupted, or a retry): the storage never
        holds it, and it ends the hold of a newer job of its identity
        (:mod:`plexsync.queue.storage`): the job's time has come."""
        self._requeueing.on = True
        try:
            self.enqueue(task)  # type: ignore[attr-defined]
        finally:
            self._requeueing.on = False

    def _requeue_task(self, task: Task, timestamp: object, retry_eta: object = None) -> None:
        # huey's: a retry without delay is enqueued at once, a retry with one scheduled
        self._requeueing.on = True
        try:
            super()._requeue_task(task, timestamp, retry_eta)  # type: ignore[misc]
        finally:
            self._requeueing.on = False

    def identity_of(self, data: bytes) -> str:
        """The :func:`job_identity` of a serialized job (every enqueue path goes
        through the storage, so this is where coalescing is decided)."""
        message = self.serializer.deserialize(data)  # type: ignore[attr-defined]
        return job_identity(message.name, message.args, message.kwargs)

    def dequeue(self) -> Task | None:
        claimed = self.storage.claim()
        if claimed is None:
            return None
        claim_id, data = claimed
        try:
            task = self.deserialize_task(data)
        except Exception:
            self.storage.release(claim_id)  # unreadable: huey would drop it too
            raise
        with self._claims_lock:
            self._claims[task.id] = claim_id
        return task

    def execute(self, task: Task, timestamp: object = None) -> object:
        try:
            return super().execute(task, timestamp)  # type: ignore[misc]
        finally:
            self.release(task)

    def release(self, task: Task) -> None:
        """huey is done with ``task`` (or put it back in the queue itself)."""
        with self._claims_lock:
            claim_id = self._claims.pop(task.id, None)
        if claim_id is None:
            return
        try:
            self.storage.release(claim_id)
        except Exception:
            with self._claims_lock:
                self._unreleased.add(claim_id)
            raise

    def recover_orphans(self) -> int:
        return self.storage.recover()

    def requeue_unreleased(self) -> int:
        """Put back in the queue the jobs whose claim could not be released (a
        full disk): the claim is all that is left of a retry huey could not
        schedule either, and it would keep the scene's next sync waiting
        forever. Running a finished job again is harmless (a sync writes
        the current state); dropping one is not."""
        with self._claims_lock:
            unreleased = set(self._unreleased)
        if not unreleased:
            return 0
        requeued = self.storage.recover(unreleased)
        with self._claims_lock:
            self._unreleased -= unreleased
        return requeued


class ReliableSqliteHuey(_ReliableHueyMixin, SqliteHuey):
    storage_class = ReliableSqliteStorage

    def read_schedule(self, timestamp: object = None) -> list[Task]:
        if timestamp is None:
            timestamp = self._get_timestamp()
        self.storage.promote_schedule(timestamp, lambda data: self.deserialize_task(data).priority)
        return []  # already queued, atomically


class ReliablePriorityRedisHuey(_ReliableHueyMixin, PriorityRedisHuey):
    storage_class = ReliablePriorityRedisStorage

    def read_schedule(self, timestamp: object = None) -> list[Task]:
        """Due jobs go back to the queue as jobs that ran (never held), not as new ones."""
        for task in super().read_schedule(timestamp):
            try:
                self.requeue(task)
            except Exception:  # as huey's scheduler does for each task
                logging.getLogger("huey").exception("Error enqueueing %s.", task)
        return []
