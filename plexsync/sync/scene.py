"""One scene's sync: Stash read -> mapping -> matching -> only what changed, into Plex.

Pure orchestration; every I/O step is a call on the reader or the writer,
every decision about fields is in :mod:`plexsync.sync.mapping`, and what was
written last is in :mod:`plexsync.state.written`. Per Plex item a sync sends
at most one edit (the field groups whose digest changed), one ``/:/rate``,
and one upload per changed image; nothing at all when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plexsync.errors import NotScannedYet, OutsidePlex, Permanent, SyncError
from plexsync.matching.matcher import FALLBACK, OUTSIDE, WAITING, SceneMatch
from plexsync.matching.paths import PathMap, nearest_by_folders, path_key, suggest_rule
from plexsync.plex.writer import CurrentItem, PlexTarget, PlexWriter
from plexsync.ratings import Side, rating_winner
from plexsync.stash import times
from plexsync.stash.reader import StashReader
from plexsync.state import matches, placement, relations, scans, written
from plexsync.state.written import Written
from plexsync.sync import portrait
from plexsync.sync.mapping import (
    DesiredState,
    FieldGroup,
    FieldPolicy,
    canonical_digest,
    desired_state,
    edit_params,
    seen_in_plex,
)

#: The image groups, by the writer method that uploads each.
IMAGE_GROUPS = {"poster": "upload_poster", "background": "upload_background"}


@dataclass
class SyncResult:
    desired: DesiredState
    targets: list[PlexTarget]
    #: Groups written, per rating key (images included; empty: nothing changed).
    written: dict[int, list[str]] = field(default_factory=dict)
    #: Groups left alone because they were changed in Plex ("keep manual Plex edits").
    kept: dict[int, list[str]] = field(default_factory=dict)
    matched_by: str = "path"

    @property
    def posters_uploaded(self) -> list[int]:
        return [key for key, groups in self.written.items() if "poster" in groups]

    def describe(self) -> str:
        keys = ",".join(str(t.rating_key) for t in self.targets)
        how = "" if self.matched_by == "path" else f" (matched by {self.matched_by})"
        names = sorted({name for groups in self.written.values() for name in groups})
        wrote = f"wrote {', '.join(names)}" if names else "nothing changed"
        kept = sorted({name for groups in self.kept.values() for name in groups})
        kept_text = f"; kept Plex's own {', '.join(kept)}" if kept else ""
        return f"{self.desired.title!r} -> Plex item(s) {keys}{how}, {wrote}{kept_text}"


def unmatched(plex: PlexWriter, found: SceneMatch[PlexTarget]) -> SyncError:
    """Why no Plex item holds the scene's files, having asked Plex to scan the
    folders that should hold them (each at most once per few minutes)."""
    waiting = found.with_outcome(WAITING)
    if not waiting:
        first = found.files[0]
        return OutsidePlex(
            f"the file {first.plex_path!r} (Stash path {first.stash_path!r}) is outside your Plex libraries; "
            "nothing to sync (if Plex should have it, check the settings 'Path rules' and 'Plex sections')",
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
    sections = tuple(sorted({section.id for file in waiting for section in file.sections}))
    return NotScannedYet(
        f"no Plex item has the file {first.plex_path!r} (Stash path {first.stash_path!r}) yet; {scan}", sections
    )


def scene_files(scene: dict) -> list[dict]:
    """The scene's files that have a path: what a Plex item can be matched by."""
    return [f for f in scene.get("files") or [] if f.get("path")]


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
    force: bool = False,
    policy: FieldPolicy = FieldPolicy(),  # noqa: B008 - frozen
) -> SyncResult:
    """``changed_since``: a Stash scan saw the scene's files change then; what
    the index knows of them from before may be stale."""
    scene = stash.scene(scene_id)
    return apply_scene(stash, plex, path_map, scene, changed_since=changed_since, force=force, policy=policy)


