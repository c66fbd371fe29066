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


MODES = {"sync_all": _sync_all, "dlq_list": _dlq_list, "dlq_retry": _dlq_retry, "dlq_purge": _dlq_purge}


def run(mode: str, args: dict[str, Any]) -> str:
    action = MODES.get(mode)
    if action is None:
        from plexsync.ops.plugin import PluginInputError

        raise PluginInputError(f"unknown task mode {mode[:40]!r} (known: {', '.join(MODES)})")
    db.open_state(bootstrap)
    return action(args)
