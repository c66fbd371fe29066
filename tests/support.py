"""Helpers the tests share: paths, polling, the real Stash schema, dead-letter rows.

The worker process helpers live in :mod:`emulators.consumer` (the demo uses them too)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from graphql import GraphQLSchema, build_schema

from emulators.consumer import REPO, ConsumerProcess, poll_until, queued_jobs

__all__ = [
    "REPO",
    "SHARED",
    "ConsumerProcess",
    "dead_letters",
    "queued_jobs",
    "real_stash_schema",
    "sqlite_rows",
    "wait_until",
]

SHARED = REPO.parent / "shared"
T = TypeVar("T")


def real_stash_schema() -> GraphQLSchema:
    """The real Stash schema from ../shared (split over schema.graphql and types/)."""
    schema_dir = SHARED / "stash-schema"
    if not (schema_dir / "schema.graphql").is_file():
        pytest.skip(f"the real Stash schema is not at {schema_dir}")
    parts = [schema_dir / "schema.graphql", *sorted((schema_dir / "types").glob("*.graphql"))]
    return build_schema("\n".join(path.read_text() for path in parts))


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, message: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy, or fail the test at the deadline."""
    try:
        return poll_until(predicate, timeout, interval, message)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


def sqlite_rows(data_dir: Path, table: str, order: str = "1") -> list[dict]:
    """Rows of a state table in ``data_dir``'s SQLite file; [] before it exists."""
    path = data_dir / "plexsync.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(str(path), timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(f"select * from {table} order by {order}")]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def dead_letters(data_dir: Path) -> list[dict]:
    return sqlite_rows(data_dir, "dead_letter", "id")
