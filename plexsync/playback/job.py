"""The task bodies of the copy from Plex: on the schedule the user chose, and now.

The periodic task fires every minute on every consumer; it copies only when
*Copy from Plex every (minutes)* is above 0 and that long has passed, and the
turn is claimed in the shared state, so several consumers make one copy per
interval. A failed periodic copy is not retried: the next turn reads from
the same watermark. "Copy from Plex now" (Stash's task) copies at once,
whatever the interval, with the job's usual retries.
"""

from __future__ import annotations

import logging

from huey.api import Task
from huey.exceptions import RetryTask

from plexsync.config import SyncSettings
from plexsync.errors import SyncError
from plexsync.playback import run as playback_run
from plexsync.playback.plex_state import PlexState
from plexsync.queue.instance import bootstrap
from plexsync.stash.writer import StashWriter
from plexsync.state import db
from plexsync.state import playback as state
from plexsync.sync import worker

log = logging.getLogger("plexsync.playback")


def kinds(settings: SyncSettings) -> playback_run.Kinds:
    return playback_run.Kinds(settings.playback_plays, settings.playback_resume, settings.playback_ratings)


def _copy(settings: SyncSettings) -> None:
    plex = PlexState(worker.context.plex())
    outcome = playback_run.run(StashWriter(worker.context.stash()), plex, settings.path_map, kinds(settings))
    if outcome.skipped:
        log.info("copy from Plex: another copy is running in this worker")
    elif outcome.plays or outcome.resumes or outcome.ratings or outcome.unmapped:
        log.info("copy from Plex: %s", outcome.describe())


def run_now(task: Task | None) -> None:
    worker._guarded(task, ("stash", "plex"), _copy)


def run_when_due() -> None:
    """The every-minute tick. Switched off (the default) it reads only the settings,
    which the worker keeps for a minute, and reports nothing: an unreachable Stash
    is the sync jobs' news, not the tick's."""
    try:
        settings = worker.context.settings()
    except Exception:
        return
    if settings.playback_interval <= 0:
        return

    def body(settings: SyncSettings) -> None:
        db.open_state(bootstrap)  # periodic tasks pass by the job lifecycle that opens it
        server = worker.context.plex().machine_identifier
        if state.claim_due(server, settings.playback_interval * 60):
            _copy(settings)

    try:
        worker._guarded(None, ("stash", "plex"), body)
    except (RetryTask, SyncError) as exc:  # the next turn tries again from the same watermark
        log.warning("copy from Plex failed: %s", exc)
