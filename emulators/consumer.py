"""Running the real worker the way a user does, for the tests and the demo:
``huey_consumer huey_config.huey`` from the repository, in its own process
group (so a kill takes its threads and any children with it), plus the
polling and the queue/dead-letter counts both need."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
HUEY_CONSUMER = Path(sys.executable).parent / "huey_consumer"
T = TypeVar("T")


def poll_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, message: str = "") -> T:
    """``predicate()`` once it is truthy; ``TimeoutError`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {message or predicate}")
        time.sleep(interval)


class ConsumerProcess:
    """A real ``huey_consumer huey_config.huey``; its log goes to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2, extra: Sequence[str] = ()) -> None:
        self.env = env
        self.log_path = log_path
        # -d/-m: an idle worker looks at the queue at least every 0.25 s
        self.command = [
            str(HUEY_CONSUMER),
            "huey_config.huey",
            *("-k", "thread", "-w", str(workers), "-d", "0.05", "-m", "0.25", "-s", "1"),
            *("-l", str(log_path)),
            *extra,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> ConsumerProcess:
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        # "worker started": the startup hook ran (orphans re-queued, worker lock held)
        poll_until(lambda: "worker started (" in self.log() or not self.alive(), timeout, 0.05, "the worker")
        if not self.alive():
            raise RuntimeError(f"the worker exited at start:\n{self.tail()}")
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 12) -> str:
        """The last warnings and errors of the log, then its last lines."""
        log = self.log().splitlines()
        problems = [line for line in log if any(f"] {level}:" in line for level in ("WARNING", "ERROR", "CRITICAL"))]
        return "\n".join([*problems[-lines:], "...", *log[-lines:]] if problems else log[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash or a power cut."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int | None:
        """Send ``sig`` (SIGINT: huey's graceful stop), SIGKILL if it does not go."""
        if not self.alive():
            return self.process.returncode if self.process else None
        assert self.process is not None
        for next_sig in (sig, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, next_sig)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
        return None


def count_rows(db_path: Path, tables: Sequence[str]) -> int:
    """Rows in ``tables`` of an SQLite file the worker writes (0 before it exists)."""
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(str(db_path), timeout=10)
    try:
        return sum(conn.execute(f"select count(*) from {table}").fetchone()[0] for table in tables)
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        conn.close()


def queued_jobs(data_dir: Path) -> int:
    """Jobs waiting in the SQLite queue, in its schedule, or claimed by a worker."""
    return count_rows(data_dir / "queue.db", ("task", "schedule", "claim"))
