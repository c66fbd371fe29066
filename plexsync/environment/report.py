"""What Stash's log says about the set-up: its progress while it runs, its outcome once.

A set-up started by a hook runs detached and cannot write to Stash's log; it
leaves its progress and outcome in ``.deps/status.json``. Every invocation
while it runs says where it is (an info line); the first invocation after it
ended says how it ended (info, or a warning with what to do) and removes the
outcome, renaming it first so that of several invocations at once only one
reports it.
"""

from __future__ import annotations

import os

from plexsync.environment import layout


def log(level: str, message: str) -> None:
    from plexsync.plugin.protocol import log as stash_log

    stash_log(level, f"PlexSync: {message}")


def outcome_once(plugin_dir: str) -> None:
    """Report a finished set-up's outcome, if no invocation did yet."""
    from plexsync.environment.installer import read_status

    path = layout.status_path(plugin_dir)
    status = read_status(plugin_dir)
    if not status or status.get("state") not in ("done", "failed"):
        return
    claimed = f"{path}.reported-{os.getpid()}"
    try:
        os.rename(path, claimed)
    except OSError:
        return  # another invocation reports it
    os.remove(claimed)
    log(str(status.get("level") or "info"), str(status.get("message") or "set-up finished"))


def progress_phrase(status: dict | None) -> str:
    step = (status or {}).get("step") if (status or {}).get("state") == "running" else None
    return f" ({step})" if step else ""
