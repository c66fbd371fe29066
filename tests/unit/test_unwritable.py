"""Telling a write the data folder refused from other failures, and saying it in one line.

The errors here are real SQLite ones, made without a full disk: ``max_page_count`` makes SQLite
answer SQLITE_FULL exactly as a full disk does, a ``mode=ro`` connection SQLITE_READONLY, a
missing folder SQLITE_CANTOPEN. The full and read-only file systems themselves are in
tests/integration/test_full_disk.py.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

import peewee
import pytest

from plexsync import unwritable
from plexsync.stash.times import text as stash_time
from plexsync.worker import writes
from plexsync.worker.autostart import ENV_FAILED_AT


def sqlite_full(path: Path) -> sqlite3.OperationalError:
    conn = sqlite3.connect(path)
    conn.execute("create table t (x blob)")
    conn.execute("pragma max_page_count = 2")
    try:
        conn.execute("insert into t values (randomblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("SQLite took a row larger than its page limit")


def test_sqlite_and_os_errors_of_a_refused_write_are_told_from_the_rest(tmp_path: Path):
    full = sqlite_full(tmp_path / "full.db")
    assert full.sqlite_errorname == "SQLITE_FULL" and str(full) == "database or disk is full"
    assert unwritable.is_write_failure(full)
    sqlite3.connect(tmp_path / "ro.db").execute("create table t (x)").connection.commit()
    read_only = sqlite3.connect(f"file:{tmp_path / 'ro.db'}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        read_only.execute("insert into t values (1)")
    assert unwritable.is_write_failure(caught.value)
    with pytest.raises(sqlite3.OperationalError) as caught:
        sqlite3.connect(tmp_path / "missing" / "q.db")
    assert unwritable.is_write_failure(caught.value)  # "unable to open database file"
    assert unwritable.is_write_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert unwritable.is_write_failure(OSError(errno.EROFS, "Read-only file system"))

    assert not unwritable.is_write_failure(sqlite3.OperationalError("database is locked"))
    assert not unwritable.is_write_failure(OSError(errno.ENOENT, "No such file or directory"))
    assert not unwritable.is_write_failure(ValueError("database or disk is full"))  # not an error of SQLite's


def test_peewees_wrapped_error_is_known_by_sqlites_inside_it(tmp_path: Path):
    db = peewee.SqliteDatabase(str(tmp_path / "state.db"), pragmas={"max_page_count": 2})
    db.execute_sql("create table t (x blob)")
    with pytest.raises(peewee.OperationalError) as caught:
        db.execute_sql("insert into t values (randomblob(100000))")
    assert unwritable.is_write_failure(caught.value)
    assert unwritable.diagnose(caught.value, tmp_path).state == unwritable.FULL


def test_a_disk_with_room_takes_the_errors_word_and_a_healthy_one_is_no_problem(tmp_path: Path):
    """A quota is "full" while the disk has room; nothing wrong on a disk with room and no error."""
    assert unwritable.check(tmp_path) is None
    problem = unwritable.diagnose(sqlite_full(tmp_path / "q.db"), tmp_path)
    assert (problem.state, problem.free) == (unwritable.FULL, None)
    assert problem.what() == f"the disk holding {tmp_path} is full"
    assert unwritable.diagnose(ValueError("x"), tmp_path) is None


def test_a_missing_folder_is_checked_by_its_nearest_parent(tmp_path: Path):
    assert unwritable.check(tmp_path / "not" / "made" / "yet") is None


def test_the_line_names_the_folder_what_is_wrong_and_what_to_do():
    after = "edits made meanwhile are synced once it can be written again"
    full = unwritable.Unwritable("/srv/plexsync/data", unwritable.FULL, 0)
    assert full.line("cannot queue the edit") == (
        f"cannot queue the edit: the disk holding /srv/plexsync/data is full (0 bytes free); free some space there; "
        f"{after}"
    )
    nearly = unwritable.Unwritable("/d", unwritable.FULL, 700 * 1024)
    assert nearly.what() == "the disk holding /d is full (700 KB free)"
    read_only = unwritable.Unwritable("/d", unwritable.READ_ONLY, 5 << 30)
    assert read_only.line("cannot run the task") == (
        f"cannot run the task: /d is read-only; make it writable again (or point PLEXSYNC_DATA_DIR at a writable "
        f"folder); {after}"
    )
    broken = unwritable.Unwritable("/d", unwritable.UNWRITABLE, error="disk I/O error")
    assert broken.what() == "/d cannot be written (disk I/O error)"


def test_the_worker_notes_when_its_writes_began_to_fail_once_and_catches_up_when_one_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """The catch-up writes too (it queues a job): while the disk is full it fails like the beat."""
    full = sqlite_full(tmp_path / "q.db")
    disk_full = False
    caught_up = []

    def write() -> None:
        if disk_full:
            raise full

    def catch_up(since: float) -> str:
        write()
        caught_up.append(since)
        return "caught up"

    watch = writes.FailingWrites(tmp_path, catch_up)
    with caplog.at_level(logging.INFO, "plexsync.worker.writes"):
        assert watch.attempt(write) and not watch.failing
        disk_full = True
        assert not watch.attempt(write) and not watch.attempt(write)
        since = watch.since
        assert since is not None and caught_up == []
        disk_full = False
        assert watch.attempt(write)
    assert caught_up == [since] and not watch.failing
    [failed, recovered] = caplog.records  # said once, however many writes failed
    assert failed.levelno == logging.ERROR and f"the disk holding {tmp_path} is full" in failed.getMessage()
    assert "can be written again" in recovered.getMessage() and recovered.getMessage().endswith(": caught up")
    with pytest.raises(ValueError):
        watch.attempt(lambda: int("not a write failure"))


def test_a_worker_started_by_a_failing_hook_starts_out_knowing_since_when(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ENV_FAILED_AT, "1700000000.5")
    watch = writes.FailingWrites(tmp_path, lambda since: "")
    assert watch.since == 1700000000.5 and watch.failing
    assert ENV_FAILED_AT not in __import__("os").environ  # not passed on to what it starts


def test_a_time_is_written_the_way_stash_writes_its_timestamps():
    """Stash compares updated_at as text in its server's zone (../shared/stash-plugins.md)."""
    assert stash_time(1700000000.9, like="2024-01-01T00:00:00Z") == "2023-11-14T22:13:20Z"
    assert stash_time(1700000000, like="2024-07-01T10:00:00+02:00") == "2023-11-15T00:13:20+02:00"
    assert stash_time(1700000000, like="2024-07-01T10:00:00-05:00") == "2023-11-14T17:13:20-05:00"
