"""Writing to Plex: find the items that hold a file, read and edit them, rate
them, upload posters and backgrounds, ask for a scan of a folder.

Items are found through the writer's :class:`~plexsync.plex.index.PlexIndex`
(one per writer, and one writer per process). Edits go out as ONE request per
item in Plex's edit language, built by :mod:`plexsync.sync.mapping`.

Every plexapi failure leaves this module as a :mod:`plexsync.errors` class
with a redacted one-line reason. Whatever is written into Plex is readable by
every user of that Plex server, so a write holding a known secret (the Stash
API key, a session cookie) is refused before it is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import requests
from plexapi import utils as plex_utils
from plexapi.exceptions import BadRequest, NotFound, Unauthorized
from plexapi.server import PlexServer

from plexsync.errors import Permanent, SyncError, Transient, from_requests_error, from_status
from plexsync.matching.matcher import SceneMatch
from plexsync.matching.paths import PathMap
from plexsync.plex.index import PlexIndex, PlexTarget
from plexsync.redact import holds_known_secret
from plexsync.retrying import PLEX, RetryingSession

__all__ = ["CurrentItem", "ItemGone", "PlexTarget", "PlexWriter"]

T = TypeVar("T")


class ItemGone(Transient):
    """The item was deleted or re-added under a new rating key since indexing."""


@dataclass(frozen=True)
class CurrentItem:
    """An item as Plex shows it now: which item it is (guid and ``addedAt``: Plex gives
    a deleted item's rating key to new items), its files, rating and fields with complete tag lists (a
    detail request: listings truncate tag lists), as :func:`plexsync.sync.mapping.seen_in_plex` reads them."""

    identity: str
    fields: dict[str, object]


def _call(action: str, fn: Callable[[], T]) -> T:
    """Run a plexapi call, translating its exceptions (table in plex-facts.md)."""
    try:
        return fn()
    except SyncError:
        raise
    except Unauthorized:
        raise from_status("plex", 401) from None
    except NotFound:
        raise ItemGone(f"Plex has no such item any more ({action})") from None
    except BadRequest as exc:
        status = _status_of(str(exc))
        raise from_status("plex", status or 400, action) from None
    except requests.RequestException as exc:
        raise from_requests_error("plex", exc) from None
    except ParseError:
        raise Transient(f"Plex sent an answer that is not XML ({action})") from None
    except TypeError:
        # plexapi raises TypeError for a status code requests does not know
        raise Transient(f"Plex answered with an unknown HTTP status ({action})") from None


def _status_of(message: str) -> int | None:
    """plexapi's BadRequest messages start with '(status) codename; ...'."""
    if message.startswith("(") and ")" in message:
        code = message[1 : message.index(")")]
        if code.isdigit():
            return int(code)
    return None


#: Tag lists of a detail answer (``<Genre tag=..>``...), by the edit language's tag type.
_TAG_ELEMENTS = {
    "Genre": "genre",
    "Collection": "collection",
    "Label": "label",
    "Director": "director",
    "Role": "actor",
}
_ATTRIBUTES = ("title", "titleSort", "originalTitle", "summary", "studio", "contentRating", "originallyAvailableAt")
#: The library identifier ``/:/rate`` names (plexapi's ``rate()``).
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"


def _refuse_secrets(what: str, values: Iterable[str]) -> None:
    """Stop a write that would store a credential in Plex (the secrets this
    process registered in :mod:`plexsync.redact`: the Stash API key, the Plex token)."""
    for value in values:
        if holds_known_secret(value):
            raise Permanent(f"refusing to write a Stash or Plex credential into Plex ({what})")


