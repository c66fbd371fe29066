"""Helpers the integration tests share: polling, and a real huey consumer."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from graphql import GraphQLSchema, build_schema

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
HUEY_CONSUMER = Path(sys.executable).parent / "huey_consumer"
T = TypeVar("T")


def real_stash_schema() -> GraphQLSchema:
    """The real Stash schema from ../shared (split over schema.graphql and types/)."""
    schema_dir = SHARED / "stash-schema"
    if not (schema_dir / "schema.graphql").is_file():
        pytest.skip(f"the real Stash schema is not at {schema_dir}")
    parts = [schema_dir / "schema.graphql", *sorted((schema_dir / "types").glob("*.graphql"))]
    return build_schema("\n".join(path.read_text() for path in parts))


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, message: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


class Consumer:
    """A real ``huey_consumer huey_config.huey`` process in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2, extra: tuple[str, ...] = ()) -> None:
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.extra = extra
        self.process: subprocess.Popen | None = None

    def start(self) -> Consumer:
        command = [
            str(HUEY_CONSUMER),
            "huey_config.huey",
            "-k",
            "thread",
            "-w",
            str(self.workers),
            "-d",
            "0.05",
            "-m",
            "0.25",
            "-s",
            "1",
            "-l",
            str(self.log_path),
            *self.extra,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(
            lambda: "consumer started" in self.log().lower() or self.process.poll() is not None,
            timeout=20,
            message="consumer start",
        )
        assert self.process.poll() is None, f"consumer exited at start:\n{self.log()}"
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash or a power cut."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if not self.process or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9


def queued_jobs(data_dir: Path) -> int:
    """Jobs waiting in the SQLite queue, in the schedule, or claimed."""
    path = data_dir / "queue.db"
    if not path.exists():
        return 0
    conn = sqlite3.connect(str(path), timeout=10)
    try:
        return sum(
            conn.execute(f"select count(*) from {table}").fetchone()[0] for table in ("task", "schedule", "claim")
        )
    finally:
        conn.close()


def dead_letters(data_dir: Path) -> list[dict]:
    path = data_dir / "plexsync.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(str(path), timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute("select * from dead_letter order by id")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
