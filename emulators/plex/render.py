"""Turns library state into the MediaContainer documents Plex answers with.

Documents are first built as a small tree of :class:`Node` so that one
builder serves both encodings: XML (what plexapi gets, as it sends no Accept
header) and JSON (``Accept: application/json``). Serialisation is hand-written
because a page of 2,000 items must be cheap to produce.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .model import (
    CLIP,
    EPISODE,
    MOVIE,
    PHOTO,
    SEASON,
    SECTION_TYPES,
    SHOW,
    TAG_TYPES,
    TRACK,
    TYPE_NAMES,
    Item,
    Library,
    Section,
    art_url,
    thumb_url,
)

IDENTIFIER = "com.plexapp.plugins.library"
MEDIA_TAG_PREFIX = "/system/bundle/media/flags/"
MEDIA_TAG_VERSION = "1740563386"

#: The element of each playable item type; folders (shows, seasons, artists, albums) are ``<Directory>``.
MEDIA_ELEMENTS = {MOVIE: "Video", EPISODE: "Video", CLIP: "Video", TRACK: "Track", PHOTO: "Photo"}

#: XML element of each edit-language tag type (actors are ``<Role>``).
TAG_ELEMENTS = {
    "genre": "Genre",
    "collection": "Collection",
    "label": "Label",
    "country": "Country",
    "director": "Director",
    "writer": "Writer",
    "actor": "Role",
}
#: How many tags of each type a section listing carries; details carry all.
LISTING_TAG_LIMITS = {
    "genre": 2,
    "collection": 2,
    "label": 2,
    "country": 2,
    "director": 2,
    "writer": 2,
    "actor": 3,
}

Value = str | int | float | bool | None


@dataclass(slots=True)
class Node:
    tag: str
    attrs: dict[str, Value]
    children: list[Node] = field(default_factory=list)
    json_key: str | None = None  # the JSON array this element goes in (default: its tag)


# -- encodings ----------------------------------------------------------------
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)


def _xml_value(value: Value) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    return str(value)


def _write_xml(node: Node, out: list[str]) -> None:
    out.append("<" + node.tag)
    for name, value in node.attrs.items():
        if value is not None:
            out.append(f' {name}="{_xml_value(value)}"')
    if not node.children:
        out.append(" />\n")
        return
    out.append(">\n")
    for child in node.children:
        _write_xml(child, out)
    out.append(f"</{node.tag}>\n")


def to_xml(node: Node) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _write_xml(node, out)
    return "".join(out).encode("utf-8")


def _json_object(node: Node) -> dict[str, object]:
    obj: dict[str, object] = {k: v for k, v in node.attrs.items() if v is not None}
    for child in node.children:
        obj.setdefault(child.json_key or child.tag, []).append(_json_object(child))  # type: ignore[union-attr]
    return obj


def to_json(node: Node) -> bytes:
    return json.dumps({node.tag: _json_object(node)}, ensure_ascii=False).encode("utf-8")


# -- server documents ---------------------------------------------------------
def server_info(library: Library, friendly_name: str) -> Node:
    attrs: dict[str, Value] = {
        "size": 3,
        "allowCameraUpload": False,
        "allowChannelAccess": True,
        "allowMediaDeletion": True,
        "allowSharing": True,
        "allowSync": True,
        "backgroundProcessing": True,
        "certificate": False,
        "companionProxy": True,
        "eventStream": True,
        "friendlyName": friendly_name,
        "hubSearch": True,
        "machineIdentifier": library.machine_identifier,
        "multiuser": True,
        "myPlex": False,
        "myPlexSigninState": "none",
        "platform": "Linux",
        "platformVersion": "6.1.0",
        "pluginHost": True,
        "readOnlyLibraries": False,
        "transcoderActiveVideoSessions": 0,
        "updatedAt": max((s.updated_at for s in library.sections.values()), default=None),
        "version": library.version,
    }
    children = [
        Node("Directory", {"count": 1, "key": "library", "title": "library"}),
        Node("Directory", {"count": 1, "key": "status", "title": "status"}),
        Node("Directory", {"count": 1, "key": "system", "title": "system"}),
    ]
    return Node("MediaContainer", attrs, children)


def identity(library: Library) -> Node:
    return Node(
        "MediaContainer",
        {"size": 0, "claimed": True, "machineIdentifier": library.machine_identifier, "version": library.version},
    )


def library_root() -> Node:
    children = [
        Node("Directory", {"key": "sections", "title": "Library Sections"}),
        Node("Directory", {"key": "recentlyAdded", "title": "Recently Added Content"}),
        Node("Directory", {"key": "onDeck", "title": "On Deck Content"}),
    ]
    attrs: dict[str, Value] = {
        "size": len(children),
        "allowSync": False,
        "art": "/:/resources/library-art.png",
        "content": "",
        "identifier": IDENTIFIER,
        "mediaTagPrefix": MEDIA_TAG_PREFIX,
        "mediaTagVersion": MEDIA_TAG_VERSION,
        "title1": "Plex Library",
        "title2": "",
    }
    return Node("MediaContainer", attrs, children)


def section_directory(section: Section) -> Node:
    attrs: dict[str, Value] = {
        "allowSync": True,
        "art": f"/:/resources/{section.kind}-fanart.jpg",
        "composite": f"/library/sections/{section.key}/composite/{section.updated_at}",
        "filters": True,
        "refreshing": section.pending_scans > 0,
        "thumb": f"/:/resources/{section.kind}.png",
        "key": str(section.key),
        "type": section.kind,
        "title": section.title,
        "agent": section.agent,
        "scanner": section.scanner,
        "language": "en-US",
        "uuid": section.uuid,
        "updatedAt": section.updated_at,
        "createdAt": section.created_at,
        "scannedAt": section.scanned_at,
        "content": True,
        "directory": True,
        "contentChangedAt": section.updated_at,
        "hidden": 0,
    }
    locations = [Node("Location", {"id": i, "path": p}) for i, p in enumerate(section.locations, 1)]
    return Node("Directory", attrs, locations)


def sections(library: Library) -> Node:
    children = [section_directory(s) for s in library.sections.values()]
    return Node(
        "MediaContainer",
        {"size": len(children), "allowSync": False, "title1": "Plex Library"},
        children,
    )


def section_views(section: Section) -> Node:
    """``/library/sections/{id}``: the section's browse directories, as Plex lists them."""
    views = [("all", "All"), ("unwatched", "Unwatched"), ("newest", "Recently Released")]
    views += [("recentlyAdded", "Recently Added"), ("collection", "By Collection"), ("genre", "By Genre")]
    attrs: dict[str, Value] = {
        "size": len(views),
        "allowSync": False,
        "art": f"/:/resources/{section.kind}-fanart.jpg",
        "content": "secondary",
        "identifier": IDENTIFIER,
        "librarySectionID": section.key,
        "mediaTagPrefix": MEDIA_TAG_PREFIX,
        "mediaTagVersion": MEDIA_TAG_VERSION,
        "title1": section.title,
        "viewGroup": "secondary",
        "viewMode": 65592,
    }
    return Node("MediaContainer", attrs, [Node("Directory", {"key": k, "title": t}) for k, t in views])


