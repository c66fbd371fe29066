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
