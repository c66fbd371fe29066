"""A consumer's presence: it holds its presence lock, beats, publishes its health, and stops when idle.

While the data folder cannot be written its beat fails, and the presence
waits instead of stopping when idle (:mod:`plexsync.worker.writes`).

The hook's side of the same protocol (probe the presence locks, start a
consumer under the start lock) and why it is safe are in
:mod:`plexsync.worker.autostart`. One daemon thread per consumer process,
started by the job lifecycle's startup hook (:mod:`plexsync.queue.lifecycle`).
A consumer the plugin starts took its presence lock before huey loaded
(:mod:`plexsync.worker.launch`) and this class adopts it.
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

from plexsync.worker import oslock
from plexsync.worker.autostart import presence_dir
from plexsync.worker.writes import FailingWrites

log = logging.getLogger("plexsync.worker.presence")


class PresenceLock:
    """This consumer's own lock file, ``workers/<host>-<pid>-<nonce>.lock``: held means alive.

    The name is never reused (the nonce), so a file whose lock nobody holds
    is a dead consumer's, and removing it cannot race a process about to lock it.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = str(data_dir)
        folder = presence_dir(self.data_dir)
        self.path = os.path.join(folder, f"{HOST}-{os.getpid()}-{os.urandom(4).hex()}.lock")
        self.fd: int | None = None

    def take(self) -> bool:
        if self.fd is None:
            self.fd = oslock.try_lock_path(self.path)
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            oslock.release(self.fd)
            self.fd = None

    def remove(self) -> None:
        """At a clean stop: released, and its file gone (left behind on Windows while a hook probes it)."""
        self.release()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def prune(self) -> int:
        """Remove the files of consumers that died without removing theirs (SIGKILL, power cut)."""
        removed = 0
        with contextlib.suppress(OSError), os.scandir(presence_dir(self.data_dir)) as entries:
            for entry in entries:
                if entry.path != self.path and entry.name.endswith(".lock") and not oslock.held_by_someone(entry.path):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
        return removed


def _host() -> str:
    import socket

    return socket.gethostname().replace(os.sep, "_").replace("/", "_") or "host"


HOST = _host()
#: The presence lock the launcher took before huey loaded (plexsync.worker.launch), for the consumer to adopt.
taken_at_launch: PresenceLock | None = None


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
        # raise_signal, not os.kill: on Windows os.kill(pid, SIGINT) is TerminateProcess, no graceful stop.
        stop: Callable[[], None] = lambda: signal.raise_signal(signal.SIGINT),
        writes: FailingWrites | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.huey = huey
        self.idle_exit = idle_exit
        self.on_beat = on_beat
        self._stop = stop
        self.writes = writes or FailingWrites(data_dir, lambda since: "nothing to catch up")
        self._lock: PresenceLock | None = None
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
    def hold(self) -> bool:
        """Hold this consumer's presence lock (several consumers may run, each with its own)."""
        if self._lock is None:
            adopted = taken_at_launch
            same = adopted is not None and os.path.samefile(adopted.data_dir, self.data_dir)
            self._lock = adopted if same else PresenceLock(self.data_dir)
        return self._lock.take()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def close(self) -> None:
        """At the consumer's clean stop: the lock released and its file removed (a kill leaves it to be pruned)."""
        if self._lock is not None:
            self._lock.remove()

    def stop_for_new_credential(self) -> None:
        """Stash refused the API key the plugin handed over: make room at once for a worker with the new one."""
        if self.stopping:
            return
        self.stopping = True
        self.close()
        log.warning(
            "Stash refused the API key PlexSync handed to this worker (it was regenerated or cleared in Stash): "
            "stopping; the next edit or task starts a worker with Stash's current key"
        )
        with contextlib.suppress(Exception):
            from plexsync.worker import heartbeat

            heartbeat.clear()
            self.on_beat()
        self._stop()

    # -- the loop --------------------------------------------------------
    def start(self) -> ConsumerPresence:
        self.hold()
        if self._lock is not None:
            self._lock.prune()
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
        if self._lock is not None:
            self._lock.remove()
        why = "PlexSync was upgraded: stopping" if self.outdated() else f"idle for {idle_for:.0f} s: stopping"
        log.info("%s; the next queued sync starts a worker again", why)
        heartbeat.clear()
        self.on_beat()
        self._stop()
