"""Pure parts of doctor and status: exit statuses, problems. (Doctor's path-rule
suggestion is the match report's: tests/unit/test_paths.py, tests/integration.)"""

from __future__ import annotations

import time

from plexsync.redact import redact
from plexsync.tools.exitcodes import ExitCode, worst
from plexsync.tools.status import Status


def test_several_problems_exit_with_the_most_basic():
    assert worst([]) == ExitCode.OK
    assert worst([ExitCode.OK, ExitCode.DEAD_LETTERS, ExitCode.PLEX_AUTH]) == ExitCode.PLEX_AUTH
    assert len({code.value for code in ExitCode}) == len(ExitCode)  # one status per kind
    assert all(code.meaning for code in ExitCode)


def _status(**overrides) -> Status:
    values = dict(
        queued=0,
        scheduled=0,
        in_flight=0,
        dead_letters=0,
        newest_letter=None,
        outages=[],
        last_success=None,
        worker=None,
        worker_alive=False,
    )
    return Status(**{**values, **overrides})


def test_status_problems_and_exit_codes():
    assert _status().exit_code == ExitCode.OK  # idle, no worker: nothing waits for one
    waiting = _status(queued=3, scheduled=2)
    assert waiting.exit_code == ExitCode.WORKER_DOWN
    assert "no worker is running and 5 job(s) wait" in waiting.text()
    assert (
        _status(
            queued=3,
            worker_alive=True,
            worker={"host": "h", "pid": 1, "mode": "external", "started_at": time.time(), "beat_at": time.time()},
        ).exit_code
        == ExitCode.OK
    )
    down = _status(
        outages=[{"service": "plex", "reason": "Plex is unreachable", "opened_at": time.time(), "retry_at": 0}]
    )
    assert down.exit_code == ExitCode.OUTAGE and "! Plex: Plex is unreachable (since" in down.text()
    assert _status(dead_letters=2, newest_letter="#2 scene 5: X").exit_code == ExitCode.DEAD_LETTERS


def test_a_stash_task_reaches_stash_where_a_hook_started_worker_would():
    """doctor inside a Stash task and the worker a hook starts derive the same
    address from ``server_connection`` (Stash listening on every interface is
    reached on localhost; the session cookie is sent and kept secret)."""
    from plexsync.tools.doctor import StashAccess
    from plexsync.worker import autostart

    cookie = {"Name": "session", "Value": "c00kie-x"}
    server = {"Scheme": "http", "Host": "0.0.0.0", "Port": 9999, "SessionCookie": cookie}
    access = StashAccess.from_server_connection(server, ask_key=False)
    assert access.url == autostart.stash_url(server) == "http://localhost:9999"
    assert access.connection == {"Scheme": "http", "Host": "localhost", "Port": 9999, "SessionCookie": cookie}
    assert access.credential == "this task's session" and "c00kie-x" not in redact("c00kie-x")
    assert StashAccess.from_server_connection({"Scheme": "gopher", "Host": "x"}).url == "http://localhost:9999"


def test_status_says_which_queued_jobs_wait_for_a_burst_to_end():
    assert "held" not in _status(queued=3).text()
    line = next(line for line in _status(queued=3, held=2).text().splitlines() if "queued:" in line)
    assert "3 job(s), 2 of them held: scenes synced in the last 5 minutes and edited again" in line


def test_status_says_the_data_folder_cannot_be_written_and_since_when_it_is_known():
    from plexsync.unwritable import FULL, Unwritable

    full = Unwritable("/srv/data", FULL, 0)
    since = time.mktime((2026, 12, 7, 14, 2, 11, 0, 0, -1))
    report = _status(queued=2, worker_alive=True, data_folder=full, data_folder_since=since, now=since + 60)
    assert report.exit_code == ExitCode.DATA_FOLDER
    assert report.problems()[0].message == (
        "the data folder cannot be written since 2026-12-07 14:02:11 (60 s ago): the disk holding /srv/data is "
        "full (0 bytes free); free some space there; edits made meanwhile are synced once it can be written again"
    )
    unknown = _status(data_folder=full).problems()[0].message
    assert unknown.startswith("the data folder cannot be written: the disk holding /srv/data is full")
