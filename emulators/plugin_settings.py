"""Show or change PlexSync's settings on Stash's plugin page, as the page itself saves them.

    python -m emulators.plugin_settings                       # show what is stored
    python -m emulators.plugin_settings plex_url=http://... retries=3
    python -m emulators.plugin_settings path_map=             # unset: the default applies

Stash's page sends the whole settings map of the plugin with ``configurePlugin``
(which replaces what was stored), so this reads the stored map, changes the
given keys and sends the result, like the page. Keys are the setting keys of
StashPlexSync.yml; values are typed as the manifest declares them (a NUMBER
is sent as a number). The Plex token is never printed. Reaches Stash like
``python -m emulators.edit`` (``$PLEXSYNC_STASH_URL``, ``$PLEXSYNC_STASH_API_KEY``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from plexsync.config import PLUGIN_ID, SETTINGS_BY_KEY

from .edit import StashClient, StashUnreachable

READ = "query($ids: [ID!]) { configuration { plugins(include: $ids) } }"
CONFIGURE = "mutation($id: ID!, $input: Map!) { configurePlugin(plugin_id: $id, input: $input) }"


class BadSetting(ValueError):
    pass


def typed(key: str, raw: str) -> Any:
    """``raw`` as Stash's page stores a value of the setting's manifest type."""
    setting = SETTINGS_BY_KEY.get(key)
    if setting is None:
        raise BadSetting(f"{key!r} is not a setting of {PLUGIN_ID} (its settings: {', '.join(SETTINGS_BY_KEY)})")
    if setting.stash_type == "NUMBER":
        try:
            number = float(raw)
        except ValueError:
            raise BadSetting(f"{key}: {raw!r} is not a number") from None
        return int(number) if number.is_integer() else number
    if setting.stash_type == "BOOLEAN":
        return raw.lower() in ("1", "true", "yes", "on")
    return raw


def changes(assignments: Sequence[str]) -> dict[str, Any]:
    """KEY=VALUE arguments -> {key: typed value, or None to unset}."""
    result: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep:
            raise BadSetting(f"{assignment!r} is not KEY=VALUE")
        result[key.strip()] = None if raw == "" else typed(key.strip(), raw)
    return result


def shown(settings: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in settings.items():
        secret = SETTINGS_BY_KEY[key].secret if key in SETTINGS_BY_KEY else False
        lines.append(f"{key}={'(set, not shown)' if secret else value}")
    return lines or ["(nothing stored: every setting has its default or comes from the environment)"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.plugin_settings",
        description=f"Show or change {PLUGIN_ID}'s settings on Stash's plugin page (configurePlugin).",
    )
    parser.add_argument("assignments", nargs="*", metavar="KEY=VALUE", help="settings to change; KEY= unsets")
    StashClient.add_arguments(parser)
    args = parser.parse_args(argv)
    client = StashClient.from_args(args)
    try:
        wanted = changes(args.assignments)
        stored = client.graphql(READ, {"ids": [PLUGIN_ID]})["configuration"]["plugins"].get(PLUGIN_ID) or {}
        if wanted:
            merged = {key: value for key, value in {**stored, **wanted}.items() if value is not None}
            stored = client.graphql(CONFIGURE, {"id": PLUGIN_ID, "input": merged})["configurePlugin"]
    except (BadSetting, StashUnreachable) as exc:
        print(f"emulators.plugin_settings: {exc}", file=sys.stderr)
        return 1
    print(f"{PLUGIN_ID} settings on Stash's plugin page:", *shown(stored), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
