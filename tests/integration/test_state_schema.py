"""A state database made by an older PlexSync is brought up to date when
workers start, on SQLite and on PostgreSQL, also when several start at the
same instant (after an upgrade and a reboot)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import peewee
import pytest

from tests.support import REPO

#: The dead-letter table as PlexSync created it before it kept keyword arguments.
OLD_DEAD_LETTER = (
    "create table dead_letter (id {serial} not null primary key, job_key varchar(255) not null unique, "
    "task_name varchar(255) not null, args text not null, scene_id varchar(255), error_class varchar(255) "
    "not null, message text not null, attempts integer not null, failures integer not null, "
    "first_failed_at real not null, last_failed_at real not null)"
)
OLD_ROW = (
    "insert into dead_letter (job_key, task_name, args, scene_id, error_class, message, attempts, failures, "
    "first_failed_at, last_failed_at) values ('sync_scene:[\"5\"]', 'sync_scene', '[\"5\"]', '5', 'SceneNotFound', "
    "'gone', 3, 1, 1700000000.0, 1700000000.0)"
)
OPEN = (
    "from plexsync.config import Bootstrap\n"
    "from plexsync import dlq\n"
    "from plexsync.state import db\n"
    "db.open_state(Bootstrap.from_env())\n"
    "print([(letter.scene_id, letter.kwargs) for letter in dlq.all_letters()])\n"
)


def _old_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    env = {"PLEXSYNC_DATA_DIR": str(tmp_path)}
    if backend == "sqlite":
        database: peewee.Database = peewee.SqliteDatabase(str(tmp_path / "plexsync.db"))
        serial = "integer"
    else:
        url = request.getfixturevalue("postgres_url")
        env["PLEXSYNC_DATABASE_URL"] = url
        from playhouse.db_url import connect

        database, serial = connect(url), "serial"
    database.execute_sql(OLD_DEAD_LETTER.format(serial=serial))
    database.execute_sql(OLD_ROW)
    database.close()
    return env


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_workers_starting_together_on_an_old_state_database_add_the_new_column_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
):
    env = _old_database(backend, tmp_path, request)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")}

    def start() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", OPEN], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60
        )

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: start(), range(4)))
    for result in results:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[('5', None)]"  # the old row, read through the new column


#: The written-fields and playback tables as PlexSync created them before they named their item (issue #18).
OLD_TABLES = (
    "create table written_group (key varchar(255) not null primary key, rating_key integer not null, "
    "group_name varchar(255) not null, sent varchar(255) not null, seen varchar(255) not null, "
    "written_at real not null)",
    "insert into written_group values ('7:title', 7, 'title', 'abc', 'abc', 1700000000.0)",
    "create table playback_view (key varchar(255) not null primary key, server varchar(255) not null, "
    "rating_key integer not null, scene_id varchar(255), viewed_at integer not null, state varchar(255) not null, "
    "owner varchar(255), claimed_at real not null)",
    "insert into playback_view values ('srv:3', 'srv', 7, '5', 1700000000, 'done', null, 1700000000.0)",
)
OPEN_WAY_BACK = (
    "from plexsync.config import Bootstrap\n"
    "from plexsync.state import db, playback, written\n"
    "db.open_state(Bootstrap.from_env())\n"
    "print(written.of(7), playback.plays_done_at('srv', '5', 1700000000, kind=playback.VIEW))\n"
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_written_and_playback_tables_learn_which_item_they_are_about(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
):
    """Rows of an older PlexSync stay valid: they name no item (None) and count as views."""
    env = {"PLEXSYNC_DATA_DIR": str(tmp_path)}
    if backend == "sqlite":
        database: peewee.Database = peewee.SqliteDatabase(str(tmp_path / "plexsync.db"))
    else:
        env["PLEXSYNC_DATABASE_URL"] = request.getfixturevalue("postgres_url")
        from playhouse.db_url import connect

        database = connect(env["PLEXSYNC_DATABASE_URL"])
    for statement in OLD_TABLES:
        database.execute_sql(statement)
    database.close()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")}
    result = subprocess.run(
        [sys.executable, "-c", OPEN_WAY_BACK], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'title': Written(sent='abc', seen='abc', item=None)} 1"
