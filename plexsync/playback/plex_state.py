"""Reading what Plex's accounts did: views from the watch history, and the
items whose resume point or rating changed, without listing whole libraries.

* Views: ``/status/sessions/history/all?sort=viewedAt:desc&librarySectionID=<s>
  &accountID=<a>&viewedAt>=<since>`` per library section PlexSync uses and per
  account whose plays count (plexapi's ``LibrarySection.history`` sends the
  same; ``accountID=1`` is the server owner, whose token PlexSync holds). The
  history holds every kind of play, music (``<Track>``), photos and clips
  beside movies and episodes, so the pager moves on by every entry of a page
  and only movies and episodes are kept. Read newest first, page by page: an
  entry added while paging pushes the others one place down, so one may be
  read twice (the claims drop the copy), none is skipped.
* Resume points and ratings: each section's listing filtered on
  ``lastViewedAt>>=`` / ``lastRatedAt>>=`` (Plex's "after" operator, strict:
  asked from one second before the watermark), which carries the view state,
  the rating and ``Part.file`` on every item. A new resume point is found
  because playback moves the item's ``lastViewedAt``: assumed from Plex's
  Continue Watching, which is ordered by it, and not measured on a real
  server (the emulator does so on every timeline report). The view state is
  the token's account's: the owner's.
* Accounts: ``/accounts`` (plexapi ``systemAccounts()``), id and name each.

Plex time stamps are Unix seconds on Plex's clock; watermarks keep them as
they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.etree.ElementTree import Element

from plexsync.matching.matcher import SectionInfo
from plexsync.plex.index import SECTION_ITEM_TYPES, filter_field
from plexsync.plex.writer import ItemGone, PlexWriter

PAGE_SIZE = 500
#: The owner's account id on every Plex Media Server.
OWNER_ACCOUNT = 1
#: The history entry types whose plays count: the items PlexSync syncs.
VIDEO_TYPES = ("movie", "episode")


@dataclass(frozen=True)
class View:
    """One entry of the watch history: one complete view of an item (or, before
    PMS 1.40, a mark as played)."""

    history_id: int
    rating_key: int
    section_id: int
    viewed_at: int
    account_id: int = OWNER_ACCOUNT


@dataclass(frozen=True)
class ItemState:
    """An item's files and the account's view state and rating of it."""

    rating_key: int
    section_id: int
    title: str
    files: tuple[str, ...]
    duration_ms: int
    view_count: int
    view_offset: int
    last_viewed_at: int | None
    user_rating: float | None
    last_rated_at: int | None
    guid: str = ""
    added_at: int | None = None

    @property
    def identity(self) -> str:
        """Which item this is: Plex gives a deleted item's rating key to new ones."""
        return f"{self.guid}@{self.added_at}"


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def item_state(video: Element, section_id: int | None = None) -> ItemState:
    rating = video.get("userRating")
    return ItemState(
        rating_key=int(video.get("ratingKey", "0")),
        section_id=section_id or _int(video.get("librarySectionID")) or 0,
        title=video.get("title", ""),
        files=tuple(part.get("file", "") for part in video.iter("Part") if part.get("file")),
        duration_ms=_int(video.get("duration")) or 0,
        view_count=_int(video.get("viewCount")) or 0,
        view_offset=_int(video.get("viewOffset")) or 0,
        last_viewed_at=_int(video.get("lastViewedAt")),
        user_rating=float(rating) if rating not in (None, "") else None,
        last_rated_at=_int(video.get("lastRatedAt")),
        guid=video.get("guid", ""),
        added_at=_int(video.get("addedAt")),
    )


def history_id(entry: Element) -> int | None:
    """The id at the end of ``historyKey`` (``/status/sessions/history/<id>``)."""
    key = entry.get("historyKey") or ""
    tail = key.rstrip("/").rpartition("/")[2]
    return int(tail) if tail.isdigit() else None


