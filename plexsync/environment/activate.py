"""Is the set-up for this package there? If so, put it on the path. The entry script asks on every invocation.

Stash waits for every hook process (issue #9), so this costs a hook a read of
the two small lock files, their sha256 (``hashlib`` is loaded by the hook's
queue code anyway) and a few ``stat`` calls; ``benchmarks/hook.py`` measures it.

Three answers:

* ``absent``: the folder ships no wheels (a git checkout): the packages come
  from ``.venv`` or Stash's own Python, as before this module existed;
* ``ready``: ``.deps/<digest>/`` of this lock exists (complete: it is renamed
  into place only when whole): it goes on ``sys.path`` ahead of Stash's own
  site-packages (the Docker image preinstalls its own ``requests``), and on
  ``PYTHONPATH``, so a worker or set-up the invocation starts finds it too;
* ``needed``: wheels are shipped but this lock was never set up (a fresh
  install, or an upgrade that changed the lock: that is what *outdated* means).
"""

from __future__ import annotations

import os
import sys

from plexsync.environment import layout

ABSENT, READY, NEEDED = "absent", "ready", "needed"


def lock_digest(plugin_dir: str) -> str | None:
    """The first 16 hex digits of the sha256 of both lock files; None without ``requirements.lock``."""
    import hashlib

    digest = hashlib.sha256()
    for index, name in enumerate(layout.LOCK_FILES):
        try:
            with open(os.path.join(plugin_dir, name), "rb") as lock:
                digest.update(lock.read())
        except FileNotFoundError:
            if index == 0:
                return None
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def state(plugin_dir: str) -> tuple[str, str | None]:
    if not os.path.isdir(layout.wheels_dir(plugin_dir)):
        return ABSENT, None
    digest = lock_digest(plugin_dir)
    if digest is None:
        return ABSENT, None
    return (READY if os.path.isdir(layout.target(plugin_dir, digest)) else NEEDED), digest


def entries(plugin_dir: str, digest: str) -> list[str]:
    """The folders to put on the path: the lock's packages, then the optional features set up for this Python."""
    found = [layout.target(plugin_dir, digest)]
    root = layout.deps_root(plugin_dir)
    suffix = f"-{layout.interpreter_tag()}"
    for name in sorted(os.listdir(root)):
        if name.startswith(f"{digest}-") and name.endswith(suffix):
            found.append(os.path.join(root, name))
    return found


def put_on_path(plugin_dir: str, digest: str) -> None:
    folders = entries(plugin_dir, digest)
    sys.path[1:1] = [folder for folder in folders if folder not in sys.path]
    inherited = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    os.environ["PYTHONPATH"] = os.pathsep.join([*folders, *(entry for entry in inherited if entry not in folders)])
    os.environ[layout.ENV_DIGEST] = digest


def activate(plugin_dir: str) -> str:
    """:data:`READY` (now on the path), :data:`NEEDED` or :data:`ABSENT`; see the module doc."""
    found, digest = state(plugin_dir)
    if found == READY and digest is not None:
        put_on_path(plugin_dir, digest)
        if os.path.exists(layout.status_path(plugin_dir)):
            from plexsync.environment import report

            report.outcome_once(plugin_dir)
        from plexsync import hookenv
        from plexsync.environment import inbox

        if inbox.pending(hookenv.data_dir()):  # edits kept during the set-up that nobody queued yet (a crash)
            inbox.take_over_into_queue(hookenv.data_dir())
    return found