# -- metadata -------------------------------------------------------------------
def _section_attrs(section: Section) -> dict[str, Value]:
    return {
        "librarySectionID": section.key,
        "librarySectionKey": f"/library/sections/{section.key}",
        "librarySectionTitle": section.title,
    }


def _tags(item: Item, detail: bool) -> list[Node]:
    nodes = []
    for kind in TAG_TYPES:
        tags = item.tags.get(kind)
        if not tags:
            continue
        if not detail:
            tags = tags[: LISTING_TAG_LIMITS[kind]]
        element = TAG_ELEMENTS[kind]
        for tag in tags:
            attrs: dict[str, Value] = {"id": tag.id, "filter": f"{kind}={tag.id}", "tag": tag.tag}
            if kind == "actor":
                attrs["tagKey"] = f"{tag.id:024x}"
                attrs["role"] = tag.text
                attrs["thumb"] = tag.thumb
            nodes.append(Node(element, attrs))
    return nodes


def _media(item: Item) -> list[Node]:
    nodes = []
    for media in item.media:
        parts = []
        for part in media.parts:
            extension = part.file.rpartition(".")[2].lower() if "." in part.file else ""
            parts.append(
                Node(
                    "Part",
                    {
                        "id": part.id,
                        "key": f"/library/parts/{part.id}/{item.added_at}/file.{extension or 'bin'}",
                        "duration": part.duration,
                        "file": part.file,
                        "size": part.size,
                        "container": extension or None,
                    },
                )
            )
        container = parts[0].attrs["container"] if parts else None
        attrs: dict[str, Value] = {
            "id": media.id,
            "duration": media.duration,
            "bitrate": 1500,
            "width": 1920,
            "height": 1080,
            "aspectRatio": 1.78,
            "audioChannels": 2,
            "audioCodec": "aac",
            "videoCodec": "h264",
            "videoResolution": "1080",
            "container": container,
            "videoFrameRate": "24p",
        }
        nodes.append(Node("Media", attrs, parts))
    return nodes


