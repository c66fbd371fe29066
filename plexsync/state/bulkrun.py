"""How far the current "sync all" has come, for Stash's progress bar and the CLI.

A run is a set of pages (id ranges, :mod:`plexsync.sync.bulk`), one row each,
written when the run is planned. A page job *sets* (never adds to) how many
of its scenes it has done, so a page that runs again after an outage or a
crash does not count its scenes twice; a page that yields to an urgent job
and continues in a new job keeps its row (the row is keyed by the range's
upper end, which the continuation shares). Progress is the sum over the rows.
A new run replaces the rows of the previous one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import peewee

from plexsync.state.db import BaseModel, transactional

#: The key of the last page, whose range is open at the top.
OPEN_END = -1


class BulkPage(BaseModel):
    upto = peewee.BigIntegerField(primary_key=True)  # the range's last id; OPEN_END for the last page
    run_started_at = peewee.DoubleField()
    planned = peewee.IntegerField()  # scenes in the range when the run was planned
    done = peewee.IntegerField(default=0)
    fallbacks = peewee.IntegerField(default=0)  # scenes handed to a job of their own
    finished_at = peewee.DoubleField(null=True)
    updated_at = peewee.DoubleField()


@dataclass(frozen=True)
class Progress:
    started_at: float
    total: int
    done: int
    fallbacks: int
    pages: int
    pages_finished: int
    updated_at: float

    @property
    def finished(self) -> bool:
        return self.pages_finished >= self.pages

    @property
    def fraction(self) -> float:
        if self.finished:
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0


def key(upto: int | None) -> int:
    return OPEN_END if upto is None else upto


@transactional
def plan(pages: list[tuple[int | None, int]]) -> float:
    """A new run of ``pages`` ((upper end, scenes) each); its start time."""
    now = time.time()
    BulkPage.delete().execute()
    rows = [{"upto": key(upto), "run_started_at": now, "planned": count, "updated_at": now} for upto, count in pages]
    for start in range(0, len(rows), 500):
        BulkPage.insert_many(rows[start : start + 500]).execute()
    return now


def report(upto: int | None, done: int, fallbacks: int, finished: bool = False) -> None:
    """What the page ending at ``upto`` has dealt with so far (synced, outside
    Plex, left to a newer sync, or handed to a job of its own); a page of no
    current run writes nothing."""
    now = time.time()
    values = {"done": done, "fallbacks": fallbacks, "updated_at": now}
    if finished:
        values["finished_at"] = now
        values["planned"] = done  # scenes added to or deleted from the range meanwhile
    BulkPage.update(**values).where(BulkPage.upto == key(upto)).execute()


def current() -> Progress | None:
    """The current (or last) run, or None when there was none."""
    row = BulkPage.select(
        peewee.fn.MIN(BulkPage.run_started_at),
        peewee.fn.SUM(BulkPage.planned),
        peewee.fn.SUM(BulkPage.done),
        peewee.fn.SUM(BulkPage.fallbacks),
        peewee.fn.COUNT(BulkPage.upto),
        peewee.fn.COUNT(BulkPage.finished_at),
        peewee.fn.MAX(BulkPage.updated_at),
    ).tuples()[0]
    started_at, planned, done, fallbacks, pages, finished, updated = row
    if not pages:
        return None
    return Progress(started_at, int(planned or 0), int(done or 0), int(fallbacks or 0), pages, finished, updated)
