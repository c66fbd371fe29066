"""The huey tasks. Their bodies live in :mod:`plexsync.sync.worker`.

This module is imported by every hook process to enqueue, so it imports
nothing but huey: the worker code (plexapi, stashapi, requests, peewee) is
imported inside the task bodies, which only ever run in the consumer.
"""

from __future__ import annotations

from huey import crontab
from huey.api import Task

from plexsync.config import default_value
from plexsync.queue.instance import huey
from plexsync.queue.producer import PRIORITY_BULK, PRIORITY_EDIT  # noqa: F401  (defined there for the hook)

# The defaults; each job's first attempt replaces them with the worker's
# settings (plexsync.sync.worker): the process that enqueues (a Stash hook) cannot
# read those from Stash.
RETRY_DEFAULTS = {key: default_value(key) for key in ("retries", "retry_delay", "retry_backoff")}


@huey.task(**RETRY_DEFAULTS, context=True)
def sync_scene(
    scene_id: str,
    rematch: bool = False,
    force: bool = False,
    queued_at: float | None = None,
    scanned: bool = False,
    task: Task | None = None,
) -> None:
    """Push one Stash scene's metadata into its Plex item(s); ``rematch``: look
    its files up in Plex afresh (a Stash scan saw them change or move);
    ``force``: write every field again, also those unchanged since last
    written; ``queued_at``: when the hook queued it (Unix time); ``scanned``:
    Plex announced a scan the scene was waiting for, so this is one more try
    of a waiting sync, not a wait of its own (plexsync.worker.live)."""
    from plexsync.sync import worker

    worker.run_sync_scene(scene_id, task, rematch=rematch, force=force, queued_at=queued_at, scanned=scanned)


@huey.task(**RETRY_DEFAULTS, context=True)
def sync_all(force: bool = False, task: Task | None = None) -> None:
    """Cut every scene in Stash into pages and queue a :func:`sync_page` for each
    (``force``: forced syncs)."""
    from plexsync.sync import worker

    worker.run_sync_all(task, force=force)


@huey.task(**RETRY_DEFAULTS, context=True)
def sync_related(
    kind: str, change: str, object_id: str, sources: list[str] | None = None, task: Task | None = None
) -> None:
    """Queue a :func:`sync_scene` for every scene a changed performer, studio,
    tag or group (``kind``) shows in; ``change``: update, destroy or merge
    (``sources``: the tags merged into ``object_id``)."""
    from plexsync.sync import worker

    worker.run_sync_related(kind, change, object_id, sources or [], task)


@huey.task(**RETRY_DEFAULTS, context=True)
def reconcile(task: Task | None = None) -> None:
    """Queue a :func:`sync_scene` for every scene changed without a hook since the last reconcile."""
    from plexsync.sync import worker

    worker.run_reconcile(task)


@huey.task(**RETRY_DEFAULTS, context=True)
def catch_up(since: float, task: Task | None = None) -> None:
    """Queue a :func:`sync_scene` for every scene Stash changed at or after
    ``since`` (Unix time): the edits whose hooks could not queue them while
    the data folder could not be written (plexsync.worker.writes)."""
    from plexsync.sync import worker

    worker.run_catch_up(since, task)


@huey.task(**RETRY_DEFAULTS, context=True)
def sync_page(
    after: int,
    upto: int | None,
    done: int = 0,
    handed_off: int = 0,
    force: bool = False,
    task: Task | None = None,
) -> None:
    """Sync the scenes with ``after < id <= upto`` from one Stash read (plexsync.sync.bulk);
    ``done``/``handed_off``: what an earlier job of this range did before it made way;
    ``force``: forced syncs."""
    from plexsync.sync import worker

    worker.run_sync_page(after, upto, task, done=done, handed_off=handed_off, force=force)


@huey.periodic_task(crontab(minute="23"))
def cleanup() -> None:
    """Hourly: expire dead letters and stale state, keep the SQLite files small."""
    from plexsync.worker import maintenance

    maintenance.cleanup()


@huey.task(**RETRY_DEFAULTS, context=True)
def sync_playback(task: Task | None = None) -> None:
    """Copy the plays, resume points and ratings made in Plex into Stash, now."""
    from plexsync.playback import job

    job.run_now(task)


#: Tasks a dead letter can name, by name, for retrying it.
TASKS_BY_NAME = {
    "sync_scene": sync_scene,
    "sync_all": sync_all,
    "sync_page": sync_page,
    "sync_playback": sync_playback,
    "sync_related": sync_related,
    "reconcile": reconcile,
    "catch_up": catch_up,
}


def enqueue_scene(scene_id: str, priority: int = PRIORITY_EDIT, rematch: bool = False, force: bool = False) -> None:
    """Queue the sync of one scene; the queue coalesces (plexsync.queue.reliable).

    A scene already waiting is not queued twice (the more urgent priority is
    kept); a scene being synced right now is queued once more, for after the
    running sync. The arguments stay ``(scene_id,)``: they are the job's
    identity in the queue and in the dead letters alike. ``rematch`` (a scan
    hook: the file may have moved) and ``force`` travel as keywords, so such
    jobs coalesce among themselves.
    """
    flags = {name: True for name, on in (("rematch", rematch), ("force", force)) if on}
    sync_scene(scene_id, priority=priority, **flags)