def metadata(library: Library, item: Item, detail: bool) -> Node:
    """One item as a listing (truncated tags, no locks) or a detail (everything) shows it."""
    section = library.sections[item.section_id]
    rk = item.rating_key
    attrs: dict[str, Value] = {"ratingKey": str(rk), "key": f"/library/metadata/{rk}"}
    if item.type in (SHOW, SEASON):
        attrs["key"] = f"/library/metadata/{rk}/children"
    attrs["guid"] = item.guid_text
    attrs["type"] = TYPE_NAMES[item.type]
    attrs["title"] = item.title
    if detail:
        attrs.update(_section_attrs(section))
    show = library.show_of(item) if item.type in (SEASON, EPISODE) else None
    if item.type == EPISODE and item.parent_key is not None:
        season = library.items[item.parent_key]
        attrs["grandparentRatingKey"] = str(show.rating_key) if show else None
        attrs["grandparentKey"] = f"/library/metadata/{show.rating_key}" if show else None
        attrs["grandparentTitle"] = show.title if show else None
        attrs["grandparentThumb"] = thumb_url(show) if show else None
        attrs["parentRatingKey"] = str(season.rating_key)
        attrs["parentKey"] = f"/library/metadata/{season.rating_key}"
        attrs["parentTitle"] = season.title
        attrs["parentThumb"] = thumb_url(season)
        attrs["parentIndex"] = season.index
    elif item.type == SEASON and show is not None:
        attrs["parentRatingKey"] = str(show.rating_key)
        attrs["parentKey"] = f"/library/metadata/{show.rating_key}"
        attrs["parentTitle"] = show.title
        attrs["parentThumb"] = thumb_url(show)
    attrs["titleSort"] = item.title_sort or None
    attrs["originalTitle"] = item.original_title or None
    attrs["studio"] = item.studio or None
    attrs["contentRating"] = item.content_rating or None
    attrs["summary"] = item.summary
    attrs["tagline"] = (item.tagline or None) if detail else None
    attrs["index"] = item.index
    attrs["userRating"] = item.user_rating
    attrs["lastRatedAt"] = item.last_rated_at if item.user_rating is not None else None
    # The account's view state: Plex leaves each attribute out while it is unset or 0.
    attrs["viewCount"] = item.view_count or None
    attrs["viewOffset"] = item.view_offset or None
    attrs["lastViewedAt"] = item.last_viewed_at
    attrs["year"] = item.year
    attrs["thumb"] = thumb_url(item)
    attrs["art"] = art_url(item)
    if item.media:
        attrs["duration"] = sum(m.duration for m in item.media)
    attrs["originallyAvailableAt"] = item.originally_available_at
    if item.type == SHOW:
        attrs["childCount"] = len(item.children)
        attrs["leafCount"] = len(library.leaves(item))
        attrs["viewedLeafCount"] = 0
    elif item.type == SEASON:
        attrs["leafCount"] = len(item.children)
        attrs["viewedLeafCount"] = 0
    attrs["addedAt"] = item.added_at
    attrs["updatedAt"] = item.updated_at
    children = _media(item)
    children += _tags(item, detail)
    if detail:
        children += [Node("Field", {"locked": True, "name": name}) for name in sorted(item.locked)]
    tag = MEDIA_ELEMENTS.get(item.type, "Directory")
    return Node(tag, attrs, children, json_key="Metadata")


