"""A consumer's presence: it holds the worker lock, beats, publishes its health, and stops when idle.

While the data folder cannot be written its beat fails, and the presence
waits instead of stopping when idle (:mod:`plexsync.worker.writes`).

The hook's side of the same protocol (probe the lock, start a consumer and
hand the locked descriptor over) and why it is safe are in
:mod:`plexsync.worker.autostart`. One daemon thread per consumer process,
started by the job lifecycle's startup hook (:mod:`plexsync.queue.lifecycle`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plexsync.worker.autostart import ENV_LOCK_FD, fcntl, lock_path, open_lock
from plexsync.worker.writes import FailingWrites

log = logging.getLogger("plexsync.worker.presence")


class ConsumerPresence:
    """The consumer's side: hold the lock, beat, publish health, and (auto mode) stop when idle.

    One daemon thread per consumer process, started by the lifecycle's startup
    hook. ``idle_exit`` returns the current idle period in seconds, or None
    for a consumer that never stops by itself (one the user started).
    """

    TICK = 0.5

    def __init__(
        self,
        data_dir: Path,
        huey: Any,
        idle_exit: Callable[[], float] | None,
        on_beat: Callable[[], None] = lambda: None,
        stop: Callable[[], None] = lambda: os.kill(os.getpid(), signal.SIGINT),
        writes: FailingWrites | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.huey = huey
        self.idle_exit = idle_exit
        self.on_beat = on_beat
        self._stop = stop
        self.writes = writes or FailingWrites(data_dir, lambda since: "nothing to catch up")
        self._fd: int | None = None
        self._idle_since: float | None = None
        self._last_beat = 0.0
        self.stopping = False
        self._halt = threading.Event()
        self._halt_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        return "auto" if self.idle_exit is not None else "external"

    # -- the lock --------------------------------------------------------
    def _inherited_lock(self) -> int | None:
        raw = os.environ.pop(ENV_LOCK_FD, None)
        if not raw:
            return None
        try:
            fd = int(raw)
            same_file = os.path.samestat(os.fstat(fd), os.stat(lock_path(self.data_dir)))
        except (ValueError, OSError):
            return None
        if not same_file:
            return None
        os.set_inheritable(fd, False)
        return fd

    def hold(self) -> bool:
        """Hold the lock (shared: several consumers may run); False while another holds it exclusively."""
        if self._fd is not None:
            return True
        if fcntl is None:
            return False
        fd = self._inherited_lock()
        if fd is None:
            fd = open_lock(self.data_dir)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    # -- the loop --------------------------------------------------------
    def start(self) -> ConsumerPresence:
        self.hold()
        self._thread = threading.Thread(target=self._run, name="plexsync-presence", daemon=True)
        self._thread.start()
        return self

    def halt(self) -> bool:
        """Stop the loop; True for the first call only (huey calls shutdown hooks once per worker)."""
        with self._halt_lock:
            first = not self._halt.is_set()
            self._halt.set()
        return first

    def _run(self) -> None:
        while not self._halt.is_set() and not self.stopping:
            try:
                self.tick(time.monotonic())
            except Exception:  # a locked database, Redis away: try again next tick
                log.warning("worker presence check failed; retrying", exc_info=True)
            self._halt.wait(self.TICK)

    def _busy(self) -> bool:
        return bool(self.huey.pending_count() or self.huey.scheduled_count() or self.huey.storage.claims())

    def tick(self, now: float) -> None:
        from plexsync.worker import heartbeat

        if not self.stopping:
            self.hold()
        if now - self._last_beat >= heartbeat.BEAT_INTERVAL:
            self._last_beat = now
            self.writes.attempt(self._beat)
        if self.writes.failing:
            self._idle_since = None  # no idle stop: only this process knows since when edits could not be queued
            return
        if self.idle_exit is not None:
            self._check_idle(now)

    def outdated(self) -> bool:
        """Whether this worker runs on packages of another lock than the plugin's now: the plugin was upgraded
        under it (:mod:`plexsync.environment`). It then stops as soon as it is idle, as for *Worker mode*
        external, and the next hook starts a worker from the new set-up."""
        from plexsync.environment.activate import lock_digest
        from plexsync.environment.layout import ENV_DIGEST
        from plexsync.hookenv import PLUGIN_DIR

        started_on = os.environ.get(ENV_DIGEST)
        return bool(started_on) and lock_digest(PLUGIN_DIR) not in (None, started_on)

    def _beat(self) -> None:
        from plexsync.worker import heartbeat

        heartbeat.beat(self.mode)
        self.on_beat()

    def _check_idle(self, now: float) -> None:
        from plexsync.worker import heartbeat

        assert self.idle_exit is not None
        if self._busy():
            self._idle_since = None
            return
        if self._idle_since is None:
            self._idle_since = now
        idle_for = 0.0 if self.outdated() else self.idle_exit()
        if now - self._idle_since < idle_for:
            return
        # Hand over first, then look once more: a hook that enqueued before
        # the release saw the lock held, so its job must be seen now.
        self.release()
        if self._busy() and self.hold():
            self._idle_since = None
            return
        self.stopping = True
        why = "PlexSync was upgraded: stopping" if self.outdated() else f"idle for {idle_for:.0f} s: stopping"
        log.info("%s; the next queued sync starts a worker again", why)
        heartbeat.clear()
        self.on_beat()
        self._stop()
