"""Is one scene's sync waiting, held, scheduled for a retry, or running right now?

For ``plexsync inspect`` and the scene page's panel. The queue and the
claims are found by job identity (:func:`plexsync.queue.storage.job_identity`,
an indexed lookup on SQLite, a hash scan on Redis); the schedule (retries,
jobs waiting for Plex, Stash or a Plex scan) has no identity column, so the
first :data:`SCHEDULE_SCAN` scheduled jobs are read and decoded.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Any

from plexsync.queue.storage import job_identity

#: Scheduled jobs looked through for one scene (each is unpickled: ~20 us).
SCHEDULE_SCAN = 5000
SYNC_SCENE = "plexsync.tasks.sync_scene"


@dataclass(frozen=True)
class SceneJob:
    #: Of ``running``, ``queued``, ``held`` (queued, waiting for a burst of edits to end), ``scheduled``.
    states: frozenset[str]
    #: When the scheduled job runs (Unix time), if one is scheduled.
    retry_at: float | None = None

    def describe(self) -> str | None:
        if "running" in self.states:
            return "a sync of this scene is running now"
        if "queued" in self.states:
            return "a sync of this scene is queued"
        if "held" in self.states:
            return "a sync of this scene is queued, held until a burst of edits is over"
        if "scheduled" in self.states:
            return "a sync of this scene will be tried again"
        return None


def _eta(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(calendar.timegm(value.utctimetuple()))  # huey's utc=True: naive UTC datetimes
    except AttributeError:
        return None


def scene_job(huey: Any, scene_id: str) -> SceneJob:
    states = set(huey.storage.states_of(job_identity(SYNC_SCENE, (scene_id,), None)))
    retry_at = None
    for data in huey.storage.scheduled_items(SCHEDULE_SCAN):
        try:
            message = huey.serializer.deserialize(data)
        except Exception:  # a job another version wrote: not this scene's as far as we can tell
            continue
        if message.name == SYNC_SCENE and tuple(message.args or ())[:1] == (scene_id,):
            states.add("scheduled")
            eta = _eta(message.eta)
            retry_at = eta if retry_at is None or (eta is not None and eta < retry_at) else retry_at
    return SceneJob(frozenset(states), retry_at)
