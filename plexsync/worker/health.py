"""A small health snapshot, so that Stash's log says when syncs are failing.

Every failure is handled in the worker, whose log a Stash user never reads.
So each consumer publishes, with its heartbeat, what a user must know about:
open outages (with their reason), dead letters, syncs waiting for a retry,
and the non-secret settings a hook needs (the worker mode). A hook reads it
back with one key-value read and turns it into one warning line; it must not
import peewee (about a third of a hook's time) to ask the state tables itself.

Like the heartbeat it lives in huey's key-value storage (``huey.put``), so on
Redis a worker on another machine reports to Stash's machine. The Stash tasks,
which load the state tables anyway, compute it fresh and publish it too.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # not typing's: a hook loads this module, and typing costs it milliseconds (issue #9)
if TYPE_CHECKING:
    from typing import Any

KEY = "plexsync:health"
#: The settings copied into the snapshot: what a hook may need, never a secret.
PUBLISHED_SETTINGS = ("worker_mode", "worker_idle_exit")


def _huey() -> Any:
    from plexsync.queue.instance import huey

    return huey


def read() -> dict[str, Any] | None:
    snapshot = _huey().get(KEY, peek=True)
    return snapshot if isinstance(snapshot, dict) else None


def collect(settings: Any = None) -> dict[str, Any]:
    """The snapshot from the state tables and the queue (worker and task processes only).

    ``settings`` (a :class:`~plexsync.config.SyncSettings`, when loaded) gives the
    published settings; without it the previous snapshot's are kept.
    """
    from plexsync import dlq
    from plexsync.state.outage import Outage

    huey = _huey()
    if settings is not None:
        published = {key: getattr(settings, key) for key in PUBLISHED_SETTINGS}
    else:
        published = (read() or {}).get("settings", {})
    return {
        "at": time.time(),
        "outages": [
            {"service": row.service, "reason": row.reason, "opened_at": row.opened_at}
            for row in Outage.select().order_by(Outage.service)
        ],
        "dead_letters": dlq.DeadLetter.select().count(),
        "waiting": huey.scheduled_count(),
        "queued": huey.pending_count(),
        "settings": published,
    }


def publish(snapshot: dict[str, Any]) -> None:
    _huey().put(KEY, snapshot)


def problems(snapshot: dict[str, Any] | None) -> list[str]:
    """What is failing, one short phrase each (empty when all is well)."""
    if not snapshot:
        return []
    found = []
    for outage in snapshot.get("outages") or ():
        since = time.strftime("%H:%M", time.localtime(float(outage.get("opened_at", 0))))
        reason = " ".join(str(outage.get("reason", "")).split())[:200]
        found.append(
            f"{str(outage.get('service', '?')).capitalize()} unavailable since {since}: {reason} "
            "(the Doctor task tells what to fix)"
        )
    waiting = int(snapshot.get("waiting") or 0)
    if waiting:
        found.append(f"{waiting} sync(s) waiting to be retried")
    letters = int(snapshot.get("dead_letters") or 0)
    if letters:
        found.append(f"{letters} dead letter(s): see the task 'List dead letters'")
    return found