class PlexState:
    def __init__(self, plex: PlexWriter) -> None:
        self._plex = plex

    @property
    def server(self) -> str:
        return self._plex.machine_identifier

    def sections(self) -> list[SectionInfo]:
        """The sections PlexSync uses (the *Plex sections* setting), as the index knows them."""
        return self._plex.index.sections()

    def accounts(self) -> dict[int, str]:
        """The server's accounts: id -> name (id 0, the server's own, has none)."""
        root = self._plex.read("/accounts", action="read the server's accounts")
        found = {}
        for account in root.iter("Account"):
            number = _int(account.get("id"))
            if number is not None:
                found[number] = account.get("name") or ""
        return found

    def read_views(self, section_id: int, account_id: int, since: int | None) -> tuple[list[View], int | None]:
        """The account's history entries of movies and episodes in the section at or after
        ``since`` (all when None), oldest first, and the newest ``viewedAt`` of any entry
        read (music and clips too: the watermark may pass them, they are read)."""
        params: dict[str, str | int] = {"sort": "viewedAt:desc", "librarySectionID": section_id}
        params["accountID"] = account_id
        if since is not None:
            params["viewedAt>"] = since  # sent as viewedAt>=<since>
        return self._history(params)

    def item_views(self, rating_key: int, since: int | None) -> list[View]:
        """The owner's history entries of one item after ``since`` (its view count rose)."""
        params: dict[str, str | int] = {"sort": "viewedAt:desc", "metadataItemID": rating_key}
        params["accountID"] = OWNER_ACCOUNT
        if since is not None:
            params["viewedAt>"] = since + 1
        return [v for v in self._history(params)[0] if v.rating_key == rating_key]

    def _history(self, params: dict[str, str | int]) -> tuple[list[View], int | None]:
        views: dict[int, View] = {}
        newest = None
        for entry in self._pages("/status/sessions/history/all?" + urlencode(params, safe=">"), "read watch history"):
            number, rating_key, viewed_at = history_id(entry), _int(entry.get("ratingKey")), _int(entry.get("viewedAt"))
            if viewed_at is not None:
                newest = viewed_at if newest is None else max(newest, viewed_at)
            if number is None or rating_key is None or viewed_at is None or entry.get("type") not in VIDEO_TYPES:
                continue
            section_id = _int(entry.get("librarySectionID")) or 0
            account_id = _int(entry.get("accountID"))
            account = OWNER_ACCOUNT if account_id is None else account_id
            views[number] = View(number, rating_key, section_id, viewed_at, account)
        return sorted(views.values(), key=lambda v: (v.viewed_at, v.history_id)), newest

    def changed_items(self, section: SectionInfo, field: str, since: int | None) -> Iterator[ItemState]:
        """Items of the section whose ``field`` (lastViewedAt, lastRatedAt) is at or after ``since``."""
        for item_type in SECTION_ITEM_TYPES.get(section.kind, ()):
            params: dict[str, str | int] = {"type": item_type, "sort": f"{field}:desc"}
            # sent as field>>=<n> (after n), named for episodes as plexapi names it
            params[f"{filter_field(item_type, field)}>>"] = (since - 1) if since is not None else 0
            path = f"/library/sections/{section.id}/all?" + urlencode(params, safe=">")
            for video in self._pages(path, "list changed items"):
                yield item_state(video, section.id)

    def items(self, rating_keys: Iterable[int]) -> dict[int, ItemState]:
        """Items by ratingKey, many per request; an item Plex no longer has is left out."""
        keys = sorted(set(rating_keys))
        found: dict[int, ItemState] = {}
        for start in range(0, len(keys), 100):
            chunk = ",".join(str(k) for k in keys[start : start + 100])
            try:
                root = self._plex.read(f"/library/metadata/{chunk}", action="read played items")
            except ItemGone:  # every item of the chunk was deleted since it was played
                continue
            for video in root.iter("Video"):
                state = item_state(video)
                found[state.rating_key] = state
        return found

    def _pages(self, path: str, action: str) -> Iterator[Element]:
        """Every entry of a paged answer. A page moves the pager on by all its
        entries, whatever their element (``<Video>``, ``<Track>``, ``<Photo>``...)."""
        start = 0
        while True:
            headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(PAGE_SIZE)}
            page = self._plex.read(path, headers, action)
            entries = list(page)
            yield from entries
            start += len(entries)
            total = _int(page.get("totalSize"))
            if not entries or (total is not None and start >= total) or (total is None and len(entries) < PAGE_SIZE):
                return
