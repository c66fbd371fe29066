"""The buttons PlexSync adds to Stash's Tasks page (see the manifest).

"Status" and "Doctor" print what ``plexsync status`` and ``plexsync doctor``
print; each problem they find is also one warning line in Stash's log.
Doctor reaches Stash as the task itself does (Stash's address and the task's
session cookie, from ``server_connection``), Plex with the plugin settings.
"""

from __future__ import annotations

from typing import Any

from plexsync import dlq
from plexsync.queue.instance import bootstrap
from plexsync.state import db


def _warn(message: str) -> None:
    from plexsync.ops.plugin import log

    log("warning", f"PlexSync: {message}")


def _sync_all(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.tasks import sync_all

    sync_all()
    return "queued a Plex sync of every scene; the worker pages through Stash and queues each one"


def _playback(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.tasks import sync_playback

    sync_playback()
    return "queued a copy of the plays, resume points and ratings made in Plex since the last copy"


def _force_sync_all(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.tasks import sync_all

    sync_all(force=True)
    return (
        "queued a forced Plex sync of every scene: every field, rating and image is written again, "
        "also those edited in Plex by hand"
    )


def _dlq_list(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    letters = dlq.all_letters()
    if not letters:
        return "no dead letters"
    return f"{len(letters)} dead letter(s):\n" + "\n".join(dlq.describe(letter) for letter in letters)


def _dlq_retry(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    outcome = dlq.retry(dlq.all_letters())
    return f"re-queued {len(outcome.queued)} dead letter(s); each stays listed until its retry succeeds"


def _status(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.ops import status

    report = status.collect()
    for problem in report.problems():
        _warn(problem.message)
    return report.text()


def _doctor(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.ops import doctor

    access = (
        doctor.StashAccess.from_server_connection(server)
        if isinstance(server, dict)
        else doctor.StashAccess.from_bootstrap(bootstrap)
    )
    report = doctor.run(access)
    for finding in report.findings:
        if finding.verdict == "FAIL":
            _warn(f"{finding.area}: {finding.text}" + (f"; fix: {finding.fix}" if finding.fix else ""))
    return report.text()


def _match_report(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.ops import doctor, match_report

    access = doctor.StashAccess.from_server_connection(server) if isinstance(server, dict) else None
    return match_report.run(access.connection if access else None)


MODES = {
    "sync_all": _sync_all,
    "force_sync_all": _force_sync_all,
    "status": _status,
    "doctor": _doctor,
    "dlq_list": _dlq_list,
    "dlq_retry": _dlq_retry,
    "match_report": _match_report,
    "playback": _playback,
}


#: Tasks whose output is a health report with one warning per problem: the
#: generic one-line health warning after a task would say the same twice.
REPORTS_ITS_OWN_PROBLEMS = frozenset({"status", "doctor"})


def run(mode: str, args: dict[str, Any], server_connection: dict[str, Any] | None = None) -> str:
    action = MODES.get(mode)
    if action is None:
        from plexsync.ops.plugin import PluginInputError

        raise PluginInputError(f"unknown task mode {mode[:40]!r} (known: {', '.join(MODES)})")
    db.open_state(bootstrap)
    return action(args, server_connection)
