"""Writing to Plex: find the items that hold a file, edit them, upload covers.

Plex has no "item by file path" endpoint (../shared/plex-facts.md), so the
writer keeps an index of ``Part.file -> items`` per process, built from paged
section listings reading only rating keys and file paths. When a file is
missing from it, one cheap request for the section list tells whether Plex
has scanned or changed anything since; only then is the index rebuilt. Edits go out as ONE
request per item in Plex's edit language, built by :mod:`plexsync.sync.mapping`.

Every plexapi failure leaves this module as a :mod:`plexsync.errors` class
with a redacted one-line reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import requests
from plexapi import utils as plex_utils
from plexapi.exceptions import BadRequest, NotFound, Unauthorized
from plexapi.server import PlexServer

from plexsync.errors import SyncError, Transient, from_requests_error, from_status
from plexsync.retrying import PLEX, RetryingSession

#: Plex's listing type numbers for the items that carry files.
ITEM_TYPES = {"movie": 1, "episode": 4}
SECTION_ITEM_TYPES = {"movie": ("movie",), "show": ("episode",)}
LISTING_PAGE_SIZE = 1000
#: Section attributes that change when Plex scans or changes a section's content.
CHANGE_STAMPS = ("scannedAt", "contentChangedAt", "updatedAt")
STAMP_RESOLUTION = 2.0

T = TypeVar("T")


class ItemGone(Transient):
    """The item was deleted or re-added under a new rating key since indexing."""


@dataclass(frozen=True)
class PlexTarget:
    """One Plex item to write: what the edit endpoint needs to address it."""

    rating_key: int
    section_id: int
    item_type: int


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


class PlexIndex:
    """``Part.file -> [PlexTarget]`` for every movie and episode section."""

    def __init__(self) -> None:
        self._by_file: dict[str, list[PlexTarget]] = {}
        self._stamps: tuple | None = None  # the sections' change stamps when built
        self._changed_at = 0.0  # monotonic time the stamps were last seen changing

    def lookup(self, path: str) -> list[PlexTarget]:
        return self._by_file.get(path, [])

    def clear(self) -> None:
        self._by_file, self._stamps = {}, None

    def refresh(self, server: PlexServer) -> bool:
        """Rebuild if Plex's sections changed since the last build; True if rebuilt.

        Plex's stamps have one-second resolution, so a second change within
        the second of the first leaves them as they were: for a short while
        after a change, a miss rebuilds even when the stamps look the same.
        (Only our own monotonic clock is used: Plex's may be set differently.)
        """
        sections = _call("list sections", lambda: server.query("/library/sections"))
        directories = list(sections.iter("Directory"))
        stamps = tuple((d.get("key"), *(d.get(name) for name in CHANGE_STAMPS)) for d in directories)
        if stamps != self._stamps:
            self._changed_at = time.monotonic()
        elif time.monotonic() - self._changed_at > STAMP_RESOLUTION:
            return False
        by_file: dict[str, list[PlexTarget]] = {}
        for section in directories:
            for kind in SECTION_ITEM_TYPES.get(section.get("type", ""), ()):
                self._index_section(server, int(section.get("key")), ITEM_TYPES[kind], by_file)
        self._by_file, self._stamps = by_file, stamps
        return True

    @staticmethod
    def _index_section(server: PlexServer, section_id: int, item_type: int, into: dict) -> None:
        start = 0
        while True:
            headers = {
                "X-Plex-Container-Start": str(start),
                "X-Plex-Container-Size": str(LISTING_PAGE_SIZE),
            }
            page: Element = _call(
                "list section items",
                lambda headers=headers: server.query(
                    f"/library/sections/{section_id}/all?type={item_type}", headers=headers
                ),
            )
            videos = page.findall("Video")
            for video in videos:
                target = PlexTarget(int(video.get("ratingKey")), section_id, item_type)
                for part in video.iter("Part"):
                    file = part.get("file")
                    if file is not None:
                        into.setdefault(file, []).append(target)
            start += len(videos)
            total = int(page.get("totalSize", start))
            if not videos or start >= total:
                return


class PlexWriter:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url = url
        self._server: PlexServer = _call(
            "connect",
            lambda: PlexServer(url, token, session=RetryingSession(PLEX), timeout=timeout),
        )
        self._index = PlexIndex()
        self._index_lock = threading.Lock()

    def find(self, plex_path: str) -> list[PlexTarget]:
        """Items whose Part.file is exactly ``plex_path``; [] when none (yet)."""
        with self._index_lock:
            found = self._index.lookup(plex_path)
            if found:
                return found
            self._index.refresh(self._server)
            return self._index.lookup(plex_path)

    def forget_index(self) -> None:
        """An item vanished: the next lookup must rebuild."""
        with self._index_lock:
            self._index.clear()

    def edit(self, target: PlexTarget, params: dict[str, str]) -> None:
        """Apply ``params`` to the item in one PUT (as plexapi's own ``edit``)."""
        query = plex_utils.joinArgs({"type": target.item_type, "id": target.rating_key, **params})
        path = f"/library/sections/{target.section_id}/all{query}"
        try:
            _call("edit", lambda: self._server.query(path, method=self._server._session.put))
        except ItemGone:
            self.forget_index()
            raise

    def upload_poster(self, target: PlexTarget, image: bytes) -> None:
        path = f"/library/metadata/{target.rating_key}/posters"
        _call("poster upload", lambda: self._server.query(path, method=self._server._session.post, data=image))
