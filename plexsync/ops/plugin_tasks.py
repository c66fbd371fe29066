"""The buttons PlexSync adds to Stash's Tasks page (see the manifest)."""

from __future__ import annotations

from typing import Any

from plexsync import dlq
from plexsync.queue.instance import bootstrap
from plexsync.state import db


def _sync_all(args: dict[str, Any]) -> str:
    from plexsync.tasks import sync_all

    sync_all()
    return "queued a Plex sync of every scene; the worker pages through Stash and queues each one"


def _dlq_list(args: dict[str, Any]) -> str:
    letters = dlq.all_letters()
    if not letters:
        return "no dead letters"
    return f"{len(letters)} dead letter(s):\n" + "\n".join(dlq.describe(letter) for letter in letters)


def _dlq_retry(args: dict[str, Any]) -> str:
    outcome = dlq.retry(dlq.all_letters())
    return f"re-queued {len(outcome.queued)} dead letter(s); each stays listed until its retry succeeds"


def _dlq_purge(args: dict[str, Any]) -> str:
    return f"removed {dlq.purge(0)} dead letter(s)"


def _match_report(args: dict[str, Any]) -> str:
    from plexsync.ops import match_report

    return match_report.run(args.get(_CONNECTION))


#: Where :func:`run` passes the Stash connection of this invocation to a task that reads Stash.
_CONNECTION = "_stash_connection"


def _stash_connection(server_connection: Any) -> dict[str, Any] | None:
    """Stash's ``server_connection`` as stashapi takes it (the session cookie of this run)."""
    if not isinstance(server_connection, dict) or not server_connection.get("Port"):
        return None
    host = server_connection.get("Host") or "localhost"
    connection = {
        "Scheme": server_connection.get("Scheme") or "http",
        "Host": "localhost" if host in ("0.0.0.0", "::") else host,
        "Port": server_connection["Port"],
    }
    if isinstance(server_connection.get("SessionCookie"), dict):
        connection["SessionCookie"] = server_connection["SessionCookie"]
    if bootstrap.stash_api_key:
        connection["ApiKey"] = bootstrap.stash_api_key
    return connection


MODES = {
    "sync_all": _sync_all,
    "dlq_list": _dlq_list,
    "dlq_retry": _dlq_retry,
    "dlq_purge": _dlq_purge,
    "match_report": _match_report,
}


def run(mode: str, args: dict[str, Any], server_connection: Any = None) -> str:
    action = MODES.get(mode)
    if action is None:
        from plexsync.ops.plugin import PluginInputError

        raise PluginInputError(f"unknown task mode {mode[:40]!r} (known: {', '.join(MODES)})")
    db.open_state(bootstrap)
    return action({**args, _CONNECTION: _stash_connection(server_connection)})
