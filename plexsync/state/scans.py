"""Folder scans asked of Plex, so that each folder is asked for at most once
per :data:`SCAN_INTERVAL`, however many scenes (threads, consumer processes)
wait on it; and the scenes waiting for a scan, by library, so that Plex's news
of a scan (its notification websocket, :mod:`plexsync.worker.live`) ends their
wait at once instead of at their next retry.

A Stash scan of a new folder fires one hook per scene: without this, a
hundred new files would ask Plex for a hundred scans of the same folder.
The claim is one IMMEDIATE transaction in the shared state DB, so exactly
one caller wins it.
"""

from __future__ import annotations

import time

import peewee

from plexsync.state.db import BaseModel, locked, transactional, upsert_target

#: Seconds before the same folder may be scanned again.
SCAN_INTERVAL = 300.0
#: Rows older than this are dropped by the next claim.
FORGET_AFTER = 86400.0


class ScanRequest(BaseModel):
    folder = peewee.CharField(primary_key=True)  # "<section id>:<path key of the folder>"
    requested_at = peewee.DoubleField(index=True)


@transactional
def claim(section_id: int, folder_key: str, interval: float = SCAN_INTERVAL) -> bool:
    """True when the caller should ask Plex to scan this folder now."""
    key = f"{section_id}:{folder_key}"
    now = time.time()
    row = locked(ScanRequest.select().where(ScanRequest.folder == key)).get_or_none()
    if row is not None and now - row.requested_at < interval:
        return False
    ScanRequest.delete().where(ScanRequest.requested_at < now - FORGET_AFTER).execute()
    # Two first claims racing on a server with row locks: the conditional
    # update lets only the one that still sees the old stamp win.
    if row is None:
        ScanRequest.insert(folder=key, requested_at=now).on_conflict_ignore().execute()
        return ScanRequest.get_by_id(key).requested_at == now
    return (
        ScanRequest.update(requested_at=now)
        .where((ScanRequest.folder == key) & (ScanRequest.requested_at == row.requested_at))
        .execute()
        > 0
    )


def last_requested(folders: list[tuple[int, str]]) -> float | None:
    """When Plex was last asked to scan any of these (section id, folder key); None if never."""
    keys = [f"{section_id}:{folder_key}" for section_id, folder_key in folders]
    if not keys:
        return None
    return ScanRequest.select(peewee.fn.MAX(ScanRequest.requested_at)).where(ScanRequest.folder.in_(keys)).scalar()


def release(section_id: int, folder_key: str) -> None:
    """The scan request failed: let the next attempt ask again."""
    ScanRequest.delete().where(ScanRequest.folder == f"{section_id}:{folder_key}").execute()


class ScanWait(BaseModel):
    """A scene whose sync waits for a scan of one Plex library (its retry is scheduled)."""

    key = peewee.CharField(primary_key=True)  # "<section id>:<scene id>"
    section_id = peewee.IntegerField(index=True)
    scene_id = peewee.CharField()
    since = peewee.DoubleField(index=True)


def wait(scene_id: str, section_ids: tuple[int, ...]) -> None:
    """The scene waits for a scan of these libraries."""
    now = time.time()
    rows = [{"key": f"{s}:{scene_id}", "section_id": s, "scene_id": scene_id, "since": now} for s in section_ids]
    if rows:
        ScanWait.insert_many(rows).on_conflict(**upsert_target(ScanWait.key), preserve=[ScanWait.since]).execute()


@transactional
def take_waiting(section_id: int) -> list[str]:
    """The scenes waiting for a scan of this library (the wait is over: their rows go;
    a sync that still finds no item records its wait again)."""
    forget_old_waits()
    rows = list(locked(ScanWait.select().where(ScanWait.section_id == section_id)))
    if rows:
        ScanWait.delete().where(ScanWait.key.in_([row.key for row in rows])).execute()
    return sorted({row.scene_id for row in rows}, key=lambda scene: (len(scene), scene))


def forget_old_waits() -> int:
    """Drop waits older than :data:`FORGET_AFTER`: their jobs synced, retried or became
    dead letters long ago (a wait is only ended by news of a scan, which may never come)."""
    return ScanWait.delete().where(ScanWait.since < time.time() - FORGET_AFTER).execute()
