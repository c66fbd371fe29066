"""The worker's memory of a data folder it cannot write: since when, and the catch-up once it can.

While the data folder's disk is full or read-only, a hook cannot queue its
edit and leaves no trace: there is nowhere to write one. What remains is
when the edits were made, which Stash keeps (each scene's ``updated_at``).
A consumer writes every few seconds anyway (its heartbeat), so it notes, in
memory, when its writes began to fail; once one works again it queues a
catch-up: the sync of every scene Stash changed since then, less
:data:`MARGIN` (the job :func:`plexsync.tasks.catch_up`, the reconcile's
query over that window).

* A worker running through the outage (either mode) keeps trying every
  heartbeat, and one the plugin started does not stop for being idle while
  its writes fail (:mod:`plexsync.worker.presence`): it would take what it
  knows with it.
* No worker running when the disk filled: the hook that could not queue
  starts one (auto mode) and hands it the time of its failure
  (:data:`plexsync.worker.autostart.ENV_FAILED_AT`); that worker starts even
  though it can open neither database, and waits.
* A consumer killed during the outage forgets it: the reconcile (*Reconcile
  every*, hourly by default) syncs those scenes, whose ``updated_at`` is after
  its last run. So does it for a disk full for less than one heartbeat
  (:data:`plexsync.worker.heartbeat.BEAT_INTERVAL`), which a worker may not see.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from plexsync import unwritable
from plexsync.worker.autostart import ENV_FAILED_AT

log = logging.getLogger("plexsync.worker.writes")

#: Scenes changed this many seconds before the first failed write are synced
#: again too: edits a hook failed to queue before the worker's next write
#: noticed, the time a started worker took to start, Stash's clock against
#: ours. An unchanged scene's sync writes nothing into Plex, so a wide margin is cheap.
MARGIN = 300.0


def _handed_over() -> float | None:
    """When the hook that started this worker failed to write (None: not started so)."""
    raw = os.environ.pop(ENV_FAILED_AT, None)
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))


class FailingWrites:
    """Since when this consumer cannot write ``folder``; ``recover(since)``
    runs once it can again (it writes: its failing means the folder is still
    unwritable) and returns what it did, for the log."""

    def __init__(self, folder: Path | str, recover: Callable[[float], str]) -> None:
        self.folder = Path(folder)
        self._recover = recover
        self._lock = threading.Lock()
        #: When the first write failed (None: the writes work).
        self.since: float | None = _handed_over()
        self._said = False  # the failure is logged once per outage

    @property
    def failing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> bool:
        """Note ``exc`` when it is the data folder refusing a write (True), else False."""
        problem = unwritable.diagnose(exc, self.folder)
        if problem is None:
            return False
        with self._lock:
            if self.since is None:
                self.since = time.time()
            said, self._said = self._said, True
        if not said:
            log.error(
                "cannot write the data folder since %s: %s; %s; the worker waits, and syncs the scenes edited "
                "meanwhile once it can write again",
                _clock(self.since),
                problem.what(),
                problem.fix(),
            )
        return True

    def attempt(self, write: Callable[[], object]) -> bool:
        """Run ``write`` (after the catch-up, when the writes were failing);
        False when the data folder refused it (noted), True when it worked.
        Any other failure is raised."""
        try:
            if self.since is not None:
                self._recovered(self.since)
            write()
        except Exception as exc:
            if not self.failed(exc):
                raise
            return False
        return True

    def _recovered(self, since: float) -> None:
        done = self._recover(since)
        with self._lock:
            self.since, self._said = None, False
        log.warning(
            "the data folder %s can be written again (it could not since %s): %s", self.folder, _clock(since), done
        )
