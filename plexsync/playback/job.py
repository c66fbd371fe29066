"""The task bodies of the copy from Plex: on the schedule the user chose, and now.

Every consumer's clock (:mod:`plexsync.worker.clock`) asks once a minute; a copy
is queued only when *Copy from Plex every (minutes)* is above 0 and that long
has passed, and the turn is claimed in the shared state, so several consumers
queue one copy per interval. "Copy from Plex now" (Stash's task) queues one at
once, whatever the interval. Both run as the same job, with its usual retries;
each copy reads from the watermark of the last good one.
"""

from __future__ import annotations

import logging

from huey.api import Task

from plexsync.config import SyncSettings
from plexsync.errors import SyncError
from plexsync.playback import run as playback_run
from plexsync.playback.plex_state import PlexState
from plexsync.stash.writer import StashWriter
from plexsync.state import playback as state
from plexsync.sync import worker

log = logging.getLogger("plexsync.playback")


def kinds(settings: SyncSettings) -> playback_run.Kinds:
    return playback_run.Kinds(settings.playback_plays, settings.playback_resume, settings.playback_ratings)


def options(settings: SyncSettings) -> playback_run.Options:
    return playback_run.Options(settings.playback_accounts, settings.playback_marks, settings.rating_policy)


def _copy(settings: SyncSettings) -> None:
    plex = PlexState(worker.context.plex())
    stash = StashWriter(worker.context.stash())
    outcome = playback_run.run(stash, plex, settings.path_map, kinds(settings), options(settings))
    if outcome.skipped:
        log.info("copy from Plex: another copy is running in this worker")
    elif outcome.plays or outcome.resumes or outcome.ratings or outcome.unmapped:
        log.info("copy from Plex: %s", outcome.describe())


def run_now(task: Task | None) -> None:
    worker._guarded(task, ("stash", "plex"), _copy)


def queue_if_due() -> bool:
    """Queue a copy when the interval has passed (claimed for every worker); True
    when it did. Switched off (the default) it reads only the settings a job read
    last, and reports nothing: an unreachable Stash or Plex is the sync jobs'
    news, not the clock's."""
    from plexsync.tasks import PRIORITY_BULK, sync_playback

    try:
        settings = worker.context.current_settings() or worker.context.settings()
        if settings.playback_interval <= 0:
            return False
        server = worker.context.plex().machine_identifier
    except SyncError as exc:
        log.debug("copy from Plex not scheduled: %s", exc)
        return False
    if not state.claim_due(server, settings.playback_interval * 60):
        return False
    sync_playback(priority=PRIORITY_BULK)
    return True
