"""One scene's sync: Stash read -> mapping -> matching -> Plex write.

Pure orchestration; every I/O step is a call on the reader or the writer,
every decision about fields is in :mod:`plexsync.sync.mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plexsync.errors import NotScannedYet, OutsidePlex, Permanent, SyncError
from plexsync.matching.matcher import WAITING, SceneMatch
from plexsync.matching.paths import PathMap, path_key
from plexsync.plex.writer import PlexTarget, PlexWriter
from plexsync.stash.reader import StashReader
from plexsync.state import placement, posters, relations, scans
from plexsync.sync.mapping import PlexMetadata, edit_params, scene_to_metadata


@dataclass
class SyncResult:
    metadata: PlexMetadata
    targets: list[PlexTarget]
    posters_uploaded: list[int] = field(default_factory=list)
    matched_by: str = "path"

    def describe(self) -> str:
        keys = ",".join(str(t.rating_key) for t in self.targets)
        how = "" if self.matched_by == "path" else f" (matched by {self.matched_by})"
        return f"{self.metadata.title!r} -> Plex item(s) {keys}{how}, {len(self.posters_uploaded)} poster(s) uploaded"


def unmatched(plex: PlexWriter, found: SceneMatch[PlexTarget]) -> SyncError:
    """Why no Plex item holds the scene's files, having asked Plex to scan the
    folders that should hold them (each at most once per few minutes)."""
    waiting = found.with_outcome(WAITING)
    if not waiting:
        first = found.files[0]
        return OutsidePlex(
            f"the file {first.plex_path!r} (Stash path {first.stash_path!r}) is outside your Plex libraries; "
            "nothing to sync (if Plex should have it, check Path rules / PLEXSYNC_PATH_MAP and Plex sections)",
            first.plex_path,
        )
    asked: list[str] = []
    for file in waiting:
        for section in file.sections:
            if not scans.claim(section.id, path_key(file.folder)):
                continue
            try:
                plex.request_scan(section.id, file.folder)
            except SyncError:
                scans.release(section.id, path_key(file.folder))
                raise
            asked.append(f"{file.folder!r} of library {section.title!r}")
    first = waiting[0]
    scan = f"asked Plex to scan {', '.join(asked)}" if asked else "a scan of its folder was asked for already"
    return NotScannedYet(f"no Plex item has the file {first.plex_path!r} (Stash path {first.stash_path!r}) yet; {scan}")


def find(plex: PlexWriter, path_map: PathMap, files: list[dict], changed_since: float | None) -> SceneMatch[PlexTarget]:
    """Match the files; when some wait in a folder Plex was asked to scan since
    the index last listed it, match once more against a fresh listing."""
    found = plex.match(files, path_map, fresh_since=changed_since)
    waiting = found.with_outcome(WAITING)
    if found.targets or not waiting:
        return found
    asked = scans.last_requested([(s.id, path_key(f.folder)) for f in waiting for s in f.sections])
    if asked is None or (changed_since is not None and asked <= changed_since):
        return found
    return plex.match(files, path_map, fresh_since=asked)


def sync_scene(
    stash: StashReader,
    plex: PlexWriter,
    path_map: PathMap,
    scene_id: str,
    *,
    changed_since: float | None = None,
) -> SyncResult:
    """``changed_since``: a Stash scan saw the scene's files change then; what
    the index knows of them from before may be stale."""
    return apply_scene(stash, plex, path_map, stash.scene(scene_id), changed_since=changed_since)


def apply_scene(
    stash: StashReader,
    plex: PlexWriter,
    path_map: PathMap,
    scene: dict,
    *,
    changed_since: float | None = None,
) -> SyncResult:
    """Sync a scene already read from Stash (one of a bulk sync's pages, or
    :func:`sync_scene`'s own read)."""
    scene_id = str(scene.get("id"))
    files = [f for f in scene.get("files") or [] if f.get("path")]
    if not files:
        raise Permanent(f"scene {scene_id} has no file in Stash, so no Plex item can match it")
    found = find(plex, path_map, files, changed_since)
    targets = found.targets
    if not targets:
        raise unmatched(plex, found)
    placement.clear(scene_id)
    metadata = scene_to_metadata(scene)
    screenshot_url = (scene.get("paths") or {}).get("screenshot")
    # None also for Stash's placeholder: then no upload and no thumb.locked, so Plex keeps its own poster
    cover = stash.download(screenshot_url) if screenshot_url else None
    cover_digest = posters.digest(cover) if cover else None
    result = SyncResult(metadata, targets, matched_by=found.outcome)
    params = edit_params(metadata, lock_poster=cover is not None)
    for target in targets:
        plex.edit(target, params)
        if cover_digest and not posters.is_current(target.rating_key, cover_digest):
            plex.upload_poster(target, cover)
            posters.remember(target.rating_key, cover_digest)
            result.posters_uploaded.append(target.rating_key)
    relations.remember(scene_id, scene)
    return result
