"""The watch history: ``/status/sessions/history/all`` as Plex answers it.

Kept apart from the server's other routes because the history has rules of
its own (what filters and sorts it takes, how an entry of a deleted item
looks). The server handler only decodes the request and pages the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .model import TYPE_NAMES, HistoryEntry, Library, thumb_url
from .render import MEDIA_ELEMENTS, Node, Value

#: Fields the history filters on (``viewedAt>=`` is what plexapi's ``mindate`` sends).
FILTERS: dict[str, Callable[[HistoryEntry], Any]] = {
    "viewedAt": lambda entry: entry.viewed_at,
    "accountID": lambda entry: entry.account_id,
    "librarySectionID": lambda entry: entry.section_id,
    "deviceID": lambda entry: entry.device_id,
}
SORTS = ("viewedAt", "accountID", "id")


class BadHistoryQuery(ValueError):
    """The query asks for something the history cannot do (the server answers 400)."""


def select(
    library: Library,
    tests: Iterable[Callable[[HistoryEntry], bool]],
    metadata_item: str | None,
    sort: str | None,
) -> list[HistoryEntry]:
    """The entries that pass every filter, in the order asked for;
    ``metadata_item`` also matches a show's or season's episodes."""
    entries = list(library.history)
    for test in tests:
        entries = [e for e in entries if test(e)]
    if metadata_item:
        if not metadata_item.isdigit():
            raise BadHistoryQuery("metadataItemID must be an id")
        entries = [e for e in entries if _descends(library, e.rating_key, int(metadata_item))]
    entries.sort(key=lambda e: e.id, reverse=True)  # ties in viewedAt: newest row first
    for spec in reversed((sort or "viewedAt:desc").split(",")):
        field, _, direction = spec.strip().partition(":")
        if field not in SORTS or direction not in ("", "asc", "desc"):
            raise BadHistoryQuery(f"cannot sort history by {spec!r}")
        get = (lambda e: e.id) if field == "id" else FILTERS[field]
        entries.sort(key=get, reverse=direction == "desc")
    return entries


def _descends(library: Library, rating_key: int, ancestor: int) -> bool:
    item = library.items.get(rating_key)
    while item is not None:
        if item.rating_key == ancestor:
            return True
        item = library.items.get(item.parent_key) if item.parent_key else None
    return False


def container(library: Library, entries: list[HistoryEntry], offset: int, total: int) -> Node:
    """One element per view, with the attributes the spec lists (historyKey, key,
    ratingKey, librarySectionID, title, type, thumb, originallyAvailableAt, viewedAt,
    accountID, deviceID). The element is the item's: ``<Video>`` for a movie,
    episode or clip, ``<Track>`` for music, ``<Photo>`` (plexapi's ``TrackHistory``,
    ``ClipHistory``...), all in one list and one paging. An entry of an item that
    was deleted keeps its row and type and loses its ``key``, as plexapi's
    ``source()`` expects; its rating key, given to a new item since, shows the new item."""
    children = []
    for entry in entries:
        item = library.items.get(entry.rating_key)
        attrs: dict[str, Value] = {
            "historyKey": f"/status/sessions/history/{entry.id}",
            "key": f"/library/metadata/{entry.rating_key}" if item else None,
            "ratingKey": str(entry.rating_key),
            "librarySectionID": str(entry.section_id),
            "title": item.title if item else None,
            "type": TYPE_NAMES[entry.type],
            "thumb": thumb_url(item) if item else None,
            "originallyAvailableAt": item.originally_available_at if item else None,
            "viewedAt": entry.viewed_at,
            "accountID": entry.account_id,
            "deviceID": entry.device_id,
        }
        children.append(Node(MEDIA_ELEMENTS[entry.type], attrs, json_key="Metadata"))
    attrs = {"size": len(children), "totalSize": total, "offset": offset}
    return Node("MediaContainer", attrs, children)
