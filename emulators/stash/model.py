"""The library an emulated Stash holds: scenes and what they point at.

Plain Python state behind one lock, so seeding 100,000 scenes is a loop of
cheap calls and a GraphQL request reads one consistent picture. Records are
frozen and replaced on change, never edited in place: a request that already
holds a scene keeps seeing one version of it.

Facts of real Stash kept here because clients trip on them:

- timestamps are stored as RFC3339 text with **second precision** (Stash's
  ``sqlite.Timestamp``); two edits within one second leave ``updated_at``
  unchanged, and filters compare that text, not instants;
- ``created_at``/``updated_at`` are written in the **server's local zone with its
  offset** (``Library(zone=ZoneInfo("Europe/Berlin"))``: ``2026-10-25T02:30:00+02:00``,
  an hour later ``2026-10-25T02:10:00+01:00``), as Go's ``time.Now()`` formatted with
  ``time.RFC3339`` (stashapp/stash ``pkg/sqlite/timestamp.go``: ``Timestamp.Value``
  formats the time as it is; only ``UTCTimestamp``, used for play and O dates,
  converts to UTC). Text order is then not time order across a daylight-saving
  fall-back. A UTC server writes ``Z``;
- an unset title/code/details/director reads back as ``""``, never null;
- a scene with no file must have a title;
- on a Windows host (``Library(windows=True)``) paths are Windows paths
  (``D:\\Videos\\a.mp4``, ``\\\\NAS\\share\\...``, ``\\\\?\\D:\\...``) and ``basename``
  and folders are split as Go's ``path/filepath`` splits them there: on ``\\``
  (and ``/``), keeping a drive, UNC share or ``\\\\?\\`` prefix whole.
"""

from __future__ import annotations

import hashlib
import ntpath
import posixpath
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

GENDERS = frozenset({"MALE", "FEMALE", "TRANSGENDER_MALE", "TRANSGENDER_FEMALE", "INTERSEX", "NON_BINARY"})
DATE_FORMAT = "%Y-%m-%d"


def rfc3339(moment: datetime, zone: tzinfo = UTC) -> str:
    """Stash's stored and served form of a time: Go's ``time.RFC3339`` in ``zone``
    (``Z`` for UTC, else the offset then in force, e.g. ``+01:00``)."""
    local = moment.astimezone(zone)
    offset = local.utcoffset()
    if not offset:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat(timespec="seconds")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    parent_id: int | None
    created_at: str


@dataclass(frozen=True)
class VideoFile:
    id: int
    path: str
    folder_id: int
    size: int
    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str
    frame_rate: float
    bit_rate: int
    format: str
    oshash: str
    mod_time: str
    created_at: str
    basename: str


@dataclass(frozen=True)
class StashId:
    endpoint: str
    stash_id: str
    updated_at: str


@dataclass(frozen=True)
class Studio:
    id: int
    name: str
    parent_id: int | None
    image: bytes | None
    created_at: str
    updated_at: str
    updated_unix: int


@dataclass(frozen=True)
class Performer:
    id: int
    name: str
    gender: str | None
    image: bytes | None
    created_at: str
    updated_at: str
    updated_unix: int


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Scene:
    id: int
    title: str
    code: str
    details: str
    director: str
    urls: tuple[str, ...]
    date: str | None
    rating100: int | None
    organized: bool
    studio_id: int | None
    tag_ids: tuple[int, ...]
    performer_ids: tuple[int, ...]
    groups: tuple[tuple[int, int | None], ...]
    stash_ids: tuple[StashId, ...]
    files: tuple[VideoFile, ...]
    cover: bytes | None  # None: the screenshot Stash generated at scan time, if any
    created_at: str
    updated_at: str
    updated_unix: int
    #: The scan generated a screenshot. Without one (and without a cover) Stash
    #: serves its built-in SVG placeholder at paths.screenshot.
    screenshot: bool = True
    #: Play activity (Stash's ``scenes_view_dates`` rows and the two activity
    #: columns): set only by sceneAddPlay and sceneSaveActivity, which leave
    #: ``updated_at`` alone. Times are RFC3339 UTC text, newest first, as served.
    play_history: tuple[str, ...] = ()
    resume_time: float = 0.0
    play_duration: float = 0.0

    @property
    def play_count(self) -> int:
        return len(self.play_history)

    @property
    def last_played_at(self) -> str | None:
        return self.play_history[0] if self.play_history else None

    @property
    def primary_file(self) -> VideoFile | None:
        return self.files[0] if self.files else None


