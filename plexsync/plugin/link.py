"""The task *Link Plex account*: sign in to Plex by code and fill in Plex URL and Plex token.

Stash logs a task's output at Debug, which users never see, so everything the
user must read is an info line on stderr: first "open plex.tv/link and enter
ABCD", then what was found. The sign-in itself is :mod:`plexsync.plex.signin`;
this module is the conversation with the user and the one write into Stash's
settings (:class:`plexsync.stash.settings_store.SettingsStore`, merged with
what is stored, with the defaults). Stopping the task from Stash kills the
process: before that single ``configurePlugin`` nothing was written, after it
everything was.

Several servers: the task says which it found and how to choose (put the
address into *Plex URL*, or run the task with the argument ``server=NAME``
through ``runPluginTask``); the next run keeps the server at that address.
"""

from __future__ import annotations

import os
from typing import Any

from plexsync.config import ConfigError, default_value, env_name, setting_value

PLUGIN_PAGE = "Settings > Plugins > Stash Plex Sync"
#: Progress lines while the code waits: one every this fraction of the wait.
_PROGRESS_STEP = 0.01


def _stored_plex_url(stored: dict[str, Any]) -> str | None:
    try:
        return setting_value("plex_url", stored, environ={})
    except ConfigError:
        return None


def _timeout() -> float:
    try:
        return setting_value("http_timeout")
    except ConfigError:
        return default_value("http_timeout")


def run(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plex import signin
    from plexsync.plugin import report
    from plexsync.plugin.protocol import PluginInputError, log
    from plexsync.plugin.settings_page import store_for
    from plexsync.queue.instance import bootstrap

    def info(message: str) -> None:
        log("info", f"PlexSync: {message}")

    wanted = args.get("server")
    if wanted is not None and not isinstance(wanted, str):
        raise PluginInputError("the argument 'server' is not a text (a Plex server's name)")
    store = store_for(server)
    current_url = _stored_plex_url(store.read())
    login = signin.CodeSignin(bootstrap.plex_tv_url, _timeout())
    try:
        code = login.code()
        minutes = signin.CODE_WAIT / 60
        info(
            f"open plex.tv/link and enter {code} (signed in as the owner of your Plex server; "
            f"the code works for {minutes:.0f} minutes)"
        )
        last = [-1.0]

        def tick(fraction: float) -> None:
            if fraction - last[0] >= _PROGRESS_STEP:
                last[0] = fraction
                log("progress", f"{fraction:.3f}")

        account_token = login.wait(signin.CODE_WAIT, tick)
        link = signin.find_server(login, account_token, wanted or None, current_url)
    except signin.SeveralServers as exc:
        raise PluginInputError(
            f"{exc}; choose one: put its address into 'Plex URL' ({PLUGIN_PAGE}) and run Link Plex account again "
            "(or run it with the argument server=NAME)"
        ) from None
    except signin.SigninError as exc:
        raise PluginInputError(str(exc)) from None
    store.update({"plex_url": link.url, "plex_token": link.token})
    how = {
        "local": "its local address",
        "remote": "its remote address (no local address answers from here)",
        "relay": "Plex's relay (slow; no direct address answers from here)",
        "stored": "the address already in 'Plex URL'",
    }[link.location]
    message = (
        f"signed in as {link.account}; linked Plex server '{link.server_name}' at {link.url} ({how}): "
        f"'Plex URL' and 'Plex token' are saved on {PLUGIN_PAGE}"
    )
    overridden = [env_name(key) for key in ("plex_url", "plex_token") if os.environ.get(env_name(key))]
    warnings = [("warning", f"{' and '.join(overridden)} in Stash's environment win over the plugin page: remove them")]
    message += "; the task Doctor checks the path rules next"
    report.tell("Link Plex account", warnings if overridden else [], ("info", message))
    return message
