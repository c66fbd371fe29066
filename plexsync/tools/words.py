"""How a message names what to change: in Stash's words inside Stash, in the shell's on the command line.

The same finding ("Plex refused the token") needs a different fix depending
on who reads it. A user in Stash sees the plugin page, the Tasks page and
Stash's own settings: a fix names a setting by its display name on the page,
a task by its button, and says where a value comes from when a ``PLEXSYNC_*``
variable in Stash's environment overrides the page (the page would show one
value while another is in force). A user at the command line has the variable
names and the ``plexsync`` commands. :data:`STASH` and :data:`CLI` are the
two vocabularies; reports take one and never spell a fix themselves.

Inside a Stash task the process's environment *is* Stash's (Stash passes its
own to every plugin process, and a worker the plugin starts inherits it), so
"set in the environment" is read from ``os.environ`` in both cases.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from plexsync.hookenv import ConfigError, env_name

PLUGIN_NAME = "Stash Plex Sync"
#: Where Stash draws the plugin's settings (Settings > Plugins, the plugin's section).
PLUGIN_PAGE = f"Stash's plugin page (Settings > Plugins > {PLUGIN_NAME})"
#: Where Stash makes its API key (ui/v2.5 SettingsSecurityPanel.tsx: the "API Key" section, its button
#: "Generate API key"; the key exists only once a username and password are saved).
STASH_KEY_PAGE = "Stash's Settings > Security > API Key (the 'Generate API key' button)"


def _display_name(key: str) -> str:
    from plexsync.config import SETTINGS_BY_KEY

    setting = SETTINGS_BY_KEY.get(key)
    return setting.display_name if setting else key


def setting_key_of(exc: ConfigError) -> str | None:
    """The setting a :class:`ConfigError` is about: every one begins with its
    variable's name (``PLEXSYNC_PLEX_URL: ...``, :mod:`plexsync.config`)."""
    key = getattr(exc, "key", None)  # a value refused where it was typed names the setting as the page shows it
    if key:
        return key
    name, sep, _ = str(exc).partition(": ")
    if not sep or not name.startswith(env_name("")):
        return None
    return name[len(env_name("")) :].lower()


class Words:
    """One vocabulary for fixes; :data:`STASH` or :data:`CLI`."""

    def __init__(self, inside_stash: bool, environ: Mapping[str, str] | None = None) -> None:
        self.inside_stash = inside_stash
        self._environ = environ

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def from_environment(self, key: str) -> bool:
        return bool(self.environ.get(env_name(key)))

    def setting(self, key: str) -> str:
        """Where ``key`` is changed, e.g. "'Plex token' on Stash's plugin page (...)"."""
        display, variable = _display_name(key), env_name(key)
        if self.inside_stash:
            if self.from_environment(key):
                return f"{variable} in Stash's environment (it overrides '{display}' on the plugin page)"
            return f"'{display}' on {PLUGIN_PAGE}"
        if self.from_environment(key):
            return f"{variable} (set in this environment; it overrides '{display}' on Stash's plugin page)"
        return f"'{display}' on {PLUGIN_PAGE}, or {variable}"

    def source(self, key: str) -> str:
        """Where the value in force comes from, e.g. "from Stash's plugin page"."""
        if self.from_environment(key):
            return f"from {env_name(key)}" + (" in Stash's environment" if self.inside_stash else "")
        return "from Stash's plugin page"

    def config_error(self, exc: ConfigError) -> tuple[str, str]:
        """(what is wrong, the fix) for a bad or missing setting."""
        key = setting_key_of(exc)
        text = str(exc)
        if key is None:
            return text, "correct it"
        if getattr(exc, "key", None):  # refused where it was typed: the message names it as the page shows it
            return text, f"correct it: {self.setting(key)}"
        problem = text.partition(": ")[2]
        if problem.startswith("not set"):
            problem = "not set"
        display = _display_name(key)
        if self.inside_stash:
            what = f"'{display}' is {problem}" if problem == "not set" else f"'{display}': {problem}"
            if self.from_environment(key):
                what += f" (from {env_name(key)} in Stash's environment)"
        else:
            what = f"{env_name(key)} ('{display}'): {problem}" if problem != "not set" else text.split(" (")[0]
        verb = "fill it in" if problem == "not set" else "correct it"
        fix = f"{verb}: {self.setting(key)}"
        if problem == "not set" and key in ("plex_url", "plex_token"):  # both come from signing in to Plex
            fix = f"run {self.link_plex}, or {fix}"
        return what, fix

    # -- tasks and commands ----------------------------------------------------------------
    @property
    def doctor(self) -> str:
        return "the Doctor task" if self.inside_stash else "'plexsync doctor'"

    @property
    def status(self) -> str:
        return "the Status task" if self.inside_stash else "'plexsync status'"

    @property
    def link_plex(self) -> str:
        return "the task Link Plex account" if self.inside_stash else "Stash's task Link Plex account"

    @property
    def match_report(self) -> str:
        return "the Match report task" if self.inside_stash else "'plexsync match-report'"

    @property
    def dead_letters(self) -> str:
        if self.inside_stash:
            return "the task 'List dead letters' shows them, 'Retry dead letters' retries them"
        return "'plexsync dlq list' shows them, 'plexsync dlq retry --all' retries them"

    def start_worker(self, plugin_dir: str, mode: str = "external") -> str:
        """What gets a worker running, in worker mode ``mode``."""
        if self.inside_stash and mode == "auto":
            return "PlexSync starts one with the next edit or task; if none starts, the Doctor task tells why"
        if self.inside_stash:
            return (
                f"start the worker you run (docs/worker.md), or set {self.setting('worker_mode')} "
                "to auto so that PlexSync starts it"
            )
        return f"start it with 'python3 run.py worker' in {plugin_dir}"


STASH = Words(inside_stash=True)
CLI = Words(inside_stash=False)
