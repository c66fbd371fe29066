"""PlexSync's settings map on Stash's plugin page: read it, change keys, store the defaults.

Stash's ``configurePlugin(plugin_id, input)`` *replaces* the plugin's whole
map (../shared/stash-plugins.md; the Stash emulator does the same), so every
change here reads the stored map, merges, and sends the result once, as
Stash's own settings page does. Between the read and the write (one round
trip) a save from the page would be lost; the page itself has the same window.
The mutation goes out once (the reader's session never repeats a mutation),
and it is the only write: a process killed before it changed nothing.

**Defaults.** Stash's manifest has no defaults, and its page draws an unset
BOOLEAN as off and an unset NUMBER or STRING as empty, which is not what
PlexSync does with them (*Lock written fields* is on unless turned off). So
every change, and every task run (:mod:`plexsync.plugin.settings_page`),
also stores the default of each setting the map does not hold, typed as the
manifest declares it, so that the page shows what is in force. A value the
user set is never replaced; an empty value (what the page stores when a text
is cleared) means "the default" to :func:`plexsync.config.setting_value`, so it
is filled too. A setting without a default (Plex URL) or a secret (Plex token)
is never filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plexsync.config import PLUGIN_ID, SYNC_SETTINGS, Setting
from plexsync.stash.reader import PLUGIN_SETTINGS_QUERY, StashReader

CONFIGURE_PLUGIN = """
mutation PlexSyncConfigurePlugin($id: ID!, $input: Map!) {
  configurePlugin(plugin_id: $id, input: $input)
}
"""

ALL_QUERIES = (PLUGIN_SETTINGS_QUERY, CONFIGURE_PLUGIN)


def page_value(setting: Setting, raw: str) -> Any:
    """``raw`` as Stash's page stores a value of the setting's manifest type (a NUMBER
    is a JSON number, a BOOLEAN true/false)."""
    if setting.stash_type == "NUMBER":
        number = float(raw)
        return int(number) if number.is_integer() else number
    if setting.stash_type == "BOOLEAN":
        return raw.strip().lower() in ("true", "1", "yes", "on")
    return raw


def missing_defaults(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults to store: each setting with a default, not secret, that ``stored`` leaves unset."""
    return {
        setting.key: page_value(setting, setting.default)
        for setting in SYNC_SETTINGS
        if setting.default is not None and not setting.secret and stored.get(setting.key) in (None, "")
    }


def merged(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """What to store: ``stored`` with ``changes`` applied and the missing defaults added."""
    result = {**stored, **changes}
    result.update(missing_defaults(result))
    return result


class SettingsStore:
    """The plugin's settings map in Stash, through a :class:`StashReader`'s session."""

    def __init__(self, reader: StashReader) -> None:
        self._reader = reader

    def read(self) -> dict[str, Any]:
        return self._reader.plugin_settings()

    def update(self, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Store ``changes`` and the missing defaults (nothing is sent when nothing changes);
        the map as stored afterwards."""
        stored = self.read()
        wanted = merged(stored, changes or {})
        if wanted == stored:
            return stored
        answer = self._reader._query(CONFIGURE_PLUGIN, {"id": PLUGIN_ID, "input": wanted})
        return answer.get("configurePlugin") or wanted
