"""What every task run does for the plugin's settings page before its own work.

It stores the defaults the page lacks (:mod:`plexsync.stash.settings_store`:
Stash draws an unset switch as off and an unset number as empty) and says, as
one warning line each in Stash's log, which stored values are refused and what
each setting accepts. Tasks, not the worker, do this: a task is Stash's own
invocation, with Stash's own session (valid whatever credential a worker has),
and the plugin is then the only writer of its settings map, however many
workers run on however many machines. Link Plex account, the first step of an
install, is a task; so the page shows the truth from the first run on.
"""

from __future__ import annotations

from typing import Any

from plexsync.config import ConfigError, default_value, invalid_settings, setting_value
from plexsync.errors import SyncError
from plexsync.stash.settings_store import SettingsStore


def store_for(server: dict[str, Any] | None) -> SettingsStore:
    """The settings map as this task reaches Stash: its session cookie inside Stash, else the bootstrap's API key."""
    from plexsync.queue.instance import bootstrap
    from plexsync.stash.reader import StashReader
    from plexsync.tools.doctor import StashAccess

    access = (
        StashAccess.from_server_connection(server)
        if isinstance(server, dict)
        else StashAccess.from_bootstrap(bootstrap)
    )
    try:
        timeout = setting_value("http_timeout")
    except ConfigError:  # a malformed variable: reported by the check below
        timeout = default_value("http_timeout")
    return SettingsStore(StashReader(access.connection, timeout=timeout))


def on_task(server: dict[str, Any] | None, report_refused: bool = True) -> None:
    """Store the missing defaults; warn about each refused value (unless the task reports them itself)."""
    from plexsync.plugin.protocol import log

    try:
        stored = store_for(server).update()
    except SyncError as exc:
        log("warning", f"PlexSync: could not store the settings' defaults on the plugin page: {exc.reason}")
        return
    if report_refused:
        for problem in invalid_settings(stored):
            log("warning", f"PlexSync: {problem}")
