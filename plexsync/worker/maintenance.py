"""The periodic cleanup: bounded state, bounded files.

Dead letters expire after the retention setting; attempt counts of jobs
long gone are dropped, and so are scenes' waits for a Plex scan a day old;
jobs claimed by a machine that vanished are queued again; huey's result
store (unused, but a user may have
switched results on) is emptied; and the SQLite files are checkpointed and
vacuumed once enough of them is free space, so they do not only ever grow
(a state database on a server, ``PLEXSYNC_DATABASE_URL``, is the server's
to vacuum: PostgreSQL's autovacuum does it).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from plexsync import dlq
from plexsync.queue.instance import bootstrap, huey
from plexsync.state import attempts, db, scans

log = logging.getLogger("plexsync.worker.maintenance")

#: A job's attempts count is stale when untouched far longer than any retry wait.
STALE_ATTEMPTS_SECONDS = 14 * 86400
#: Vacuum a file once this share of its pages is free.
VACUUM_FREE_RATIO = 0.25


def compact(path: Path) -> bool:
    """Checkpoint the WAL and vacuum when worth it; True when vacuumed."""
    if not path.exists():
        return False
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        pages = conn.execute("pragma page_count").fetchone()[0]
        free = conn.execute("pragma freelist_count").fetchone()[0]
        vacuum = pages > 0 and free / pages >= VACUUM_FREE_RATIO
        if vacuum:
            conn.execute("vacuum")
        conn.execute("pragma wal_checkpoint(truncate)")
        return vacuum
    finally:
        conn.close()


def cleanup(retention_days: float | None = None) -> dict[str, int]:
    """Run every cleanup step; returns what each removed (for logs and tests)."""
    from plexsync.sync.worker import context

    db.open_state(bootstrap)
    if retention_days is None:
        settings = context.current_settings()
        retention_days = settings.dlq_retention_days if settings else 30.0
    report = {
        "dead_letters": dlq.purge(retention_days),
        "attempt_counts": attempts.purge_stale(STALE_ATTEMPTS_SECONDS),
        "scan_waits": scans.forget_old_waits(),
        "results": _flush_results(),
        # claims of a machine that is gone for good come back after CLAIM_HORIZON
        "orphans_requeued": huey.recover_orphans(),
    }
    files = [db.state_path()]
    if not bootstrap.redis_url:
        files.append(bootstrap.data_dir / "queue.db")
    report["vacuumed"] = sum(compact(path) for path in files if path is not None)
    log.info("cleanup: %s", ", ".join(f"{key} {value}" for key, value in report.items()))
    return report


def _flush_results() -> int:
    count = huey.storage.result_store_size()
    if count:
        huey.storage.flush_results()
    return count