class PlexWriter:
    def __init__(self, url: str, token: str, timeout: float, sections: Sequence[str] = ()) -> None:
        self.url = url
        self._server: PlexServer = _call(
            "connect",
            lambda: PlexServer(url, token, session=RetryingSession(PLEX), timeout=timeout),
        )
        self.index = PlexIndex(self._query, sections)
        self._ahead = threading.local()  # one writer serves every worker thread

    @property
    def server_name(self) -> str:
        """What Plex calls itself, for people checking they reached the right server."""
        return f"{self._server.friendlyName}, version {self._server.version}"

    @property
    def friendly_name(self) -> str:
        return self._server.friendlyName

    @property
    def machine_identifier(self) -> str:
        """The server's identity, which stays when its address changes."""
        return self._server.machineIdentifier

    def _query(self, path: str, headers: dict[str, str]) -> Element:
        return _call("list library items", lambda: self._server.query(path, headers=headers))

    def read(self, path: str, headers: dict[str, str] | None = None, action: str = "read") -> Element:
        """A GET of ``path``, with this module's error translation (for readers of Plex state)."""
        return _call(action, lambda: self._server.query(path, headers=headers or {}))

    def match(
        self, files: Iterable[dict], path_map: PathMap, *, fresh_since: float | None = None
    ) -> SceneMatch[PlexTarget]:
        """Where a scene's files are in Plex (see :mod:`plexsync.matching.matcher`)."""
        return self.index.match(files, path_map, fresh_since=fresh_since)

    def find(self, plex_path: str) -> list[PlexTarget]:
        """Items holding ``plex_path`` (exactly, or under its normalised key); [] when none (yet)."""
        return self.match([{"path": plex_path}], PathMap()).targets

    def forget_index(self) -> None:
        """An item vanished: the next lookup lists everything again."""
        self.index.forget()

    def request_scan(self, section_id: int, folder: str) -> None:
        """Ask Plex to scan one folder of a section (``section.update(path=)``)."""
        query = plex_utils.joinArgs({"path": folder})
        _call("folder scan", lambda: self._server.query(f"/library/sections/{section_id}/refresh{query}"))

    def confirm(self, target: PlexTarget) -> CurrentItem:
        """The item as Plex shows it now, once it is sure to be the one the index
        matched: it still holds one of the files the index saw in it. Plex gives
        the rating key of a deleted item to the next new one, so the key alone may
        now name an unrelated movie; then the index is listed again (ItemGone: the
        job's retry matches the scene anew)."""
        current = self._read(target)
        indexed = set(self.index.files_of(target))
        if indexed and not indexed & set(current.fields["files"]):  # type: ignore[arg-type]
            self.forget_index()
            raise ItemGone(f"Plex item {target.rating_key} now holds another file: its rating key went to a new item")
        return current

    @contextmanager
    def reading_ahead(self, targets: Iterable[PlexTarget]) -> Iterator[None]:
        """Within the block, the first :meth:`confirm` reads all of ``targets`` in one GET.

        A bulk sync's chunk confirms up to ten items one after the other: one
        ``/library/metadata/{rk1},{rk2},...`` (the spec's getMetadataItem: "one or
        more metadata items", each answered as its own detail request answers it;
        plexapi's ``fetchItems`` builds the same path from a list) instead of ten.
        Nothing is read when nothing is confirmed (an unchanged re-sync), and what
        was read is used once, by this thread, inside this block only.
        """
        self._ahead.keys = {target.rating_key for target in targets}
        self._ahead.items = {}
        try:
            yield
        finally:
            self._ahead.keys = set()
            self._ahead.items = {}

    def _detail(self, rating_key: int) -> Element | None:
        """The item's detail element (read ahead with the rest of a chunk when asked to), None when gone."""
        items: dict[int, Element] = getattr(self._ahead, "items", {})
        if rating_key in items:
            return items.pop(rating_key)
        keys: set[int] = getattr(self._ahead, "keys", set())
        if rating_key not in keys:
            container = _call("read item", lambda: self._server.query(f"/library/metadata/{rating_key}"))
            return next(iter(container), None)
        wanted = ",".join(str(key) for key in [rating_key, *sorted(keys - {rating_key})])
        keys.clear()  # read once: after a failure each item is read on its own
        try:
            container = _call("read items", lambda: self._server.query(f"/library/metadata/{wanted}"))
        except ItemGone:
            # Plex's answer to a list holding one deleted item (the rest, or 404) is not
            # documented: on a 404 this item is read on its own, as without reading ahead.
            return self._detail(rating_key)
        for element in container:
            key = element.get("ratingKey")
            if key and key.isdigit():
                items[int(key)] = element
        return items.pop(rating_key, None)

    def _read(self, target: PlexTarget) -> CurrentItem:
        element = self._detail(target.rating_key)
        if element is None:
            self.forget_index()
            raise ItemGone("Plex has no such item any more (read item)")
        found: dict[str, object] = {name: element.get(name) for name in _ATTRIBUTES}
        found["year"] = element.get("year")
        found["userRating"] = element.get("userRating")
        found["lastRatedAt"] = element.get("lastRatedAt")
        found["files"] = [part.get("file") for part in element.iter("Part") if part.get("file")]
        for child in element:
            kind = _TAG_ELEMENTS.get(child.tag)
            if kind:
                found.setdefault(kind, []).append(child.get("tag") or "")  # type: ignore[union-attr]
        return CurrentItem(f"{element.get('guid', '')}@{element.get('addedAt')}", found)

    def edit(self, target: PlexTarget, params: dict[str, str]) -> None:
        """Apply ``params`` to the item in one PUT (as plexapi's own ``edit``)."""
        _refuse_secrets("edit", params.values())
        query = plex_utils.joinArgs({"type": target.item_type, "id": target.rating_key, **params})
        path = f"/library/sections/{target.section_id}/all{query}"
        try:
            _call("edit", lambda: self._server.query(path, method=self._server._session.put))
        except ItemGone:
            self.forget_index()
            raise

    def rate(self, target: PlexTarget, rating: float | None) -> None:
        """Set the item's user rating, 0-10, or clear it (None: plexapi's ``rate()`` sends -1): ``PUT /:/rate``."""
        value = -1 if rating is None else rating
        query = plex_utils.joinArgs({"key": target.rating_key, "identifier": LIBRARY_IDENTIFIER, "rating": value})
        try:
            _call("rating", lambda: self._server.query(f"/:/rate{query}", method=self._server._session.put))
        except ItemGone:
            self.forget_index()
            raise

    def upload_poster(self, target: PlexTarget, image: bytes) -> None:
        self._upload(target, "posters", image)

    def upload_background(self, target: PlexTarget, image: bytes) -> None:
        self._upload(target, "arts", image)

    def _upload(self, target: PlexTarget, element: str, image: bytes) -> None:
        path = f"/library/metadata/{target.rating_key}/{element}"
        what = "poster upload" if element == "posters" else "background upload"
        _call(what, lambda: self._server.query(path, method=self._server._session.post, data=image))