#: Fields that ``add_scene``/``update_scene`` accept besides files and cover.
SCENE_FIELDS = (
    "title",
    "details",
    "date",
    "code",
    "director",
    "urls",
    "rating100",
    "organized",
    "studio_id",
    "tag_ids",
    "performer_ids",
    "groups",
    "stash_ids",
)


class LibraryError(ValueError):
    """A change real Stash would refuse; the message is Stash's own wording."""


@dataclass
class Library:
    """Every record of one emulated Stash, with the id counters Stash keeps."""

    clock: Callable[[], datetime] = utc_now
    #: The zone of the machine Stash runs on: created_at/updated_at are written in it.
    zone: tzinfo = UTC
    #: Stash runs on Windows: paths split as Go's filepath does there.
    windows: bool = False
    scenes: dict[int, Scene] = field(default_factory=dict)
    studios: dict[int, Studio] = field(default_factory=dict)
    performers: dict[int, Performer] = field(default_factory=dict)
    tags: dict[int, Tag] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    folders: dict[int, Folder] = field(default_factory=dict)
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Bumped on every change; query caches key on it.
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    _folder_ids: dict[str, int] = field(default_factory=dict)
    _file_owner: dict[str, int] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)
    _last_stamp: tuple[str, int] = ("", -1)

    @property
    def paths(self) -> Any:
        """The path module of the host Stash runs on (``ntpath`` on Windows)."""
        return ntpath if self.windows else posixpath

    # -- time and ids -------------------------------------------------------
    def _stamp(self) -> tuple[str, int]:
        unix = int(self.clock().timestamp())  # Stash keeps whole seconds
        if self._last_stamp[1] != unix:
            self._last_stamp = (rfc3339(datetime.fromtimestamp(unix, UTC), self.zone), unix)
        return self._last_stamp

    def _new_id(self, kind: str, wanted: int | None = None) -> int:
        following = self._next.get(kind, 1)
        if wanted is None:
            self._next[kind] = following + 1
            return following
        self._next[kind] = max(following, wanted + 1)
        return wanted

    # -- studios, performers, tags, groups ----------------------------------
    def add_studio(self, name: str, parent_id: int | None = None, image: bytes | None = None) -> int:
        with self.lock:
            if parent_id is not None and parent_id not in self.studios:
                raise LibraryError(f"studio with id {parent_id} not found")
            text, unix = self._stamp()
            studio = Studio(self._new_id("studio"), name, parent_id, image, text, text, unix)
            self.studios[studio.id] = studio
            self.version += 1
            return studio.id

    def add_performer(self, name: str, gender: str | None = None, image: bytes | None = None) -> int:
        if gender is not None and gender not in GENDERS:
            raise LibraryError(f"{gender} is not a valid GenderEnum")
        with self.lock:
            text, unix = self._stamp()
            performer = Performer(self._new_id("performer"), name, gender, image, text, text, unix)
            self.performers[performer.id] = performer
            self.version += 1
            return performer.id

    def add_tag(self, name: str) -> int:
        with self.lock:
            text, _ = self._stamp()
            tag = Tag(self._new_id("tag"), name, text, text)
            self.tags[tag.id] = tag
            self.version += 1
            return tag.id

    def add_group(self, name: str) -> int:
        with self.lock:
            text, _ = self._stamp()
            group = Group(self._new_id("group"), name, text, text)
            self.groups[group.id] = group
            self.version += 1
            return group.id

    # -- changes to studios, performers, tags, groups -------------------------
    # What real Stash does to the scenes of a changed object (stashapp/stash
    # cf3489e, pkg/sqlite): an update writes the object's own row only; a destroy
    # deletes the join rows (ON DELETE CASCADE) or nulls scenes.studio_id (ON
    # DELETE SET NULL); a merge rewrites the join rows (``UPDATE OR IGNORE``, then
    # deletes the leftovers) and destroys the sources. None of them goes through
    # the scene store, so no scene's updated_at moves.
    def update_performer(self, performer_id: int, **fields: Any) -> Performer:
        """``fields``: name, gender, image (bytes; None removes it)."""
        with self.lock:
            performer = self._existing(self.performers, "performer", performer_id)
            if fields.get("gender") is not None and fields["gender"] not in GENDERS:
                raise LibraryError(f"{fields['gender']} is not a valid GenderEnum")
            text, unix = self._stamp()
            updated = replace(performer, **fields, updated_at=text, updated_unix=unix)
            self.performers[performer_id] = updated
            self.version += 1
            return updated

    def update_studio(self, studio_id: int, **fields: Any) -> Studio:
        """``fields``: name, parent_id, image."""
        with self.lock:
            studio = self._existing(self.studios, "studio", studio_id)
            parent_id = fields.get("parent_id")
            if parent_id is not None and parent_id not in self.studios:
                raise LibraryError(f"studio with id {parent_id} not found")
            if parent_id is not None and parent_id in self.studio_descendants([studio_id], -1):
                raise LibraryError("studio cannot be an ancestor of itself")
            text, unix = self._stamp()
            updated = replace(studio, **fields, updated_at=text, updated_unix=unix)
            self.studios[studio_id] = updated
            self.version += 1
            return updated

    def update_tag(self, tag_id: int, **fields: Any) -> Tag:
        with self.lock:
            tag = self._existing(self.tags, "tag", tag_id)
            name = fields.get("name")
            others = (t.name.casefold() for t in self.tags.values() if t.id != tag_id)
            if name is not None and name.casefold() in others:
                raise LibraryError(f"tag with name '{name}' already exists")
            updated = replace(tag, **fields, updated_at=self._stamp()[0])
            self.tags[tag_id] = updated
            self.version += 1
            return updated

    def update_group(self, group_id: int, **fields: Any) -> Group:
        with self.lock:
            group = self._existing(self.groups, "group", group_id)
            updated = replace(group, **fields, updated_at=self._stamp()[0])
            self.groups[group_id] = updated
            self.version += 1
            return updated

    def destroy_performer(self, performer_id: int) -> Performer:
        with self.lock:
            performer = self._existing(self.performers, "performer", performer_id)
            self._rewrite_scenes(performer_ids=lambda ids: tuple(i for i in ids if i != performer_id))
            del self.performers[performer_id]
            self.version += 1
            return performer

    def destroy_studio(self, studio_id: int) -> Studio:
        with self.lock:
            studio = self._existing(self.studios, "studio", studio_id)
            self._rewrite_scenes(studio_id=lambda current: None if current == studio_id else current)
            for child in [s for s in self.studios.values() if s.parent_id == studio_id]:
                self.studios[child.id] = replace(child, parent_id=None)
            del self.studios[studio_id]
            self.version += 1
            return studio

    def destroy_tag(self, tag_id: int) -> Tag:
        with self.lock:
            tag = self._existing(self.tags, "tag", tag_id)
            self._rewrite_scenes(tag_ids=lambda ids: tuple(i for i in ids if i != tag_id))
            del self.tags[tag_id]
            self.version += 1
            return tag

    def destroy_group(self, group_id: int) -> Group:
        with self.lock:
            group = self._existing(self.groups, "group", group_id)
            self._rewrite_scenes(groups=lambda groups: tuple(g for g in groups if g[0] != group_id))
            del self.groups[group_id]
            self.version += 1
            return group

    def merge_tags(self, source: Sequence[int], destination: int) -> Tag:
        """tagsMerge: the sources' scenes get the destination instead; the sources are gone."""
        return self._merge(self.tags, "tag", "tag_ids", source, destination)

    def merge_performers(self, source: Sequence[int], destination: int) -> Performer:
        """performerMerge: as :meth:`merge_tags`, and real Stash fires no hook for it."""
        return self._merge(self.performers, "performer", "performer_ids", source, destination)

    def _merge(self, table: dict[int, Any], kind: str, column: str, source: Sequence[int], destination: int) -> Any:
        with self.lock:
            target = self._existing(table, kind, destination)
            if destination in source:
                raise LibraryError("cannot merge where source == destination")
            for source_id in source:
                self._existing(table, kind, source_id)
            merged = set(source)

            def rewrite(ids: tuple[int, ...]) -> tuple[int, ...]:
                if not merged & set(ids):
                    return ids
                return _unique(destination if i in merged else i for i in ids)

            self._rewrite_scenes(**{column: rewrite})
            for source_id in source:
                del table[source_id]
            self.version += 1
            return target

    def _rewrite_scenes(self, **columns: Callable[[Any], Any]) -> None:
        """Change join columns of every scene as SQL on the join tables would: updated_at stays."""
        for scene in list(self.scenes.values()):
            changes = {name: change(getattr(scene, name)) for name, change in columns.items()}
            if any(value != getattr(scene, name) for name, value in changes.items()):
                self.scenes[scene.id] = replace(scene, **changes)

    @staticmethod
    def _existing(table: dict[int, Any], kind: str, object_id: int) -> Any:
        found = table.get(object_id)
        if found is None:
            raise LibraryError(f"{kind} with id {object_id} not found")
        return found

    # -- scenes -------------------------------------------------------------
    def add_scene(
        self,
        *,
        files: Sequence[Mapping[str, Any]] | None = None,
        cover: bytes | None = None,
        id: int | None = None,
        screenshot: bool = True,
        **fields: Any,
    ) -> int:
        """Create a scene; ``files=None`` gives it one file at /data/scene-<id>.mp4 (Windows: D:\\data\\...)."""
        with self.lock:
            if id is not None and id in self.scenes:
                raise LibraryError(f"scene with id {id} already exists")
            # like SQLite's autoincrement: a refused insert does not use up the id
            scene_id = self._next.get("scene", 1) if id is None else id
            text, unix = self._stamp()
            if files is None:
                path = self.paths.join("D:\\" if self.windows else "/", "data", f"scene-{scene_id}.mp4")
                files = ({"path": path, "size": 123, "duration": 60.0},)
            values = self._checked_fields(fields, has_files=bool(files))
            if not files and not values.get("title"):
                raise LibraryError("title must be set if scene has no files")
            made_files = self._make_files(scene_id, files, text)
            self._new_id("scene", scene_id)
            scene = Scene(
                id=scene_id,
                title=values.get("title", ""),
                code=values.get("code", ""),
                details=values.get("details", ""),
                director=values.get("director", ""),
                urls=values.get("urls", ()),
                date=values.get("date"),
                rating100=values.get("rating100"),
                organized=values.get("organized", False),
                studio_id=values.get("studio_id"),
                tag_ids=values.get("tag_ids", ()),
                performer_ids=values.get("performer_ids", ()),
                groups=values.get("groups", ()),
                stash_ids=values.get("stash_ids", ()),
                files=made_files,
                cover=cover,
                created_at=text,
                updated_at=text,
                updated_unix=unix,
                screenshot=screenshot,
            )
            self.scenes[scene_id] = scene
            self.version += 1
            return scene_id

    def update_scene(self, scene_id: int, *, cover: bytes | None = None, **fields: Any) -> Scene:
        """Apply the given fields (a cover replaces the screenshot) and stamp updated_at."""
        with self.lock:
            scene = self.scenes.get(scene_id)
            if scene is None:
                raise LibraryError(f"scene with id {scene_id} not found")
            values = self._checked_fields(fields, has_files=bool(scene.files))
            text, unix = self._stamp()
            changes: dict[str, Any] = {**values, "updated_at": text, "updated_unix": unix}
            if cover is not None:
                changes["cover"] = cover
            updated = replace(scene, **changes)
            self.scenes[scene_id] = updated
            self.version += 1
            return updated

    def add_plays(self, scene_id: int, times: Sequence[datetime] = ()) -> Scene:
        """sceneAddPlay: one view per time (now when none), kept in whole UTC seconds."""
        with self.lock:
            scene = self._scene(scene_id)
            moments = list(times) or [self.clock()]
            added = tuple(rfc3339(datetime.fromtimestamp(int(m.timestamp()), UTC)) for m in moments)
            history = tuple(sorted(scene.play_history + added, reverse=True))
            updated = replace(scene, play_history=history)
            self.scenes[scene_id] = updated
            self.version += 1
            return updated

    def save_activity(self, scene_id: int, resume_time: float | None, play_duration: float | None) -> Scene:
        """sceneSaveActivity: ``resume_time`` replaces (when given), ``play_duration`` is *added*."""
        with self.lock:
            scene = self._scene(scene_id)
            changes: dict[str, Any] = {}
            if resume_time is not None:
                changes["resume_time"] = float(resume_time)
            if play_duration is not None:
                changes["play_duration"] = scene.play_duration + float(play_duration)
            updated = replace(scene, **changes)
            self.scenes[scene_id] = updated
            self.version += 1
            return updated

    def _scene(self, scene_id: int) -> Scene:
        scene = self.scenes.get(scene_id)
        if scene is None:
            raise LibraryError(f"scene with id {scene_id} not found")
        return scene

    def destroy_scene(self, scene_id: int) -> Scene:
        with self.lock:
            scene = self.scenes.pop(scene_id, None)
            if scene is None:
                raise LibraryError(f"scene with id {scene_id} not found")
            for video in scene.files:
                self._file_owner.pop(video.path, None)
            self.version += 1
            return scene

    def set_plugin_settings(self, plugin_id: str, settings: Mapping[str, Any]) -> None:
        with self.lock:
            self.plugin_settings[plugin_id] = dict(settings)
            self.version += 1

    # -- validation ---------------------------------------------------------
    def _checked_fields(self, fields: Mapping[str, Any], has_files: bool) -> dict[str, Any]:
        """Normalise scene fields and refuse what real Stash refuses."""
        unknown = set(fields) - set(SCENE_FIELDS)
        if unknown:
            raise TypeError(f"unknown scene fields: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name in ("title", "code", "details", "director"):
            if name in fields:
                values[name] = fields[name] or ""
        if "title" in values and not values["title"] and not has_files:
            raise LibraryError("title must be set if scene has no files")
        if "urls" in fields:
            values["urls"] = tuple(fields["urls"] or ())
        if "date" in fields:
            values["date"] = _checked_date(fields["date"])
        if "rating100" in fields:
            values["rating100"] = fields["rating100"]
        if "organized" in fields:
            values["organized"] = bool(fields["organized"])
        if "studio_id" in fields:
            studio_id = fields["studio_id"]
            if studio_id is not None and int(studio_id) not in self.studios:
                raise LibraryError("FOREIGN KEY constraint failed")
            values["studio_id"] = None if studio_id is None else int(studio_id)
        for name, table in (("tag_ids", self.tags), ("performer_ids", self.performers)):
            if name in fields:
                ids = _unique(int(i) for i in fields[name] or ())
                if any(i not in table for i in ids):
                    raise LibraryError("FOREIGN KEY constraint failed")
                values[name] = ids
        if "groups" in fields:
            groups = tuple((int(g), None if i is None else int(i)) for g, i in fields["groups"] or ())
            if any(g not in self.groups for g, _ in groups):
                raise LibraryError("FOREIGN KEY constraint failed")
            values["groups"] = groups
        if "stash_ids" in fields:
            values["stash_ids"] = tuple(self._stash_id(s) for s in fields["stash_ids"] or ())
        return values

    def _stash_id(self, given: Mapping[str, Any] | StashId) -> StashId:
        if isinstance(given, StashId):
            return given
        updated = given.get("updated_at") or self._stamp()[0]
        return StashId(str(given["endpoint"]), str(given["stash_id"]), str(updated))

    def _make_files(self, scene_id: int, files: Iterable[Mapping[str, Any]], stamp: str) -> tuple[VideoFile, ...]:
        specs = list(files)
        for spec in specs:
            owner = self._file_owner.get(str(spec["path"]))
            if owner is not None and owner != scene_id:
                raise LibraryError(f"file {spec['path']} already belongs to scene {owner}")
        made = []
        paths = self.paths
        for spec in specs:
            path = str(spec["path"])
            self._file_owner[path] = scene_id
            made.append(
                VideoFile(
                    id=self._new_id("file"),
                    path=path,
                    folder_id=self._folder(paths.dirname(path) or paths.sep, stamp),
                    size=int(spec.get("size", 0)),
                    duration=float(spec.get("duration", 0.0)),
                    width=int(spec.get("width", 1920)),
                    height=int(spec.get("height", 1080)),
                    video_codec=str(spec.get("video_codec", "h264")),
                    audio_codec=str(spec.get("audio_codec", "aac")),
                    frame_rate=float(spec.get("frame_rate", 29.97)),
                    bit_rate=int(spec.get("bit_rate", 8_000_000)),
                    format=str(spec.get("format", paths.splitext(path)[1].lstrip(".") or "mp4")),
                    oshash=hashlib.sha1(path.encode()).hexdigest()[:16],
                    mod_time=stamp,
                    created_at=stamp,
                    basename=paths.basename(path),
                )
            )
        return tuple(made)

    def _folder(self, path: str, stamp: str) -> int:
        known = self._folder_ids.get(path)
        if known is not None:
            return known
        parent = self.paths.dirname(path)
        parent_id = self._folder(parent, stamp) if parent != path else None
        folder = Folder(self._new_id("folder"), path, parent_id, stamp)
        self.folders[folder.id] = folder
        self._folder_ids[path] = folder.id
        return folder.id

    # -- reads --------------------------------------------------------------
    def studio_descendants(self, studio_ids: Iterable[int], depth: int | None) -> set[int]:
        """The given studios plus children down ``depth`` levels (-1: all)."""
        found = set(studio_ids)
        frontier = set(found)
        level = 0
        with self.lock:
            while frontier and depth is not None and (depth < 0 or level < depth):
                frontier = {s.id for s in self.studios.values() if s.parent_id in frontier} - found
                found |= frontier
                level += 1
        return found


def _unique(ids: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))


def _checked_date(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        datetime.strptime(value, DATE_FORMAT)
    except (TypeError, ValueError):
        raise LibraryError(f'error parsing date "{value}": expected YYYY-MM-DD') from None
    return value
