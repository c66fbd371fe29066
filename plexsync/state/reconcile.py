"""Where the reconcile of scenes changed without a hook got to, and when it last ran.

The watermark is the ``updated_at`` of the newest scene change already handled,
as Stash itself wrote it: Stash compares that column as text, so a value in
its own format is the only one that compares right. One row, shared by every
worker (with ``PLEXSYNC_DATABASE_URL``, by every machine), so that several
consumers' schedulers start one reconcile per interval, not one each.
"""

from __future__ import annotations

import time

import peewee

from plexsync.state.db import BaseModel, locked, transactional

_ROW = "scenes"


class ReconcileState(BaseModel):
    name = peewee.CharField(primary_key=True)
    #: Stash's updated_at of the newest scene change handled (None: no run yet).
    watermark = peewee.CharField(null=True)
    #: The scenes changed in that very second that were queued, comma-separated:
    #: Stash keeps whole seconds, so the next run looks at that second again and
    #: skips these (a scene changed then after the run passed it is not lost).
    queued_at_watermark = peewee.TextField(null=True)
    started_at = peewee.DoubleField(null=True)
    finished_at = peewee.DoubleField(null=True)


def _row() -> ReconcileState:
    """The one row, locked; created first if missing (by whichever worker gets there first)."""
    ReconcileState.insert(name=_ROW).on_conflict_ignore().execute()
    return locked(ReconcileState.select().where(ReconcileState.name == _ROW)).get()


@transactional
def claim_due(interval_seconds: float, now: float | None = None) -> bool:
    """True (and the run's start recorded) when no run started in the last interval."""
    now = time.time() if now is None else now
    row = _row()
    if row.started_at is not None and 0 <= now - row.started_at < interval_seconds:
        return False
    ReconcileState.update(started_at=now).where(ReconcileState.name == _ROW).execute()
    return True


#: More scenes than this changed in one second are not remembered (they are queued once more).
MAX_REMEMBERED = 10_000


def watermark() -> tuple[str | None, set[str]]:
    """Stash's updated_at the last run got to (None: no run yet), and the scenes of that second it queued."""
    row = ReconcileState.get_or_none(ReconcileState.name == _ROW)
    if row is None:
        return None, set()
    return row.watermark, set(filter(None, (row.queued_at_watermark or "").split(",")))


@transactional
def advance(new_watermark: str, queued_then: set[str]) -> None:
    """Record a run that finished: every change up to ``new_watermark`` was queued."""
    _row()
    remembered = ",".join(sorted(queued_then)) if len(queued_then) <= MAX_REMEMBERED else ""
    ReconcileState.update(watermark=new_watermark, queued_at_watermark=remembered, finished_at=time.time()).where(
        ReconcileState.name == _ROW
    ).execute()


def last_finished() -> float | None:
    row = ReconcileState.get_or_none(ReconcileState.name == _ROW)
    return row.finished_at if row else None
