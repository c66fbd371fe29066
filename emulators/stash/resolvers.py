"""GraphQL wiring: the hand-written schema plus the resolvers that read the library.

Field values follow Stash's resolvers where a client could notice: unset
strings are ``""``, scene tags come sorted by name, image paths always exist
(``&default=true`` when there is no real image), screenshot URLs carry the
scene's ``updated_at`` in Unix seconds, mutations return the scene as it is
*after* the post-hooks ran, and errors read like Stash's.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from graphql import GraphQLResolveInfo, GraphQLSchema, build_schema, default_field_resolver

from . import hooks
from .model import Group, Library, Performer, Scene, Studio, Tag, VideoFile
from .query import NAMED_SORTS, Page, SceneQueries, find_named

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")

STASH_VERSION = {"version": "v0.30.1", "hash": "6f8b3c2a1", "build_time": "2026-01-12 10:31:07"}
CONFIG_DIR = "/root/.stash"


class StashState(Protocol):
    """What resolvers need from the emulator that owns them."""

    library: Library
    scene_queries: SceneQueries

    @property
    def api_key(self) -> str | None: ...

    @property
    def login(self) -> bool: ...

    def run_hook(
        self, hook_type: str, object_id: int, input: dict[str, Any] | None, input_fields: list[str] | None
    ) -> None: ...


@dataclass(frozen=True)
class Failure:
    """A resolver error to raise (e.g. SQLite's "database is locked"): in the named root fields, or all."""

    message: str
    fields: frozenset[str] = frozenset()
    fired: list[str] = field(default_factory=list)  # root fields that failed


@dataclass(frozen=True)
class Context:
    state: StashState
    base_url: str  # as Stash builds it (StashEmulator.base_url): the request's Host, or external_host
    failure: Failure | None = None


Resolver = Callable[..., Any]


def _ctx(info: GraphQLResolveInfo) -> Context:
    return info.context


def _lib(info: GraphQLResolveInfo) -> Library:
    return info.context.state.library


def parse_id(value: Any) -> int:
    """Go's strconv.Atoi, with its error message."""
    text = str(value)
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def const(value: Any) -> Resolver:
    return lambda obj, info, **args: value


# -- queries -------------------------------------------------------------------
class SceneList:
    """findScenes' result; the totals are summed only when asked for."""

    def __init__(self, library: Library, count: int, scenes: list[Scene], all_ids: Iterable[int]) -> None:
        self.count = count
        self.scenes = scenes
        self._library = library
        self._all_ids = all_ids

    def _primary_files(self) -> list[VideoFile]:
        found = (self._library.scenes.get(i) for i in self._all_ids)
        return [s.primary_file for s in found if s is not None and s.primary_file is not None]

    @property
    def duration(self) -> float:
        return float(sum(f.duration for f in self._primary_files()))

    @property
    def filesize(self) -> float:
        return float(sum(f.size for f in self._primary_files()))


def find_scene(_: None, info: GraphQLResolveInfo, id: str | None = None, checksum: str | None = None) -> Scene | None:
    library = _lib(info)
    if id is not None:
        return library.scenes.get(parse_id(id))
    if checksum is not None:
        with library.lock:
            scenes = list(library.scenes.values())
        return next((s for s in scenes if any(f.oshash == checksum for f in s.files)), None)
    return None


def find_scenes(
    _: None,
    info: GraphQLResolveInfo,
    scene_filter: Mapping[str, Any] | None = None,
    scene_ids: list[int] | None = None,
    ids: list[str] | None = None,
    filter: Mapping[str, Any] | None = None,
) -> SceneList:
    library = _lib(info)
    if ids:
        scene_ids = [parse_id(i) for i in ids]
    if scene_ids:
        # Stash's FindMany: the filter and paging are ignored, a missing id fails it all
        scenes = []
        for scene_id in scene_ids:
            scene = library.scenes.get(scene_id)
            if scene is None:
                raise ValueError(f"scene with id {scene_id} not found")
            scenes.append(scene)
        return SceneList(library, len(scenes), scenes, scene_ids)
    page = _ctx(info).state.scene_queries.find(scene_filter, filter)
    return SceneList(library, page.count, _present(library.scenes, page.ids), page.all_ids)


def _present(table: Mapping[int, Any], ids: Iterable[int]) -> list[Any]:
    return [table[i] for i in ids if i in table]


def _find_one(table_name: str) -> Resolver:
    def resolve(_: None, info: GraphQLResolveInfo, id: str) -> Any:
        return getattr(_lib(info), table_name).get(parse_id(id))

    return resolve


def _find_many(table_name: str, filter_arg: str, list_field: str, legacy_ids_arg: str | None = None) -> Resolver:
    def resolve(_: None, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        library = _lib(info)
        table: dict[int, Any] = getattr(library, table_name)
        wanted = args.get("ids") or args.get(legacy_ids_arg or "ids") or []
        if wanted:
            rows = [table.get(parse_id(i)) for i in wanted]
            found = [r for r in rows if r is not None]
            return {"count": len(found), list_field: found}
        with library.lock:
            rows = list(table.values())
        page: Page = find_named(rows, args.get(filter_arg), args.get("filter"), NAMED_SORTS)
        return {"count": page.count, list_field: _present(table, page.ids)}

    return resolve


def configuration(_: None, info: GraphQLResolveInfo) -> dict[str, Any]:
    state = _ctx(info).state
    api_key = state.api_key
    return {
        "general": {
            "databasePath": f"{CONFIG_DIR}/stash-go.sqlite",
            "generatedPath": f"{CONFIG_DIR}/generated",
            "configFilePath": f"{CONFIG_DIR}/config.yml",
            "pluginsPath": f"{CONFIG_DIR}/plugins",
            "apiKey": api_key or "",
            "username": "admin" if state.login else "",
            "maxSessionAge": 3600,
            "pythonPath": "",
        },
        "ui": {},
    }


def config_plugins(_: Any, info: GraphQLResolveInfo, include: list[str] | None = None) -> dict[str, Any]:
    """Stash returns every stored plugin config, or the included ones that are non-empty."""
    library = _lib(info)
    with library.lock:
        stored = {plugin: dict(settings) for plugin, settings in library.plugin_settings.items()}
    if not include:
        return stored
    return {plugin: stored[plugin] for plugin in include if stored.get(plugin)}


def system_status(_: None, info: GraphQLResolveInfo) -> dict[str, Any]:
    return {
        "databaseSchema": 75,
        "databasePath": f"{CONFIG_DIR}/stash-go.sqlite",
        "configPath": f"{CONFIG_DIR}/config.yml",
        "appSchema": 75,
        "status": "OK",
        "os": "windows" if _lib(info).windows else "linux",
        "workingDir": "/root",
        "homeDir": "/root",
    }


# -- object fields -------------------------------------------------------------
def scene_paths(scene: Scene, info: GraphQLResolveInfo) -> dict[str, str]:
    base = f"{_ctx(info).base_url}/scene/{scene.id}"
    api_key = _ctx(info).state.api_key
    return {
        "screenshot": f"{base}/screenshot?t={scene.updated_unix}",
        "preview": f"{base}/preview",
        "stream": f"{base}/stream" + (f"?apikey={quote(api_key)}" if api_key else ""),
        "webp": f"{base}/webp",
    }


def scene_tags(scene: Scene, info: GraphQLResolveInfo) -> list[Tag]:
    return sorted(_present(_lib(info).tags, scene.tag_ids), key=lambda t: t.name)


def scene_groups(scene: Scene, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    groups = _lib(info).groups
    return [{"group": groups[g], "scene_index": index} for g, index in scene.groups if g in groups]


def _image_path(kind: str, record: Studio | Performer, info: GraphQLResolveInfo) -> str:
    path = f"{_ctx(info).base_url}/{kind}/{record.id}/image?t={record.updated_unix}"
    return path if record.image is not None else path + "&default=true"


def _scenes_where(info: GraphQLResolveInfo, test: Callable[[Scene], bool]) -> list[Scene]:
    library = _lib(info)
    with library.lock:
        scenes = list(library.scenes.values())
    return [s for s in scenes if test(s)]


def studio_scene_count(studio: Studio, info: GraphQLResolveInfo, depth: int | None = None) -> int:
    studios = _lib(info).studio_descendants([studio.id], depth)
    return len(_scenes_where(info, lambda s: s.studio_id in studios))


def _children(studio: Studio, info: GraphQLResolveInfo) -> list[Studio]:
    library = _lib(info)
    with library.lock:
        return [s for s in library.studios.values() if s.parent_id == studio.id]


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "findScene": find_scene,
        "findScenes": find_scenes,
        "findPerformer": _find_one("performers"),
        "findPerformers": _find_many("performers", "performer_filter", "performers", "performer_ids"),
        "findStudio": _find_one("studios"),
        "findStudios": _find_many("studios", "studio_filter", "studios"),
        "findGroup": _find_one("groups"),
        "findGroups": _find_many("groups", "group_filter", "groups"),
        "findTag": _find_one("tags"),
        "findTags": _find_many("tags", "tag_filter", "tags"),
        "configuration": configuration,
        "systemStatus": system_status,
        "version": const(STASH_VERSION),
    },
    "ConfigResult": {"plugins": config_plugins},
    "Scene": {
        "paths": scene_paths,
        "studio": lambda s, info: None if s.studio_id is None else _lib(info).studios.get(s.studio_id),
        "groups": scene_groups,
        "tags": scene_tags,
        "performers": lambda s, info: _present(_lib(info).performers, s.performer_ids),
    },
    "VideoFile": {
        "parent_folder": lambda f, info: _lib(info).folders[f.folder_id],
        "fingerprint": lambda f, info, type: f.oshash if type == "oshash" else None,
        "fingerprints": lambda f, info: [{"type": "oshash", "value": f.oshash}],
        "updated_at": lambda f, info: f.created_at,
    },
    "Folder": {
        "parent_folder": lambda d, info: None if d.parent_id is None else _lib(info).folders.get(d.parent_id),
        "mod_time": lambda d, info: d.created_at,
        "updated_at": lambda d, info: d.created_at,
    },
    "Studio": {
        "urls": const([]),
        "parent_studio": lambda s, info: None if s.parent_id is None else _lib(info).studios.get(s.parent_id),
        "child_studios": _children,
        "aliases": const([]),
        "tags": const([]),
        "ignore_auto_tag": const(False),
        "image_path": lambda s, info: _image_path("studio", s, info),
        "scene_count": studio_scene_count,
        "stash_ids": const([]),
        "rating100": const(None),
        "favorite": const(False),
        "details": const(""),
    },
    "Performer": {
        "disambiguation": const(""),
        "urls": const([]),
        "birthdate": const(None),
        "country": const(""),
        "alias_list": const([]),
        "favorite": const(False),
        "tags": const([]),
        "ignore_auto_tag": const(False),
        "image_path": lambda p, info: _image_path("performer", p, info),
        "scene_count": lambda p, info: len(_scenes_where(info, lambda s: p.id in s.performer_ids)),
        "stash_ids": const([]),
        "rating100": const(None),
        "details": const(""),
    },
    "Tag": {
        "sort_name": const(""),
        "description": const(""),
        "aliases": const([]),
        "ignore_auto_tag": const(False),
        "favorite": const(False),
        "stash_ids": const([]),
        "scene_count": lambda t, info, depth=None: len(_scenes_where(info, lambda s: t.id in s.tag_ids)),
        "parents": const([]),
        "children": const([]),
        "parent_count": const(0),
        "child_count": const(0),
    },
    "Group": {
        "aliases": const(""),
        "duration": const(None),
        "date": const(None),
        "rating100": const(None),
        "studio": const(None),
        "director": const(""),
        "synopsis": const(""),
        "urls": const([]),
        "tags": const([]),
        "scene_count": lambda g, info, depth=None: len(_scenes_where(info, lambda s: _in_group(g, s))),
        "scenes": lambda g, info: _scenes_where(info, lambda s: _in_group(g, s)),
    },
}


def _in_group(group: Group, scene: Scene) -> bool:
    return any(g == group.id for g, _ in scene.groups)


# -- mutations -------------------------------------------------------------------
def decode_image(value: str) -> bytes:
    """Stash's ProcessImageInput: a base64 data URL, or else a URL it downloads."""
    match = re.match(r"^data:.+/(.+);base64,(.*)$", value, re.DOTALL)
    if match:
        try:
            return base64.b64decode(match.group(2), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"illegal base64 data: {exc}") from None
    if not value.startswith(("http://", "https://")):
        raise ValueError(f'Get "{value}": unsupported protocol scheme')
    with urllib.request.urlopen(value, timeout=30) as response:
        return response.read()


def _scene_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """SceneCreateInput/SceneUpdateInput -> Library keyword arguments."""
    fields: dict[str, Any] = {}
    for name in ("title", "code", "details", "director", "urls", "date", "rating100", "organized"):
        if name in given:
            fields[name] = given[name]
    if "studio_id" in given:
        fields["studio_id"] = None if given["studio_id"] is None else parse_id(given["studio_id"])
    for name in ("tag_ids", "performer_ids"):
        if name in given:
            fields[name] = [parse_id(i) for i in given[name] or ()]
    if "groups" in given:
        fields["groups"] = [(parse_id(g["group_id"]), g.get("scene_index")) for g in given["groups"] or ()]
    if "stash_ids" in given:
        fields["stash_ids"] = list(given["stash_ids"] or ())
    return fields


def _cover(given: Mapping[str, Any]) -> bytes | None:
    value = given.get("cover_image")
    return decode_image(value) if value else None


def scene_update(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Scene | None:
    library = _lib(info)
    scene_id = parse_id(input["id"])
    if scene_id not in library.scenes:
        raise ValueError(f"scene with id {scene_id} not found")
    library.update_scene(scene_id, cover=_cover(input), **_scene_fields(input))
    _ctx(info).state.run_hook(hooks.SCENE_UPDATE_POST, scene_id, hooks.update_input(input), list(input))
    return library.scenes.get(scene_id)


def scene_create(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Scene | None:
    library = _lib(info)
    # no file, so no scan and no screenshot: the placeholder until a cover is given
    scene_id = library.add_scene(files=(), cover=_cover(input), screenshot=False, **_scene_fields(input))
    _ctx(info).state.run_hook(hooks.SCENE_CREATE_POST, scene_id, None, None)
    return library.scenes.get(scene_id)


def scene_destroy(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> bool:
    scene = _lib(info).destroy_scene(parse_id(input["id"]))
    _ctx(info).state.run_hook(hooks.SCENE_DESTROY_POST, scene.id, hooks.destroy_input(input, scene), None)
    return True


RESOLVERS["Mutation"] = {"sceneUpdate": scene_update, "sceneCreate": scene_create, "sceneDestroy": scene_destroy}


# -- mutations of studios, performers, tags, groups ----------------------------------
def _name(given: Mapping[str, Any]) -> dict[str, Any]:
    """Stash trims names; a null name leaves it as it is (the column is NOT NULL)."""
    return {"name": given["name"].strip()} if isinstance(given.get("name"), str) else {}


def _image(given: Mapping[str, Any]) -> dict[str, Any]:
    if "image" not in given:
        return {}
    return {"image": decode_image(given["image"]) if given["image"] else None}


def performer_update(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Performer | None:
    library = _lib(info)
    performer_id = parse_id(input["id"])
    fields = {**_name(input), **_image(input)}
    if "gender" in input:
        fields["gender"] = input["gender"]
    library.update_performer(performer_id, **fields)
    _fire_update(info, "performer", hooks.PERFORMER_UPDATE_POST, performer_id, input)
    return library.performers.get(performer_id)


def studio_update(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Studio | None:
    library = _lib(info)
    studio_id = parse_id(input["id"])
    fields = {**_name(input), **_image(input)}
    if "parent_id" in input:
        fields["parent_id"] = None if input["parent_id"] is None else parse_id(input["parent_id"])
    library.update_studio(studio_id, **fields)
    _fire_update(info, "studio", hooks.STUDIO_UPDATE_POST, studio_id, input)
    return library.studios.get(studio_id)


def tag_update(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Tag | None:
    library = _lib(info)
    tag_id = parse_id(input["id"])
    library.update_tag(tag_id, **_name(input))
    _fire_update(info, "tag", hooks.TAG_UPDATE_POST, tag_id, input)
    return library.tags.get(tag_id)


def group_update(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Group | None:
    library = _lib(info)
    group_id = parse_id(input["id"])
    library.update_group(group_id, **_name(input))
    _fire_update(info, "group", hooks.GROUP_UPDATE_POST, group_id, input)
    _fire_update(info, "group", hooks.MOVIE_UPDATE_POST, group_id, input)
    return library.groups.get(group_id)


def _fire_update(info: GraphQLResolveInfo, kind: str, hook_type: str, object_id: int, given: dict[str, Any]) -> None:
    _ctx(info).state.run_hook(hook_type, object_id, hooks.object_update_input(kind, given), list(given))


#: kind -> (Library destroy method, Destroy.Post hooks it fires)
_DESTROYS = {
    "performer": ("destroy_performer", (hooks.PERFORMER_DESTROY_POST,)),
    "studio": ("destroy_studio", (hooks.STUDIO_DESTROY_POST,)),
    "tag": ("destroy_tag", (hooks.TAG_DESTROY_POST,)),
    "group": ("destroy_group", (hooks.GROUP_DESTROY_POST, hooks.MOVIE_DESTROY_POST)),
}


def _destroy_one(kind: str) -> Resolver:
    method, hook_types = _DESTROYS[kind]

    def resolve(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> bool:
        object_id = parse_id(input["id"])
        getattr(_lib(info), method)(object_id)
        for hook_type in hook_types:
            _ctx(info).state.run_hook(hook_type, object_id, dict(input), None)
        return True

    return resolve


def _destroy_many(kind: str) -> Resolver:
    """``performersDestroy(ids)`` and friends: one hook per object, whose input is the id list itself."""
    method, hook_types = _DESTROYS[kind]

    def resolve(_: None, info: GraphQLResolveInfo, ids: list[str]) -> bool:
        object_ids = [parse_id(i) for i in ids]
        for object_id in object_ids:
            getattr(_lib(info), method)(object_id)
        for object_id in object_ids:
            for hook_type in hook_types:
                _ctx(info).state.run_hook(hook_type, object_id, list(ids), None)
        return True

    return resolve


def tags_merge(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Tag | None:
    source = [parse_id(i) for i in input["source"]]
    destination = parse_id(input["destination"])
    if not source:
        return None  # Stash: nothing merged, no hook
    tag = _lib(info).merge_tags(source, destination)
    merge_input = {"source": list(input["source"]), "destination": input["destination"]}
    _ctx(info).state.run_hook(hooks.TAG_MERGE_POST, tag.id, merge_input, None)
    return tag


def performer_merge(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> Performer:
    """Fires no hook in real Stash: only a reconcile can notice it."""
    library = _lib(info)
    destination = parse_id(input["destination"])
    values = input.get("values") or {}
    if values:
        library.update_performer(destination, **_name(values))
    return library.merge_performers(_unique_ids(input["source"]), destination)


def _unique_ids(ids: Iterable[str]) -> list[int]:
    return list(dict.fromkeys(parse_id(i) for i in ids))


RESOLVERS["Mutation"].update(
    {
        "performerUpdate": performer_update,
        "performerDestroy": _destroy_one("performer"),
        "performersDestroy": _destroy_many("performer"),
        "performerMerge": performer_merge,
        "studioUpdate": studio_update,
        "studioDestroy": _destroy_one("studio"),
        "studiosDestroy": _destroy_many("studio"),
        "groupUpdate": group_update,
        "groupDestroy": _destroy_one("group"),
        "tagUpdate": tag_update,
        "tagDestroy": _destroy_one("tag"),
        "tagsDestroy": _destroy_many("tag"),
        "tagsMerge": tags_merge,
    }
)


# -- plugin settings -----------------------------------------------------------------
def _go_type(value: Any) -> str:
    """How gqlgen's UnmarshalMap names a decoded JSON value that is not a map."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "json.Number"
    if isinstance(value, list):
        return "[]interface {}"
    return "string" if isinstance(value, str) else "<nil>"


def configure_plugin(_: None, info: GraphQLResolveInfo, plugin_id: str, input: Any) -> dict[str, Any]:
    """Stash's ConfigurePlugin: the input *replaces* the plugin's stored settings
    (keys left out are gone, not kept), for any id, known plugin or not, and the
    answer is the configuration as stored. No hook fires for it."""
    if not isinstance(input, dict):
        raise ValueError(f"{_go_type(input)} is not a map")
    library = _lib(info)
    library.set_plugin_settings(plugin_id, input)
    with library.lock:
        return dict(library.plugin_settings[plugin_id])


RESOLVERS["Mutation"]["configurePlugin"] = configure_plugin


# -- play activity -------------------------------------------------------------------
def parse_timestamp(value: str) -> datetime:
    """Stash's Timestamp input: RFC3339 (``<4h``/``>5m`` relative forms: now -/+ a duration)."""
    text = str(value)
    if text[:1] in ("<", ">"):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(h|m|s)", text[1:])
        if match is None:
            raise ValueError(f"invalid timestamp: cannot parse {text[0]}-duration: {text[1:]!r}")
        seconds = float(match.group(1)) * {"h": 3600, "m": 60, "s": 1}[match.group(2)]
        return datetime.now(UTC) + timedelta(seconds=seconds if text[0] == ">" else -seconds)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid timestamp: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def scene_add_play(_: None, info: GraphQLResolveInfo, id: str, times: list[str] | None = None) -> dict[str, Any]:
    """Stash's AddViews: no hook fires; the answer is the scene's whole play history."""
    moments = [parse_timestamp(t) for t in times or ()]
    scene = _lib(info).add_plays(parse_id(id), moments)
    _activity_saved(info, "sceneAddPlay", scene.id)
    return {"count": scene.play_count, "history": list(scene.play_history)}


def scene_save_activity(
    _: None, info: GraphQLResolveInfo, id: str, resume_time: float | None = None, playDuration: float | None = None
) -> bool:
    scene = _lib(info).save_activity(parse_id(id), resume_time, playDuration)
    _activity_saved(info, "sceneSaveActivity", scene.id)
    return True


def _activity_saved(info: GraphQLResolveInfo, mutation: str, scene_id: int) -> None:
    saved = getattr(_ctx(info).state, "activity_saved", None)
    if saved is not None:
        saved(mutation, scene_id)


RESOLVERS["Mutation"]["sceneAddPlay"] = scene_add_play
RESOLVERS["Mutation"]["sceneSaveActivity"] = scene_save_activity


# -- plugins: the UI's list, and its operations --------------------------------------
def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def plugin_paths(plugin_id: str, ui: Mapping[str, Any], base_url: str) -> dict[str, list[str] | None]:
    """``pluginURLBuilder`` (internal/api/resolver_model_plugin.go): external URLs as
    given, then the one URL serving every local file concatenated; None when neither."""
    paths: dict[str, list[str] | None] = {}
    for kind in ("javascript", "css"):
        entries = list(ui.get(kind) or ())
        served = [f"{base_url}/plugin/{plugin_id}/{kind}"]
        paths[kind] = [e for e in entries if _is_url(e)] + served if entries else None
    return paths


def plugins(_: None, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """The loaded plugins (those a plugin host attached), as the UI's plugin loader reads them."""
    ctx = _ctx(info)
    found = []
    for host in list(getattr(ctx.state, "plugins", {}).values()):
        manifest = host.manifest
        found.append(
            {
                "id": manifest.id,
                "name": manifest.name or manifest.id,
                "description": manifest.description,
                "url": manifest.url,
                "version": manifest.version,
                "enabled": True,
                "requires": list(manifest.ui.get("requires") or ()),
                "paths": plugin_paths(manifest.id, manifest.ui, ctx.base_url),
            }
        )
    return found


def run_plugin_operation(_: None, info: GraphQLResolveInfo, plugin_id: str, args: Any = None) -> Any:
    """``RunPlugin`` (pkg/plugin/plugins.go): the plugin runs once, synchronously,
    with ``args`` as given; its ``error`` becomes this field's error, else its
    ``output`` is the answer (stdout that is not JSON: the raw text)."""
    host = getattr(_ctx(info).state, "plugins", {}).get(plugin_id)
    if host is None:
        raise ValueError(f"plugin {plugin_id} not found")
    if args is not None and not isinstance(args, dict):
        raise ValueError(f"{_go_type(args)} is not a map")
    invocation = host.run_operation(args or {})
    if invocation.error is not None:
        raise RuntimeError(invocation.error)
    return invocation.output if invocation.raw_output is None else invocation.raw_output


RESOLVERS["Query"]["plugins"] = plugins
RESOLVERS["Mutation"]["runPluginOperation"] = run_plugin_operation

#: Every field of a scene, as ``StashEmulator.scene`` returns it.
FULL_SCENE_SELECTION = """
  id title code details director urls date rating100 organized created_at updated_at
  play_count play_history last_played_at resume_time play_duration
  files { id path basename size duration width height format video_codec audio_codec frame_rate bit_rate
          mod_time created_at updated_at fingerprints { type value } parent_folder { id path } }
  paths { screenshot preview stream webp }
  studio { id name image_path parent_studio { id name image_path } }
  groups { group { id name } scene_index }
  tags { id name }
  performers { id name gender image_path }
  stash_ids { endpoint stash_id updated_at }
"""


def _failable(name: str, resolve: Resolver) -> Resolver:
    """A root field that raises the request's :class:`Failure` before doing anything.

    Stash runs each root field in its own database transaction, so a locked
    database fails that field: gqlgen reports it in ``errors`` with its path,
    nulls the field (or ``data`` itself when the field is non-null), and the
    other root fields of the request still resolve.
    """

    def resolver(obj: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        failure = getattr(info.context, "failure", None)
        if failure is not None and (not failure.fields or name in failure.fields):
            failure.fired.append(name)
            raise RuntimeError(failure.message)
        return resolve(obj, info, **args)

    return resolver


def build() -> GraphQLSchema:
    """The schema from schema.graphql with the resolvers attached."""
    schema = build_schema(SCHEMA_PATH.read_text())
    for type_name, resolvers in RESOLVERS.items():
        fields = schema.type_map[type_name].fields  # type: ignore[union-attr]
        for field_name, resolver in resolvers.items():
            fields[field_name].resolve = resolver
    for root in (schema.query_type, schema.mutation_type):
        for field_name, root_field in (root.fields if root else {}).items():
            root_field.resolve = _failable(field_name, root_field.resolve or default_field_resolver)
    return schema


__all__ = ["FULL_SCENE_SELECTION", "SCHEMA_PATH", "Context", "Failure", "StashState", "build", "parse_id"]
