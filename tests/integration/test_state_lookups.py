"""The per-sync lookups of the state database (what was written into an item,
which objects a scene showed) run SQL built once per database
(:class:`plexsync.state.db.Prepared`): on SQLite and PostgreSQL, after the
process moves from one to the other, and after PostgreSQL dropped the
connection.
"""

from __future__ import annotations

from pathlib import Path

from plexsync.config import Bootstrap
from plexsync.state import db, relations, written
from plexsync.state.written import Written

from .conftest import terminate_connections

SCENE = {
    "id": "41",
    "studio": {"id": "3"},
    "tags": [{"id": "7"}, {"id": "8"}],
    "performers": [{"id": "1"}],
    "groups": [],
}


def _open(tmp_path: Path, database_url: str | None) -> None:
    env = {"PLEXSYNC_DATA_DIR": str(tmp_path)}
    if database_url:
        env["PLEXSYNC_DATABASE_URL"] = database_url
    db.open_state(Bootstrap.from_env(env))


def _lookups_work() -> None:
    written.remember(12, {"title": Written("a", "b"), "genres": Written("c", "d")})
    written.remember(13, {"title": Written("x", "y")})
    assert written.of(12) == {"title": Written("a", "b"), "genres": Written("c", "d")}
    assert written.of(99) == {}

    relations.remember("41", SCENE)
    assert relations.scenes_using("tag", ["8"]) == ["41"]
    relations.remember("41", {**SCENE, "tags": [{"id": "9"}], "studio": None})  # replaced, not added
    assert relations.scenes_using("tag", ["8"]) == [] and relations.scenes_using("studio", ["3"]) == []
    assert relations.scenes_using("tag", ["9"]) == ["41"] and relations.scenes_using("performer", ["1"]) == ["41"]
    relations.remember("41", {"id": "41"})  # a scene that lost every relation keeps none
    assert relations.known_ids("performer") == set()


def test_lookups_on_sqlite(tmp_path: Path):
    _open(tmp_path, None)
    _lookups_work()


def test_lookups_follow_the_process_from_sqlite_to_postgresql_and_survive_a_dropped_connection(
    tmp_path: Path, postgres_url: str
):
    """SQLite's placeholder is ``?`` and PostgreSQL's ``%s``: SQL kept from the
    first database would fail on the second."""
    _open(tmp_path / "local", None)
    assert written.of(12) == {}  # the SQL is built for SQLite here
    _open(tmp_path / "shared", postgres_url)
    _lookups_work()
    assert terminate_connections(postgres_url) >= 1
    assert written.of(13) == {"title": Written("x", "y")}  # a fresh connection, same SQL
    relations.remember("41", SCENE)
    assert relations.scenes_using("tag", ["7"]) == ["41"]
