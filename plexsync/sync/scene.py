"""One scene's sync: Stash read -> mapping -> matching -> Plex write.

Pure orchestration; every I/O step is a call on the reader or the writer,
every decision about fields is in :mod:`plexsync.sync.mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plexsync.errors import ItemNotInPlex, Permanent
from plexsync.matching.paths import PathMap
from plexsync.plex.writer import PlexTarget, PlexWriter
from plexsync.stash.reader import StashReader
from plexsync.state import posters
from plexsync.sync.mapping import PlexMetadata, edit_params, scene_to_metadata


@dataclass
class SyncResult:
    metadata: PlexMetadata
    targets: list[PlexTarget]
    posters_uploaded: list[int] = field(default_factory=list)

    def describe(self) -> str:
        keys = ",".join(str(t.rating_key) for t in self.targets)
        return f"{self.metadata.title!r} -> Plex item(s) {keys}, {len(self.posters_uploaded)} poster(s) uploaded"


def find_targets(plex: PlexWriter, path_map: PathMap, files: list[dict]) -> list[PlexTarget]:
    """The Plex items holding any of the scene's files, each once."""
    targets: dict[int, PlexTarget] = {}
    for stash_file in files:
        for target in plex.find(path_map.to_plex(stash_file["path"])):
            targets.setdefault(target.rating_key, target)
    return list(targets.values())


def sync_scene(stash: StashReader, plex: PlexWriter, path_map: PathMap, scene_id: str) -> SyncResult:
    scene = stash.scene(scene_id)
    files = [f for f in scene.get("files") or [] if f.get("path")]
    if not files:
        raise Permanent(f"scene {scene_id} has no file in Stash, so no Plex item can match it")
    targets = find_targets(plex, path_map, files)
    if not targets:
        stash_path = files[0]["path"]
        raise ItemNotInPlex(
            f"no Plex item has the file {path_map.to_plex(stash_path)!r} (Stash path {stash_path!r}); "
            "Plex may not have scanned it yet, or PLEXSYNC_PATH_MAP does not match"
        )
    metadata = scene_to_metadata(scene)
    screenshot_url = (scene.get("paths") or {}).get("screenshot")
    # None also for Stash's placeholder: then no upload and no thumb.locked, so Plex keeps its own poster
    cover = stash.download(screenshot_url) if screenshot_url else None
    cover_digest = posters.digest(cover) if cover else None
    result = SyncResult(metadata, targets)
    params = edit_params(metadata, lock_poster=cover is not None)
    for target in targets:
        plex.edit(target, params)
        if cover_digest and not posters.is_current(target.rating_key, cover_digest):
            plex.upload_poster(target, cover)
            posters.remember(target.rating_key, cover_digest)
            result.posters_uploaded.append(target.rating_key)
    return result
