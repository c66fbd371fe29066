"""The set-up a hook starts: detached, exactly one at a time, then the edits kept meanwhile are queued.

A hook may not make Stash wait for a set-up, so it starts this module as a
process of its own, with no pipe to Stash and in a session of its own (as
:mod:`plexsync.worker.autostart` starts a worker), and returns. Of many hooks
firing at once exactly one starts it: the hook takes the set-up lock first and,
where the OS can pass a descriptor on (POSIX), hands the locked descriptor to
the process it starts, so no second hook can win the lock in between; on
Windows the process takes the lock itself and a second one leaves at once.

When the packages are in place it takes the inbox over into the queue and
starts a worker, as the hook would have (``plexsync.plugin.protocol._report``),
with Stash's address from the hook's ``server_connection``, never its session
cookie: with a login, the hook asks Stash for its API key before it starts the
set-up (one request, only by the hook that starts it) and hands the answer over
through the set-up's stdin, which passes it on to the worker
(:func:`plexsync.worker.credential.for_new_worker`). Its output (a traceback, should
it crash) goes to ``.deps/setup.log``.
"""

from __future__ import annotations

import json
import os
import sys

from plexsync.environment import layout
from plexsync.worker import oslock

ENV_LOCK_FD = "_PLEXSYNC_SETUP_LOCK_FD"
ENV_SERVER = "_PLEXSYNC_SETUP_SERVER"
LOG = "setup.log"


def _without_cookie(server_connection: object) -> dict:
    if not isinstance(server_connection, dict):
        return {}
    return {key: server_connection.get(key) for key in ("Scheme", "Host", "Port") if key in server_connection}


def start(plugin_dir: str, server_connection: object) -> bool:
    """Start the set-up unless one runs; True when this call started it."""
    import subprocess

    from plexsync.worker import credential

    fd = oslock.try_lock_path(layout.setup_lock_path(plugin_dir))
    if fd is None:
        return False
    key, login, asked = credential.for_new_worker(server_connection)
    handover = credential.handover(key, asked, login)
    env = dict(os.environ)
    env[ENV_SERVER] = json.dumps(_without_cookie(server_connection))
    options: dict = {}
    if os.name == "nt":
        oslock.release(fd)  # the child takes it; a descriptor does not pass to a Windows process
        fd = None
        options["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        env[ENV_LOCK_FD] = str(fd)
        options.update(start_new_session=True, pass_fds=(fd,))
    try:
        with open(os.path.join(layout.deps_root(plugin_dir), LOG), "ab") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "plexsync.environment.background"],
                cwd=plugin_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=out,
                **options,
            )
        try:
            child.stdin.write(handover)  # type: ignore[union-attr]
            child.stdin.close()  # type: ignore[union-attr]
        except OSError:  # it ended at once (another set-up runs): nothing to hand over
            pass
    finally:
        if fd is not None:
            oslock.hand_over(fd)
    return True


def _inherited_lock(plugin_dir: str) -> int | None:
    raw = os.environ.pop(ENV_LOCK_FD, None)
    if raw:
        try:
            fd = int(raw)
            if os.path.samestat(os.fstat(fd), os.stat(layout.setup_lock_path(plugin_dir))):
                return fd
        except (ValueError, OSError):
            pass
    return oslock.try_lock_path(layout.setup_lock_path(plugin_dir))


def take_over(plugin_dir: str, server_connection: dict | None) -> int:
    """With the packages in place: queue the kept edits and see that a worker runs (as a hook does)."""
    from plexsync import hookenv
    from plexsync.environment import activate, inbox

    found, digest = activate.state(plugin_dir)
    if found != activate.READY or digest is None:
        return 0
    activate.put_on_path(plugin_dir, digest)  # not activate(): the outcome is for Stash's log, via the next invocation
    taken = inbox.take_over_into_queue(hookenv.data_dir())
    from plexsync.plugin import protocol

    protocol._report({"server_connection": server_connection}, fresh=False, queued=taken > 0)
    return taken


def main() -> int:
    from plexsync.environment import installer
    from plexsync.hookenv import PLUGIN_DIR
    from plexsync.worker import credential

    credential.receive(sys.stdin.buffer)  # Stash's key for the worker, from the hook (never in the log)
    fd = _inherited_lock(PLUGIN_DIR)
    if fd is None:
        return 0  # another set-up runs
    server = json.loads(os.environ.pop(ENV_SERVER, "null") or "null")
    print(f"set-up started (pid {os.getpid()})", flush=True)
    try:
        outcome = installer.run(PLUGIN_DIR, progress=lambda step, fraction: None)
        print(outcome["message"], flush=True)
        if outcome["state"] == "done":
            take_over(PLUGIN_DIR, server)
    finally:
        oslock.release(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