def apply_scene(
    stash: StashReader,
    plex: PlexWriter,
    path_map: PathMap,
    scene: dict,
    *,
    changed_since: float | None = None,
    force: bool = False,
    policy: FieldPolicy = FieldPolicy(),  # noqa: B008 - frozen
) -> SyncResult:
    """Sync a scene already read from Stash (one of a bulk sync's pages, or
    :func:`sync_scene`'s own read). ``force``: write every group and image the
    policy writes, whatever was written before (a user edited Plex by hand)."""
    scene_id = str(scene.get("id"))
    files = scene_files(scene)
    if not files:
        raise Permanent(f"scene {scene_id} has no file in Stash, so no Plex item can match it")
    found = find(plex, path_map, files, changed_since)
    targets = found.targets
    if not targets:
        failure = unmatched(plex, found)
        remember_match(plex, scene_id, found)
        raise failure
    placement.clear(scene_id)
    # each item type gets its own fields (a movie's genres are an episode's labels)
    by_type = {t.item_type: desired_state(scene, policy, t.item_type) for t in targets}
    desired = by_type[targets[0].item_type]
    befores = {t.rating_key: {} if force else written.of(t.rating_key) for t in targets}
    images: dict[str, str] = {}
    cover = None
    screenshot_url = (scene.get("paths") or {}).get("screenshot")
    if screenshot_url:
        screenshot_url = stash.local_url(screenshot_url)  # Stash's external_host may be elsewhere
    source = _cover_source(screenshot_url, desired)
    if source and any(_changed(before.get(COVER_SOURCE), source) for before in befores.values()):
        # None also for Stash's placeholder: then no upload and no lock, so Plex keeps its own images
        cover = stash.download(screenshot_url)
    if cover:
        images = {name: _image_digest(name, cover, desired) for name in IMAGE_GROUPS if getattr(desired, name)}
    result = SyncResult(desired, targets, matched_by=found.outcome)
    stash_at = times.instant(scene["updated_at"]) if scene.get("updated_at") else None
    for target in targets:
        before = befores[target.rating_key]
        wanted = by_type[target.item_type]
        _write(plex, target, wanted, cover, images, before, result, force=force, policy=policy, stash_at=stash_at)
        if cover:
            written.remember(target.rating_key, {COVER_SOURCE: Written(source, source)})
    relations.remember(scene_id, scene)
    remember_match(plex, scene_id, found)
    return result


def remember_match(plex: PlexWriter, scene_id: str, found: SceneMatch[PlexTarget]) -> None:
    """Keep where the scene's files were found (written only when that changed:
    :mod:`plexsync.state.matches`), with the path rule that would reach a
    same-named Plex file for those found by name only or outside every
    library (the match report's suggestion, from the index in memory)."""
    files = []
    for file in found.files:
        nearest = rule = None
        if file.outcome in (FALLBACK, OUTSIDE):
            nearest = nearest_by_folders(file.stash_path, plex.index.paths_named(file.plex_path))
            suggested = suggest_rule(file.stash_path, nearest) if nearest else None
            rule = str(suggested) if suggested else None
        files.append(
            matches.FileRecord(
                stash_path=file.stash_path,
                plex_path=file.plex_path,
                outcome=file.outcome,
                items=tuple(t.rating_key for t in file.targets),
                sections=tuple((s.id, s.title) for s in file.sections),
                nearest=nearest,
                rule=rule,
            )
        )
    matches.record(scene_id, found.outcome, plex.machine_identifier, tuple(files))


#: The written-state entry naming where the images came from (see :func:`_cover_source`).
COVER_SOURCE = "cover_source"


def _cover_source(url: str | None, desired: DesiredState) -> str | None:
    """What the images of an item are made of: the screenshot URL and the image
    groups and shape wanted. Stash's ``paths.screenshot`` carries the scene's
    ``updated_at`` as a Unix time in its query (stashapp/stash: ``GetScreenshotURL``
    in ``internal/api/urlbuilders/scene.go``, given ``UpdatedAt`` by the scene
    resolver's ``Paths``) and a new cover updates the scene, so
    while this is unchanged the cover is too: a re-sync downloads no cover at
    all (one GET per scene otherwise, most of an unchanged re-sync's time).
    A cover changed behind Stash's back (a regenerated screenshot) is picked
    up by *Force full sync*. None: no image is wanted."""
    wanted = [name for name in IMAGE_GROUPS if getattr(desired, name)]
    if not url or not wanted:
        return None
    return canonical_digest([url, wanted, desired.poster_shape])


def _image_digest(name: str, cover: bytes, desired: DesiredState) -> str:
    """The digest of the image a group uploads, from the cover alone (a cut
    poster is digested as "this cover, cut": no image work when nothing changed)."""
    digest = written.image_digest(cover)
    return canonical_digest([digest, "portrait"]) if name == "poster" and desired.poster_shape == "portrait" else digest


def _image(name: str, cover: bytes, desired: DesiredState) -> bytes:
    if name == "poster" and desired.poster_shape == "portrait":
        try:
            return portrait.cut(cover)
        except portrait.NotAnImage:
            return cover  # Plex may still read it: better the cover than no poster
    return cover


