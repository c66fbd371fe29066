"""Pure parts of doctor and status: the path-rule suggestion, exit statuses, problems."""

from __future__ import annotations

import time

from plexsync.matching.paths import PathMap
from plexsync.ops.doctor import _rule_of, suggest_rule
from plexsync.ops.exitcodes import ExitCode, worst
from plexsync.ops.status import Status

PLEX_FILES = {"/media/plex/movies/a.mp4", "/media/plex/movies/sub/b.mp4", "M:\\Films\\c.mp4"}


def test_suggested_rule_is_the_general_prefix_pair_under_which_plex_has_the_file():
    assert suggest_rule("/data/stash/movies/a.mp4", ["/media/plex/movies"], PLEX_FILES.__contains__) == (
        "/data/stash",
        "/media/plex",
    )
    assert suggest_rule("/data/stash/movies/sub/b.mp4", ["/tv", "/media/plex/movies/"], PLEX_FILES.__contains__) == (
        "/data/stash",
        "/media/plex",
    )
    # Stash on Linux, Plex on Windows: separators follow each side
    assert suggest_rule("/videos/c.mp4", ["M:\\Films"], PLEX_FILES.__contains__) == ("/videos", "M:\\Films")
    assert suggest_rule("/data/elsewhere/z.mp4", ["/media/plex/movies"], PLEX_FILES.__contains__) is None


def test_rule_of_a_path_is_the_one_the_sync_applies():
    rules = PathMap.parse("/data=/media;/data/stash=/plex")
    assert _rule_of(rules, "/data/stash/a.mp4") == "/data/stash=/plex"
    assert _rule_of(rules, "/data/other/a.mp4") == "/data=/media"
    assert _rule_of(rules, "/datastore/a.mp4") is None  # prefixes match at folder boundaries only


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
