"""The worker starts itself: on demand from a hook or task, gone again when idle.

**Worker modes.** ``auto`` (the default): when a hook or task has queued work
and no consumer is alive, it starts one, detached, and that consumer stops
after *Idle worker stops after* seconds with nothing queued, scheduled or
running. ``external``: the user runs ``huey_consumer huey_config.huey`` (or
``python3 run.py worker``) as a service; the plugin never starts one and says
so in Stash's log when none is running.

**How the mode reaches the hook.** A hook may not call Stash, so it cannot
read the plugin page. It takes ``PLEXSYNC_WORKER_MODE`` from its environment
(Stash's), and otherwise the *Worker mode* setting as the last consumer saw it
on the plugin page: consumers copy the non-secret settings a hook needs into
the health snapshot (:mod:`plexsync.worker.health`). Before any consumer has run
it is ``auto``; an auto-started consumer that then reads ``external`` on the
plugin page stops as soon as the queue is empty (its idle period becomes 0).

**Who is alive, on this machine.** Every consumer holds ``worker.lock`` in the
data directory for its whole life (a shared ``flock``, released by the kernel
when the process dies, SIGKILL included: a stale lock cannot exist). The hook
probes it with a non-blocking exclusive ``flock``: a refusal means a consumer
(or another hook starting one) is there; that is the whole liveness check.
The hook that gets the lock starts the consumer *with the locked file
descriptor inherited*, so the lock passes to the consumer without a gap in
which a second hook could win it too: of 50 hooks firing at once, exactly one
starts a worker. A hook enqueues *before* it probes and an idle consumer
releases the lock *before* its last look at the queue, so a job is never left
with neither a running consumer nor a hook that starts one. The consumer's
side (holding the lock, the idle stop) is :mod:`plexsync.worker.presence`; this
module is what a hook loads.

**On Redis** the consumers may run elsewhere: when the local lock is free the
hook also reads the heartbeat (:mod:`plexsync.worker.heartbeat`), and a fresh beat
from another host counts as alive. Auto mode then still works on Stash's own
machine.

**What the started consumer gets.** The hook's environment (Stash's), plus
``PLEXSYNC_STASH_URL`` derived from the hook's ``server_connection`` (Scheme,
Host, Port) when it is not set. Never the session cookie: it belongs to one
invocation. When Stash has a login, set ``PLEXSYNC_STASH_API_KEY`` in Stash's
environment; without it the worker's first job reports "Stash refused", and
the hooks show that warning. Its output goes to ``worker.log`` in the data
directory; stdin, stdout and stderr are detached from Stash's pipes and it
runs in a session of its own, so Stash does not wait for it.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: a hook loads this module (issue #9)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; auto mode cannot tell who runs
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "worker.lock"
LOG_FILE = "worker.log"
#: worker.log is renamed to worker.log.1 at a start once it is bigger than this.
LOG_ROTATE_BYTES = 10 * 1024 * 1024
#: Internal hand-over from the starting hook to its consumer (not settings, hence the leading underscore).
ENV_LOCK_FD = "_PLEXSYNC_WORKER_LOCK_FD"
ENV_AUTOSTARTED = "_PLEXSYNC_WORKER_AUTOSTARTED"
#: From a hook that could not write the queue to the worker it starts: when (see :func:`start_catching_up`).
ENV_FAILED_AT = "_PLEXSYNC_WRITES_FAILED_AT"
#: The consumer's options; ``python3 run.py worker`` uses the same (a test checks it).
#: -m 1: an idle worker still picks up a new edit within a second.
CONSUMER_OPTIONS = ("-w", "4", "-k", "thread", "-m", "1")


# os.path rather than pathlib: a hook runs these, and pathlib costs it milliseconds (issue #9).
def lock_path(data_dir: str | Path) -> str:
    return os.path.join(data_dir, LOCK_FILE)


def open_lock(data_dir: str | Path) -> int:
    os.makedirs(data_dir, exist_ok=True)
    return os.open(lock_path(data_dir), os.O_RDWR | os.O_CREAT, 0o644)


def try_claim(data_dir: str | Path) -> int | None:
    """A descriptor holding the lock exclusively when no consumer holds it, else None."""
    if fcntl is None:
        return None
    fd = open_lock(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def stash_url(server_connection: Any) -> str | None:
    """Stash's address from a hook's ``server_connection`` (never its session cookie)."""
    if not isinstance(server_connection, dict):
        return None
    scheme = server_connection.get("Scheme")
    host = server_connection.get("Host")
    port = server_connection.get("Port")
    if scheme not in ("http", "https") or not isinstance(host, str) or isinstance(port, bool):
        return None
    if not isinstance(port, int) or not 0 < port < 65536:
        return None
    host = host.strip()
    if host in ("", "0.0.0.0", "::", "[::]"):  # Stash listening on every interface
        host = "localhost"
    if not all(ch.isalnum() or ch in ".-:[]_" for ch in host):
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def consumer_command() -> list[str]:
    return [sys.executable, "-m", "huey.bin.huey_consumer", "huey_config.huey", *CONSUMER_OPTIONS]


def _log_file(data_dir: str | Path) -> Any:
    path = os.path.join(data_dir, LOG_FILE)
    try:
        if os.stat(path).st_size > LOG_ROTATE_BYTES:
            os.replace(path, path + ".1")
    except OSError:
        pass
    return open(path, "ab")


def spawn(lock_fd: int, data_dir: str | Path, server_connection: Any, plugin_dir: str | Path) -> int:
    """Start a detached consumer that inherits ``lock_fd``; returns its pid."""
    import subprocess  # only the one hook that starts a worker pays for it

    env = dict(os.environ)
    if not env.get("PLEXSYNC_STASH_URL"):
        derived = stash_url(server_connection)
        if derived:
            env["PLEXSYNC_STASH_URL"] = derived
    env[ENV_LOCK_FD] = str(lock_fd)
    env[ENV_AUTOSTARTED] = "1"
    with _log_file(data_dir) as out:
        child = subprocess.Popen(
            consumer_command(),
            cwd=plugin_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            pass_fds=(lock_fd,),
        )
    return child.pid


def _remote_consumer_alive() -> bool:
    import socket
    import time

    from plexsync.worker import heartbeat

    beat = heartbeat.read()
    if not beat or beat.get("host") == socket.gethostname():
        return False  # none, or of this machine, whose lock is free: dead
    return time.time() - float(beat.get("beat_at", 0)) <= heartbeat.MAX_AGE


def ensure_worker(mode: str, server_connection: Any, work: bool) -> str | None:
    """After a hook or task: start a consumer when ``work`` waits and none is alive (auto mode).

    Returns a warning for Stash's log, or None when a consumer runs, was
    started, or is not needed yet.
    """
    from plexsync import hookenv  # not plexsync.config (its settings table): a hook runs this

    if fcntl is None:
        if mode == "auto" and work:
            return "the worker cannot be started automatically on Windows: run `python3 run.py worker`"
        return None
    data_dir = hookenv.data_dir()
    fd = try_claim(data_dir)
    if fd is None:
        return None  # a consumer holds the lock, or another hook is starting one
    try:
        if hookenv.redis_url() and _remote_consumer_alive():
            return None
        if mode == "auto":
            if work:
                spawn(fd, data_dir, server_connection, hookenv.PLUGIN_DIR)
            return None
        return (
            f"no worker is running (worker mode {mode}): syncs wait in the queue until you start it, "
            f"e.g. `python3 run.py worker` in {hookenv.PLUGIN_DIR}"
        )
    finally:
        os.close(fd)


def start_catching_up(server_connection: Any) -> None:
    """After a hook or task could not write the queue (a full or read-only data folder), in auto mode.

    A running worker notices the failing writes itself (:mod:`plexsync.worker.writes`).
    When none runs, start one, told when this write failed: nothing else
    remembers the edit, and once the folder can be written that worker syncs
    every scene changed since then. Quiet when it cannot: a read-only folder
    takes no lock file and no log, and the hook's answer already says what is wrong.
    """
    import time

    from plexsync import hookenv

    try:
        mode = hookenv.worker_mode(_published_settings())
        if mode == "auto":
            os.environ[ENV_FAILED_AT] = repr(time.time())  # spawn() passes this process's environment on
            ensure_worker(mode, server_connection, work=True)
    except Exception:
        pass


def _published_settings() -> dict[str, Any] | None:
    """The settings the last worker published, when the queue can still be read (a running worker holds it open)."""
    from plexsync.queue import producer
    from plexsync.worker import health

    try:
        snapshot = producer.peek(health.KEY)
    except Exception:
        return None
    return snapshot.get("settings") if isinstance(snapshot, dict) else None
