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

**Who is alive, on this machine.** Every consumer holds a lock on a file of
its own, ``workers/<host>-<pid>-<nonce>.lock`` in the data directory, for its
whole life (released by the operating system when the process dies, SIGKILL
included: a stale lock cannot exist; :mod:`plexsync.worker.oslock`). A hook
probes those files: one it cannot lock belongs to a live consumer; that is
the whole liveness check (a directory listing and one lock attempt).

**Exactly one start.** A hook that finds none alive takes ``worker.lock``
(the *start lock*, exclusive, non-blocking; a refusal means another hook is
starting one, and that worker will take this hook's job too), looks once
more, starts the consumer and holds the start lock **until the consumer
holds its own presence lock** (the child says "ready" on its stdout pipe, a
few tens of milliseconds after it starts: :mod:`plexsync.worker.launch`). So
no hand-over of a locked descriptor is needed: of 50 hooks firing at once,
exactly one starts a worker, on Linux, macOS and Windows alike (a Windows
child cannot take over its parent's lock: byte-range locks belong to the
process that took them). A hook enqueues *before* it probes and an idle
consumer releases its lock *before* its last look at the queue, so a job is
never left with neither a running consumer nor a hook that starts one. The
consumer's side (holding the lock, the idle stop) is
:mod:`plexsync.worker.presence`; this module is what a hook loads.

**On Redis** the consumers may run elsewhere: when no local consumer is alive
the hook also reads the heartbeat (:mod:`plexsync.worker.heartbeat`), and a
fresh beat from another host counts as alive. Auto mode then still works on
Stash's own machine.

**What the started consumer gets.** The hook's environment (Stash's), plus
``PLEXSYNC_STASH_URL`` derived from the hook's ``server_connection`` (Scheme,
Host, Port) when it is not set, and Stash's API key through its stdin
(:mod:`plexsync.worker.credential`: never on disk, in a log, its
environment or its command line). Never the session cookie: it belongs to
one invocation. Its output goes to ``worker.log`` in the data directory;
it runs detached from Stash (POSIX: a session of its own; Windows:
``DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP``, no console window), so
Stash does not wait for it.
"""

from __future__ import annotations

import os
import sys

from plexsync.worker import oslock

TYPE_CHECKING = False  # not typing's: a hook loads this module (issue #9)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

LOCK_FILE = "worker.lock"
#: Each live consumer's presence lock lives in this folder of the data directory.
PRESENCE_DIR = "workers"
LOG_FILE = "worker.log"
#: worker.log is renamed to worker.log.1 at a start once it is bigger than this.
LOG_ROTATE_BYTES = 10 * 1024 * 1024
#: Internal mark of a consumer the plugin started (not a setting, hence the leading underscore).
ENV_AUTOSTARTED = "_PLEXSYNC_WORKER_AUTOSTARTED"
#: From a hook that could not write the queue to the worker it starts: when (see :func:`start_catching_up`).
ENV_FAILED_AT = "_PLEXSYNC_WRITES_FAILED_AT"
#: The consumer's options; ``python3 run.py worker`` uses the same (a test checks it).
#: -m 1: an idle worker still picks up a new edit within a second.
CONSUMER_OPTIONS = ("-w", "4", "-k", "thread", "-m", "1")
#: What the started process writes on its stdout once it holds its presence lock.
READY = b"ready"
#: Seconds the starting hook waits for that (a healthy start takes a fraction of one).
READY_TIMEOUT = 20.0
#: Windows' way of starting a process that outlives its parent without a console (subprocess constants).
WINDOWS_DETACHED = 0x00000008 | 0x00000200 | 0x08000000  # DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | NO_WINDOW


# os.path rather than pathlib: a hook runs these, and pathlib costs it milliseconds (issue #9).
def lock_path(data_dir: str | Path) -> str:
    return os.path.join(data_dir, LOCK_FILE)


def presence_dir(data_dir: str | Path) -> str:
    return os.path.join(data_dir, PRESENCE_DIR)


def live_consumers(data_dir: str | Path, first_only: bool = False) -> int:
    """How many consumers on this machine hold their presence lock (at most 1 with ``first_only``)."""
    try:
        entries = [entry.path for entry in os.scandir(presence_dir(data_dir)) if entry.name.endswith(".lock")]
    except OSError:
        return 0
    alive = 0
    for path in entries:
        if oslock.held_by_someone(path):
            alive += 1
            if first_only:
                break
    return alive


def try_start_lock(data_dir: str | Path) -> int | None:
    """A descriptor holding the start lock, or None while another hook starts a worker."""
    return oslock.try_lock_path(lock_path(data_dir))


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
    """The launcher takes the presence lock and says "ready", then runs huey's consumer in the same process."""
    return [sys.executable, "-m", "plexsync.worker.launch", "huey_config.huey", *CONSUMER_OPTIONS]


