"""The local state database (dead letters, attempt counts, outages, posters).

One SQLite file in the data directory, shared by every worker thread and
consumer process on this machine, so it runs in WAL mode with a busy timeout
and takes its write lock at the start of a transaction (IMMEDIATE): several
writers queue up instead of failing with "database is locked".
"""

from __future__ import annotations

import threading
from pathlib import Path

import peewee

database = peewee.DatabaseProxy()
_init_lock = threading.Lock()
_path: Path | None = None


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_state(data_dir: Path) -> None:
    """Bind the models to ``data_dir/plexsync.db`` and create the tables once."""
    global _path
    path = Path(data_dir) / "plexsync.db"
    with _init_lock:
        if _path == path:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        db = peewee.SqliteDatabase(
            str(path),
            pragmas={"journal_mode": "wal", "busy_timeout": 10_000, "synchronous": "normal"},
            timeout=10,
            lock_type="IMMEDIATE",
            check_same_thread=False,
        )
        database.initialize(db)
        # Imported here so that every model is registered before create_tables.
        from plexsync import dlq
        from plexsync.state import attempts, outage, placement, posters, scans

        db.create_tables([dlq.DeadLetter, attempts.JobAttempts, outage.Outage, posters.PosterState], safe=True)
        db.create_tables([scans.ScanRequest, placement.OutsideScene], safe=True)
        _path = path


def state_path() -> Path | None:
    return _path
