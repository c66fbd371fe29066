"""A circuit breaker per server, shared by every worker through the state DB.

When Plex (or Stash) is unreachable or refuses our credentials, every job
would fail the same way. Instead of each job burning its retries into the
dead letters, the first failure opens the breaker: jobs then wait in huey's
schedule (see :func:`plexsync.sync.worker._wait_for`) and only one job at a time
probes the server, at growing intervals. The first success closes it and the
backlog drains. Opening is reported once; so is the recovery.

Every job asks "is a breaker open?" before it starts and after it succeeds;
nearly always none is. A process trusts what it last read of the table for
:data:`SNAPSHOT_TTL` seconds (and forgets it whenever it changes the table
itself), so the question costs one read a second, not two reads a job. A
breaker another process opened within that second is seen a moment late: a
job may then still try the server, fail, and wait, as one already running
would have.
"""

from __future__ import annotations

import threading
import time

import peewee

from plexsync.state.db import BaseModel, locked, transactional


class Outage(BaseModel):
    service = peewee.CharField(primary_key=True)
    reason = peewee.TextField()
    opened_at = peewee.DoubleField()
    failures = peewee.IntegerField(default=1)
    delay = peewee.DoubleField()  # the current wait between two probes
    retry_at = peewee.DoubleField()  # when the next probe may run


#: Seconds a process trusts its last read of which breakers are open.
SNAPSHOT_TTL = 1.0
_snapshot: tuple[float, frozenset[str]] | None = None
_snapshot_lock = threading.Lock()


def open_services() -> frozenset[str]:
    """The services whose breaker is open, as read at most :data:`SNAPSHOT_TTL` seconds ago."""
    global _snapshot
    now = time.monotonic()
    with _snapshot_lock:
        snapshot = _snapshot
    if snapshot is not None and now - snapshot[0] < SNAPSHOT_TTL:
        return snapshot[1]
    services = frozenset(row.service for row in Outage.select(Outage.service))
    with _snapshot_lock:
        _snapshot = (now, services)
    return services


def _forget() -> None:
    global _snapshot
    with _snapshot_lock:
        _snapshot = None


def _backoff(failures: int, base_delay: float, max_delay: float) -> float:
    return min(max_delay, max(base_delay, 0.5) * 2 ** min(failures - 1, 30))


@transactional
def record_failure(service: str, reason: str, *, base_delay: float, max_delay: float) -> bool:
    """Open (or keep open) the breaker; True when this is news worth reporting.

    News exactly once across every consumer: the one whose insert creates the
    row opens the outage; the others find it and, holding its row lock, add
    their failure. A changed reason is news once too, for the same reason.
    """
    _forget()
    now = time.time()
    while True:
        delay = _backoff(1, base_delay, max_delay)
        opened = Outage.insert(
            service=service, reason=reason, opened_at=now, failures=1, delay=delay, retry_at=now + delay
        )
        if opened.on_conflict_ignore().as_rowcount().execute():
            return True
        row = locked(Outage.select().where(Outage.service == service)).get_or_none()
        if row is not None:
            break  # else it closed between the two statements: open it again
    delay = _backoff(row.failures + 1, base_delay, max_delay)
    Outage.update(reason=reason, failures=Outage.failures + 1, delay=delay, retry_at=now + delay).where(
        Outage.service == service
    ).execute()
    return row.reason != reason


def record_success(service: str) -> bool:
    """Close the breaker; True when it was open."""
    if service not in open_services():
        return False  # the common case costs no query at all
    _forget()
    return Outage.delete().where(Outage.service == service).execute() > 0


def seconds_until_probe(service: str) -> float | None:
    """None when a job may talk to ``service`` now, else how long to wait.

    Once the wait is over exactly one caller wins the probe (a conditional
    update on ``retry_at``) and the others wait one more interval for its
    outcome: a failed probe pushes ``retry_at`` further, a good one closes.
    """
    if service not in open_services():
        return None
    row = Outage.get_or_none(Outage.service == service)
    if row is None:
        return None
    now = time.time()
    if now < row.retry_at:
        return row.retry_at - now
    claimed = (
        Outage.update(retry_at=now + row.delay)
        .where((Outage.service == service) & (Outage.retry_at == row.retry_at))
        .execute()
    )
    return None if claimed else row.delay


def probe_now() -> None:
    """A (re)started worker may have new settings: let the next job probe at once."""
    _forget()
    Outage.update(retry_at=time.time()).execute()