def _write(
    plex: PlexWriter,
    target: PlexTarget,
    desired: DesiredState,
    cover: bytes | None,
    images: dict[str, str],
    before: dict[str, Written],
    result: SyncResult,
    *,
    force: bool,
    policy: FieldPolicy,
    stash_at: float | None,
) -> None:
    """Send one item what changed since it was last written (``before``: what
    that was; empty when forced), remembering each part only once Plex accepted it.

    Before anything is sent the item is read once (:meth:`PlexWriter.confirm`):
    the rating key must still name the item the index matched (Plex gives a
    deleted item's key to the next new one), and what was written before counts
    only when it was written into this same item."""
    key = target.rating_key
    groups, changed_images = _to_write(desired, images, before, force, policy)
    if not groups and not changed_images:
        result.written.setdefault(key, [])
        return
    current = plex.confirm(target)
    if before and written.written_into(before) not in (None, current.identity):
        written.forget(key)  # another item had this key: this one gets everything
        before = {}
        groups, changed_images = _to_write(desired, images, before, force, policy)
    if policy.keep_plex_edits and not force:
        groups = _without_plex_edits(target, groups, before, result, current.fields)
    rating = next((g for g in groups if g.name == "rating"), None)
    if rating is not None and not force and not _rating_goes_to_plex(key, rating, before, current, policy, stash_at):
        groups.remove(rating)
        result.kept.setdefault(key, []).append("rating")
        rating = None
    done = result.written.setdefault(key, [])
    edits = [g for g in groups if g.params]
    lock_poster = desired.lock and "poster" in changed_images
    lock_art = desired.lock and "background" in changed_images
    if edits or lock_poster or lock_art:
        plex.edit(target, edit_params(edits, lock_poster=lock_poster, lock_art=lock_art))
        written.remember(key, {g.name: Written(g.digest, g.seen_digest) for g in edits}, current.identity)
        done += [g.name for g in edits]
    if rating is not None:
        plex.rate(target, rating.value)
        written.remember(key, {"rating": Written(rating.digest, rating.seen_digest)}, current.identity)
        done.append("rating")
    for name in changed_images:
        assert cover is not None
        getattr(plex, IMAGE_GROUPS[name])(target, _image(name, cover, desired))
        written.remember(key, {name: Written(images[name], images[name])}, current.identity)
        done.append(name)


def _to_write(
    desired: DesiredState, images: dict[str, str], before: dict[str, Written], force: bool, policy: FieldPolicy
) -> tuple[list[FieldGroup], list[str]]:
    """The groups and images whose digest changed since ``before`` (all when forced);
    a rating cleared in Stash is a change once PlexSync had written one."""
    groups = [g for g in desired.groups.values() if force or _changed(before.get(g.name), g.digest)]
    cleared = FieldGroup("rating", {}, None, None)
    had_one = "rating" in before and _changed(before["rating"], cleared.digest)
    if "rating" not in desired.groups and policy.writes("rating") and had_one:
        groups.append(cleared)
    changed_images = [name for name, digest in images.items() if force or _changed(before.get(name), digest)]
    return groups, changed_images


def _rating_goes_to_plex(
    key: int,
    rating: FieldGroup,
    before: dict[str, Written],
    current: CurrentItem,
    policy: FieldPolicy,
    stash_at: float | None,
) -> bool:
    """Stash's rating changed since it was last written: whether it goes to Plex, by
    the *Rating conflicts* policy (:func:`plexsync.playback.mapping.rating_winner`).
    Plex's changed too when it shows another rating than the one last written
    (or, never written, when it has one). When Plex's wins, nothing is recorded:
    the copy from Plex then brings it into Stash. When nothing is to be done
    (the same rating, or "fill" with both set) that is recorded, so later syncs
    do not read Plex again for it."""
    if policy.rating_policy == "stash":
        return True
    raw = current.fields.get("userRating")
    in_plex = None if raw in (None, "") else round(float(raw), 1)  # type: ignore[arg-type]
    last = before.get("rating")
    plex_changed = written.rating_digest(in_plex) != last.seen if last else in_plex is not None
    rated_at = current.fields.get("lastRatedAt")
    plex_at = float(rated_at) if isinstance(rated_at, str) and rated_at.isdigit() else None  # type: ignore[arg-type]
    winner = rating_winner(
        policy.rating_policy, Side(in_plex, plex_changed, plex_at), Side(rating.value, True, stash_at)
    )
    if winner == "stash":
        return True
    if winner is None:
        written.remember(key, {"rating": Written(rating.digest, written.rating_digest(in_plex))}, current.identity)
    return False


def _changed(before: Written | None, digest: str) -> bool:
    return before is None or before.sent != digest


def _without_plex_edits(
    target: PlexTarget,
    groups: list[FieldGroup],
    before: dict[str, Written],
    result: SyncResult,
    item: dict[str, object],
) -> list[FieldGroup]:
    """``groups`` minus those someone changed in Plex since we wrote them: Plex
    shows something else than what we left there (``item``: Plex's item, read
    once before writing)."""
    again = [g for g in groups if g.name in before]
    if not again:
        return groups
    edited = {g.name for g in again if canonical_digest(seen_in_plex(g.name, item)) != before[g.name].seen}
    if edited:
        result.kept[target.rating_key] = sorted(edited)
    return [g for g in groups if g.name not in edited]