def _log_file(data_dir: str | Path) -> Any:
    path = os.path.join(data_dir, LOG_FILE)
    try:
        if os.stat(path).st_size > LOG_ROTATE_BYTES:
            os.replace(path, path + ".1")
    except OSError:
        pass
    return open(path, "ab")


def spawn(data_dir: str | Path, server_connection: Any, plugin_dir: str | Path, handover: bytes) -> int:
    """Start a detached consumer, hand it ``handover`` (Stash's key: :mod:`plexsync.worker.credential`) through
    its stdin and wait until it holds its presence lock (the caller holds the start lock meanwhile); returns its
    pid. ``RuntimeError`` when it did not say so in time (it may still start: a later hook then finds it)."""
    import subprocess  # only the one hook that starts a worker pays for it
    import threading

    env = dict(os.environ)
    if not env.get("PLEXSYNC_STASH_URL"):
        derived = stash_url(server_connection)
        if derived:
            env["PLEXSYNC_STASH_URL"] = derived
    env[ENV_AUTOSTARTED] = "1"
    detached: dict[str, Any] = {"creationflags": WINDOWS_DETACHED} if os.name == "nt" else {"start_new_session": True}
    with _log_file(data_dir) as out:
        child = subprocess.Popen(
            consumer_command(),
            cwd=plugin_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=out,
            close_fds=True,
            **detached,
        )
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(handover)
        child.stdin.close()
    except OSError:  # it died at once; its stdout says so below
        pass
    said: list[bytes] = []
    reader = threading.Thread(target=lambda: said.append(child.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(READY_TIMEOUT)
    if not said or said[0].strip() != READY:
        raise RuntimeError(f"the worker did not start (see {os.path.join(data_dir, LOG_FILE)})")
    child.stdout.close()
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

    data_dir = hookenv.data_dir()
    if live_consumers(data_dir, first_only=True):
        return None
    if hookenv.redis_url() and _remote_consumer_alive():
        return None
    if mode != "auto":
        # Stash's words, spelled out here: plexsync.tools.words loads the settings table, too much for a hook.
        if os.environ.get("PLEXSYNC_WORKER_MODE"):
            source = "by PLEXSYNC_WORKER_MODE in Stash's environment"
        else:
            source = "on the plugin page"
        return (
            f"no worker is running (Worker mode is {mode}, set {source}): syncs wait in the queue until the worker "
            "you run starts (docs/worker.md); with Worker mode auto, PlexSync starts it by itself"
        )
    if not work:
        return None
    fd = try_start_lock(data_dir)
    if fd is None:
        return None  # another hook is starting one; it will take this job too
    try:
        if live_consumers(data_dir, first_only=True):
            return None  # started between our look and our lock
        from plexsync.worker import credential

        key, login, asked = credential.for_new_worker(server_connection)
        if login and key is None:
            return credential.no_key_warning()
        try:
            spawn(data_dir, server_connection, hookenv.PLUGIN_DIR, credential.handover(key, asked))
        except (OSError, RuntimeError) as exc:
            return f"could not start the worker: {exc}"
        return None
    finally:
        oslock.release(fd)


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