def metadata_container(library: Library, items: list[Item]) -> Node:
    """``/library/metadata/{ids}``: details, with section attributes when all share one."""
    attrs: dict[str, Value] = {
        "size": len(items),
        "allowSync": True,
        "identifier": IDENTIFIER,
        "mediaTagPrefix": MEDIA_TAG_PREFIX,
        "mediaTagVersion": MEDIA_TAG_VERSION,
    }
    section_ids = {item.section_id for item in items}
    if len(section_ids) == 1:
        section = library.sections[section_ids.pop()]
        attrs.update(_section_attrs(section))
        attrs["librarySectionUUID"] = section.uuid
    return Node("MediaContainer", attrs, [metadata(library, item, detail=True) for item in items])


def page_container(
    library: Library,
    section: Section,
    rating_keys: list[int],
    offset: int,
    total: int,
    title2: str,
    extra: dict[str, Value] | None = None,
) -> Node:
    """One page of a listing: ``size`` items from ``offset`` of ``total`` (plexapi pages on totalSize)."""
    attrs: dict[str, Value] = {
        "size": len(rating_keys),
        "totalSize": total,
        "offset": offset,
        "allowSync": True,
        "art": f"/:/resources/{section.kind}-fanart.jpg",
        "identifier": IDENTIFIER,
        "librarySectionID": section.key,
        "librarySectionTitle": section.title,
        "librarySectionUUID": section.uuid,
        "mediaTagPrefix": MEDIA_TAG_PREFIX,
        "mediaTagVersion": MEDIA_TAG_VERSION,
        "title1": section.title,
        "title2": title2,
        "viewGroup": TYPE_NAMES.get(
            library.items[rating_keys[0]].type if rating_keys else section.main_type, section.kind
        ),
    }
    extra = dict(extra or {})
    meta_node = extra.pop("_meta", None)
    attrs.update(extra)
    children = [metadata(library, library.items[rk], detail=False) for rk in rating_keys]
    if isinstance(meta_node, Node):
        children.insert(0, meta_node)
    return Node("MediaContainer", attrs, children)


def recently_added(library: Library, rating_keys: list[int], offset: int, total: int) -> Node:
    """``/library/recentlyAdded``: items of every section, each with its section attributes."""
    attrs: dict[str, Value] = {
        "size": len(rating_keys),
        "totalSize": total,
        "offset": offset,
        "allowSync": False,
        "identifier": IDENTIFIER,
        "mediaTagPrefix": MEDIA_TAG_PREFIX,
        "mediaTagVersion": MEDIA_TAG_VERSION,
        "mixedParents": True,
        "title1": "Recently Added",
    }
    children = []
    for rk in rating_keys:
        item = library.items[rk]
        node = metadata(library, item, detail=False)
        node.attrs.update(_section_attrs(library.sections[item.section_id]))
        children.append(node)
    return Node("MediaContainer", attrs, children)


#: Sort fields listed in ``includeMeta=1`` (plexapi validates ``sort=`` against them).
_META_SORTS = (
    ("titleSort", "asc", "Title"),
    ("addedAt", "desc", "Date Added"),
    ("originallyAvailableAt", "desc", "Release Date"),
)


def meta(section: Section, collections: bool = False) -> Node:
    """The ``<Meta>`` of ``includeMeta=1``: one ``<Type>`` per item type with its ``<Sort>`` fields."""
    type_ids = (18,) if collections else SECTION_TYPES[section.kind]
    types = []
    for n, type_id in enumerate(type_ids):
        name = "collection" if collections else TYPE_NAMES[type_id]
        sorts = [
            Node("Sort", {"defaultDirection": d, "descKey": f"{k}:desc", "key": k, "title": t})
            for k, d, t in _META_SORTS
        ]
        attrs: dict[str, Value] = {
            "key": f"/library/sections/{section.key}/all?type={type_id}",
            "type": name,
            "title": name.capitalize() + "s",
            "active": n == 0,
        }
        types.append(Node("Type", attrs, sorts))
    return Node("Meta", {}, types)
