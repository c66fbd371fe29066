"""The Plex Media Server HTTP surface that plexapi 4.18 uses, over :class:`Library` state.

Routes are written as the community OpenAPI spec's path templates, so a test
can prove each one exists in Plex's documented API. Paths plexapi sends
that are not in that spec (``/library`` and ``/library/sections``, where the
spec has ``/library/sections/all``; the ``recentlyAdded`` browse directories
real servers list) are served and listed apart, in
:attr:`PlexEmulator.UNDOCUMENTED_ROUTES`.

Finding new items without listing a whole section: ``/all?sort=addedAt:desc``
(documented, paged) or ``/library/recentlyAdded``; section stamps can be frozen
(``frozen_section_stamps=True``), scans delayed (``scan_delay``), and every
scan request is kept in :attr:`PlexEmulator.scan_requests`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from emulators.http import EmulatorServer, Request, Response, Upgrade

from . import artwork, edits, history, notifications, render
from .accounts import DEFAULT_VERSION, OWNER_ACCOUNT, ViewState
from .model import SEASON, SECTION_TYPES, SHOW, TYPE_NAMES, Item, Library, PlexItem, Section, under_folder

_REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}
_XML = "text/xml;charset=utf-8"


class HTTPError(Exception):
    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(detail or _REASONS.get(status, str(status)))
        self.status = status


def error_response(status: int) -> Response:
    """Plex's error bodies are small HTML pages, never a traceback."""
    reason = _REASONS.get(status, "Error")
    body = f"<html><head><title>{reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    return Response(status=status, body=body.encode(), content_type="text/html")


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    template: str
    handler: str
    documented: bool = True
    locked: bool = True  # run under the library lock (artwork uploads fetch URLs first)

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$")


def _routes() -> list[Route]:
    get, put, post = frozenset({"GET"}), frozenset({"PUT"}), frozenset({"POST"})
    return [
        Route(get, "/", "_root"),
        Route(get, "/identity", "_identity"),
        Route(get, "/library", "_library", documented=False),
        Route(get, "/library/sections", "_sections", documented=False),
        Route(get, "/library/sections/all", "_sections"),
        Route(get, "/library/sections/{sectionId}", "_section"),
        Route(get | put, "/library/sections/{sectionId}/all", "_section_all"),
        Route(get, "/library/sections/{sectionId}/collections", "_section_collections"),
        # Browse directories every server lists (render.section_views, /library) but the spec omits.
        Route(get, "/library/sections/{sectionId}/recentlyAdded", "_section_recently_added", documented=False),
        Route(get, "/library/recentlyAdded", "_recently_added", documented=False),
        # plexapi's section.update() sends GET; the spec documents POST.
        Route(get | post, "/library/sections/{sectionId}/refresh", "_section_refresh"),
        Route(get | put, "/library/metadata/{ids}", "_metadata"),
        Route(put, "/library/metadata/{ids}/refresh", "_metadata_refresh"),
        Route(get, "/library/metadata/{ids}/allLeaves", "_all_leaves"),
        Route(post | put, "/library/metadata/{ids}/{element}", "_upload", locked=False),
        Route(get, "/library/metadata/{ids}/{element}", "_metadata_element"),
        Route(get, "/library/metadata/{ids}/{element}/{timestamp}", "_image"),
        # The spec: "This API does respond to the GET verb but applications should use PUT".
        Route(get | put, "/:/rate", "_rate"),
        # Watch state (the spec: GET also answers, PUT is what applications should send).
        Route(get | put, "/:/scrobble", "_scrobble"),
        Route(get | put, "/:/unscrobble", "_unscrobble"),
        Route(get | post, "/:/timeline", "_timeline"),
        Route(get, "/status/sessions/history/all", "_history"),
        # plexapi's server.systemAccounts(); the spec leaves it out.
        Route(get, "/accounts", "_accounts", documented=False),
    ]


_ROUTE_TABLE = _routes()
_COMPILED = [(route, route.pattern) for route in _ROUTE_TABLE]
_POSTER_ELEMENTS = {"posters": "poster", "poster": "poster", "thumb": "poster", "arts": "art", "art": "art"}


@dataclass(frozen=True)
class ScanRequest:
    """One ``GET|POST /library/sections/{id}/refresh``: ``path`` is None for a whole-section scan."""

    section_id: int
    path: str | None
    force: bool


class PlexEmulator(EmulatorServer):
    """A Plex Media Server on loopback that the real plexapi talks to.

    Seed it with :meth:`add_section`, :meth:`add_movie`, :meth:`add_episode`
    and :meth:`add_unscanned_file` (direct Python, no HTTP), then read back
    what clients did with :meth:`item` snapshots and the request log.
    """

    ROUTES: ClassVar[list[str]] = list(dict.fromkeys(r.template for r in _ROUTE_TABLE if r.documented))
    #: Paths plexapi sends that the community spec does not document.
    UNDOCUMENTED_ROUTES: ClassVar[list[str]] = [r.template for r in _ROUTE_TABLE if not r.documented]

    def __init__(
        self,
        token: str = "secret-token",
        port: int = 0,
        friendly_name: str = "PlexSync Emulator",
        scan_delay: float = 0.0,
        *,
        frozen_section_stamps: bool = False,
        clock: Callable[[], float] | None = None,
        version: str = DEFAULT_VERSION,
        owner_name: str = "owner",
    ) -> None:
        """``scan_delay``: seconds before a requested scan adds its files (Plex scans in the background).

        ``frozen_section_stamps``: the sections' ``updatedAt``, ``scannedAt`` and
        ``contentChangedAt`` never move, whatever is added or scanned; nobody has
        checked which of them a real Plex moves (../shared/plex-facts.md).
        ``clock``: where ``addedAt``/``updatedAt`` come from (Unix seconds; default: the system clock).
        ``version``: what ``GET /`` reports; before 1.40 a mark as played writes history
        (:mod:`emulators.plex.accounts`). ``owner_name``: the owner's account name (``/accounts``).
        """
        super().__init__(port=port)
        self.token = token
        self.friendly_name = friendly_name
        self.scan_delay = scan_delay
        self.library = Library(
            clock=clock, freeze_section_stamps=frozen_section_stamps, version=version, owner_name=owner_name
        )
        #: Every scan asked for over HTTP (``/library/sections/{id}/refresh``), in order.
        self.scan_requests: list[ScanRequest] = []
        self._pending_scans: list[tuple[Section, str | None, bool]] = []
        #: Exceptions that reached the 500 handler: an emulator bug, for tests to assert on.
        self.internal_errors: list[BaseException] = []
        #: Edit parameters dropped because the item's type has no such field, as
        #: (ratingKey, field or tag type), in order (see :mod:`.edits`).
        self.ignored_edits: list[tuple[int, str]] = []
        #: The notification websocket (``/:/websockets/notifications``): its clients and
        #: every message sent (see :mod:`.notifications`).
        self.notifications = notifications.Notifications()
        self._play_sessions: dict[tuple[str, int], int] = {}  # (client, ratingKey) -> sessionKey

    def start(self) -> PlexEmulator:
        super().start()
        return self

    # -- seeding and inspection (direct Python) ------------------------------
    def add_section(self, title: str, kind: str, locations: Iterable[str]) -> int:
        return self.library.add_section(title, kind, locations)

    def add_movie(self, section_id: int, files: list[str], title: str | None = None, **metadata: Any) -> int:
        """A movie as a finished scan leaves it (``metadata``: see ``model.Library.add_movie``)."""
        return self.library.add_movie(section_id, files, title, **metadata)

    def add_episode(
        self,
        section_id: int,
        show_title: str,
        season: int,
        episode: int,
        files: list[str],
        title: str | None = None,
        sizes: list[int] | None = None,
    ) -> int:
        return self.library.add_episode(section_id, show_title, season, episode, files, title, sizes)

    def add_unscanned_file(self, section_id: int, path: str, title: str | None = None, size: int | None = None) -> None:
        """A file on disk that a scan of its folder (``?path=``) or section turns into an item."""
        self.library.add_unscanned_file(section_id, path, title, size)

    def item(self, rating_key: int) -> PlexItem:
        return self.library.snapshot(rating_key)

    def items(self) -> list[PlexItem]:
        return self.library.snapshots()

    def find_by_file(self, path: str) -> list[int]:
        return self.library.find_by_file(path)

    # -- playback, as a Plex client would cause it (direct Python) -------------
    def play(self, rating_key: int, at: int | None = None, account_id: int = OWNER_ACCOUNT) -> int:
        """The account (the token's by default) watched the item to the end; returns the history entry's id."""
        entry = self.library.play(rating_key, at, account_id)
        with self.library.lock:
            duration = sum(m.duration for m in self.library.item(rating_key).media)
        self._notify_playing(rating_key, "stopped", duration)
        return entry

    def partial_play(
        self, rating_key: int, offset_ms: int, at: int | None = None, account_id: int = OWNER_ACCOUNT
    ) -> None:
        """Playback stopped ``offset_ms`` in: a resume point, no history entry."""
        self.library.partial_play(rating_key, offset_ms, at, account_id)
        self._notify_playing(rating_key, "stopped", offset_ms)

    def mark_played(self, rating_key: int, at: int | None = None, account_id: int = OWNER_ACCOUNT) -> list[int]:
        """Mark as played, as ``/:/scrobble`` does (history entries only before PMS 1.40)."""
        return self.library.mark_played(rating_key, at, account_id)

    def rate(self, rating_key: int, rating: float | None, at: int | None = None) -> None:
        """The account rated the item 0-10 (None: cleared), as a Plex client's ``/:/rate``."""
        self.library.rate(rating_key, rating, at)

    def add_account(self, name: str) -> int:
        """A managed user; its plays are its own (``account_id=`` above)."""
        return self.library.add_account(name)

    def view_state(self, rating_key: int, account_id: int = OWNER_ACCOUNT) -> ViewState:
        return self.library.view_state(rating_key, account_id)

    def delete_item(self, rating_key: int) -> None:
        """The item leaves the library; the next item added may get its rating key."""
        self.library.delete_item(rating_key)

    def add_track(self, section_id: int, artist: str, album: str, index: int, files: list[str]) -> int:
        return self.library.add_track(section_id, artist, album, index, files)

    def add_photo(self, section_id: int, files: list[str]) -> int:
        return self.library.add_photo(section_id, files)

    def add_clip(self, parent_key: int, files: list[str]) -> int:
        return self.library.add_clip(parent_key, files)

    # -- notifications (the websocket) ------------------------------------------
    def upgrade(self, request: Request) -> Upgrade | None:
        """The notification websocket, for a client with the token (others get 401, and
        every one 404 while ``notifications.enabled`` is off, from :meth:`handle`)."""
        if request.path.rstrip("/") not in notifications.PATHS or not self._authorised(request):
            return None
        return self.notifications.session(request)

    def _notify_playing(self, rating_key: int, state: str, offset_ms: int, client: str = "plexsync-emulator") -> None:
        """A player's report as Plex relays it (``playing``); ``stopped`` ends its session."""
        with self.library.lock:
            key = (client, rating_key)
            session = self._play_sessions.setdefault(key, len(self._play_sessions) + 1)
            if state == "stopped":
                del self._play_sessions[key]
        self.notifications.publish(notifications.playing(rating_key, state, offset_ms, session, client))

    def _notify_scan(self, section: Section, added: list[int]) -> None:
        """A section scan as Plex reports it: activity started, each new item created
        then processed, activity ended."""
        activity = notifications.new_activity_id()
        self.notifications.publish(notifications.activity("started", activity, section.key, section.title, 0))
        for state in (notifications.CREATED, notifications.PROCESSED):
            for rating_key in added:
                item = self.library.items[rating_key]
                message = notifications.timeline(section.key, rating_key, item.type, item.title, state, item.added_at)
                self.notifications.publish(message)
        self.notifications.publish(notifications.activity("ended", activity, section.key, section.title, 100))

    # -- HTTP ---------------------------------------------------------------
    def internal_error(self, request: Request, exc: Exception) -> Response:
        self.internal_errors.append(exc)
        return error_response(500)

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path != "/identity" and not self._authorised(request):
            return error_response(401)
        for route, pattern in _COMPILED:
            match = pattern.match(path)
            if match is None or request.method not in route.methods:
                continue
            handler: Handler = getattr(self, route.handler)
            try:
                if not route.locked:
                    return handler(request, **match.groupdict())
                with self.library.lock:
                    return handler(request, **match.groupdict())
            except HTTPError as exc:
                return error_response(exc.status)
        return error_response(404)

    def _authorised(self, request: Request) -> bool:
        sent = request.header("X-Plex-Token") or request.arg("X-Plex-Token")
        return bool(sent) and sent == self.token

    def _answer(self, request: Request, node: render.Node, headers: dict[str, str] | None = None) -> Response:
        headers = {"X-Plex-Protocol": "1.0", **(headers or {})}
        if "application/json" in (request.header("Accept") or ""):
            return Response(body=render.to_json(node), content_type="application/json", headers=headers)
        return Response(body=render.to_xml(node), content_type=_XML, headers=headers)

    @staticmethod
    def _done() -> Response:
        """Plex answers edits, refreshes, scans and ratings with 200 and no body."""
        return Response(status=200, body=b"", content_type=_XML, headers={"X-Plex-Protocol": "1.0"})

    # -- lookups --------------------------------------------------------------
    def _section_of(self, section_id: str) -> Section:
        section = self.library.sections.get(int(section_id)) if section_id.isdigit() else None
        if section is None:
            raise HTTPError(404, f"no section {section_id}")
        return section

    @staticmethod
    def _int_list(raw: str) -> list[int]:
        keys = raw.split(",")
        if not all(key.strip().isdigit() for key in keys):
            raise HTTPError(400, f"not a list of ids: {raw!r}")
        return [int(key) for key in keys]

    def _items(self, ids: str, *, all_required: bool = True) -> list[Item]:
        keys = self._int_list(ids)
        found = [self.library.items[k] for k in keys if k in self.library.items]
        if not found or (all_required and len(found) != len(keys)):
            raise HTTPError(404, f"no item {ids}")
        return found

    @staticmethod
    def _window(request: Request) -> tuple[int, int | None]:
        """``X-Plex-Container-Start/Size``, from the query or else the headers (plexapi uses headers)."""
        values: list[int | None] = []
        for name in ("X-Plex-Container-Start", "X-Plex-Container-Size"):
            raw = request.arg(name)
            if raw is None:
                raw = request.header(name)
            if raw is None or raw == "":
                values.append(None)
                continue
            if not raw.isdigit():
                raise HTTPError(400, f"{name} must be a non-negative integer")
            values.append(int(raw))
        return values[0] or 0, values[1]

    def _page(
        self, request: Request, section: Section, keys: list[int], title2: str, extra: dict | None = None
    ) -> Response:
        start, size = self._window(request)
        page = keys[start : start + size] if size is not None else keys[start:]
        node = render.page_container(self.library, section, page, start, len(keys), title2, extra)
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(keys))}
        return self._answer(request, node, headers)

    # -- handlers -------------------------------------------------------------
    def _root(self, request: Request) -> Response:
        return self._answer(request, render.server_info(self.library, self.friendly_name))

    def _identity(self, request: Request) -> Response:
        return self._answer(request, render.identity(self.library))

    def _library(self, request: Request) -> Response:
        return self._answer(request, render.library_root())

    def _sections(self, request: Request) -> Response:
        return self._answer(request, render.sections(self.library))

    def _section(self, request: Request, sectionId: str) -> Response:
        return self._answer(request, render.section_views(self._section_of(sectionId)))

    def _section_all(self, request: Request, sectionId: str) -> Response:
        section = self._section_of(sectionId)
        raw_type = request.arg("type")
        if raw_type and not raw_type.isdigit():
            raise HTTPError(400, "type must be an integer")
        item_type = int(raw_type) if raw_type else section.main_type
        if request.method == "PUT":
            return self._edit_section(request, section, item_type)
        keys = self.library.listing(section, item_type) if item_type in SECTION_TYPES[section.kind] else []
        title = request.arg("title")
        if title:
            needle = title.casefold()
            keys = [k for k in keys if needle in self.library.items[k].title.casefold()]
        keys = self._filtered(request, keys, section, item_type)
        sort = request.arg("sort")
        if sort:
            keys = self._sorted(keys, sort)
        extra = None
        if request.arg("includeMeta") == "1":
            extra = {"_meta": render.meta(section)}
        return self._page(request, section, keys, "All " + section.title, extra)

    #: ``sort=`` fields of ``/all`` (plexapi sends ``movie.addedAt:desc``); ties go to the newest ratingKey.
    _SORTS: ClassVar[dict[str, Callable[[Item], Any]]] = {
        "addedAt": lambda item: item.added_at,
        "updatedAt": lambda item: item.updated_at,
        "titleSort": lambda item: (item.title_sort or item.title).casefold(),
        "originallyAvailableAt": lambda item: item.originally_available_at or "",
        "id": lambda item: item.rating_key,
        "lastViewedAt": lambda item: item.last_viewed_at or 0,
        "lastRatedAt": lambda item: item.last_rated_at or 0,
        "viewCount": lambda item: item.view_count,
    }

    #: Numeric filters of ``/all`` (plexapi's ``filters={'lastViewedAt>>': ...}``
    #: sends ``lastViewedAt>>=<epoch>``); an item with the field unset never matches.
    _FILTERS: ClassVar[dict[str, Callable[[Item], Any]]] = {
        "lastViewedAt": lambda item: item.last_viewed_at,
        "lastRatedAt": lambda item: item.last_rated_at,
        "viewCount": lambda item: item.view_count,
        "viewOffset": lambda item: item.view_offset,
        "userRating": lambda item: item.user_rating,
        "addedAt": lambda item: item.added_at,
        "updatedAt": lambda item: item.updated_at,
    }
    #: How a query key ends -> the comparison. Plex's operators are ``>>=``/``<<=``
    #: (after, before: strict) and ``>=``/``<=``; the query string splits them
    #: at the last ``=``, so the key keeps ``>>``, ``<<``, ``>`` or ``<``.
    _OPERATORS: ClassVar[tuple[tuple[str, Callable[[Any, float], bool]], ...]] = (
        (">>", lambda value, bound: value > bound),
        ("<<", lambda value, bound: value < bound),
        (">", lambda value, bound: value >= bound),
        ("<", lambda value, bound: value <= bound),
        ("", lambda value, bound: value == bound),
    )

    def _comparisons(
        self,
        request: Request,
        fields: dict[str, Callable[[Any], Any]],
        subject: Callable[[Any, str], Any] | None = None,
    ) -> list[Callable[[Any], bool]]:
        """One test per filter parameter on ``fields``. ``subject(row, prefix)``: what a
        field with that type prefix (``episode.``; "" for none) is read on; None: the row."""
        tests = []
        for key, raw in request.query:
            for suffix, compare in self._OPERATORS:
                name = key[: len(key) - len(suffix)] if suffix and key.endswith(suffix) else (key if not suffix else "")
                prefix, _, name = name.rpartition(".")
                if name in fields:
                    try:
                        bound = float(raw)
                    except ValueError:
                        raise HTTPError(400, f"{key} needs a number") from None
                    get = fields[name]
                    if subject is not None:
                        get = lambda row, get=get, prefix=prefix: _field_of(subject(row, prefix), get)  # noqa: E731
                    tests.append(lambda row, get=get, compare=compare, bound=bound: _holds(get(row), compare, bound))
                    break
        return tests

    def _filtered(self, request: Request, keys: list[int], section: Section, item_type: int) -> list[int]:
        """``/all``'s numeric filters. A field names its item type as plexapi sends it
        (``_validateFilterField`` uses the server's field key: ``episode.lastViewedAt``
        for a show section's episodes); a field without a prefix is the section's own
        type's, so on a show section's episodes ``lastViewedAt`` reads the SHOW's
        view state, and ``show.``/``season.`` read the ancestor's. That unprefixed
        fields mean the section's type is how Plex's advanced filters are built
        (plexapi: ``libtype = _libtype or libtype or self.TYPE``); what a real server
        does with one on episodes is unverified: a client must send the prefix."""
        main = TYPE_NAMES[section.main_type]

        def subject(item: Item, prefix: str) -> Item | None:
            return self._of_type(item, prefix or main)

        tests = self._comparisons(request, self._FILTERS, subject)
        if not tests:
            return keys
        items = self.library.items
        return [k for k in keys if all(test(items[k]) for test in tests)]

    def _of_type(self, item: Item, type_name: str) -> Item | None:
        """``item`` itself or its ancestor of that type (a season or show of an episode)."""
        current: Item | None = item
        while current is not None:
            if TYPE_NAMES[current.type] == type_name:
                return current
            current = self.library.items.get(current.parent_key) if current.parent_key else None
        return None

    def _sorted(self, keys: list[int], sort: str) -> list[int]:
        """Stable sorts applied last field first, so the first field of ``a,b`` leads."""
        items = self.library.items
        ordered = sorted(keys, reverse=True)
        for spec in reversed(sort.split(",")):
            field, _, direction = spec.strip().partition(":")
            field = field.rpartition(".")[2]
            key = self._SORTS.get(field)
            if key is None or direction not in ("", "asc", "desc", "nullsLast"):
                raise HTTPError(400, f"cannot sort by {spec!r}")
            ordered.sort(key=lambda rk, key=key: key(items[rk]), reverse=direction == "desc")
        return ordered

    def _section_collections(self, request: Request, sectionId: str) -> Response:
        """No collections are kept as items here; plexapi asks only for the Meta of this listing."""
        section = self._section_of(sectionId)
        extra = {"_meta": render.meta(section, collections=True)} if request.arg("includeMeta") == "1" else None
        return self._page(request, section, [], "Collections", extra)

    def _recent(self, sections: Iterable[Section]) -> list[int]:
        """Movies and episodes, newest ``addedAt`` first (ties: newest ratingKey first)."""
        leaves = [rk for section in sections for t in (1, 4) for rk in section.members.get(t, ())]
        return sorted(leaves, key=lambda rk: (self.library.items[rk].added_at, rk), reverse=True)

    def _section_recently_added(self, request: Request, sectionId: str) -> Response:
        section = self._section_of(sectionId)
        return self._page(request, section, self._recent([section]), "Recently Added")

    def _recently_added(self, request: Request) -> Response:
        """Across sections, paged like every listing. Real Plex may group new episodes of one
        season into a season Directory here; that is unverified and not copied."""
        keys = self._recent(self.library.sections.values())
        start, size = self._window(request)
        page = keys[start : start + size] if size is not None else keys[start:]
        node = render.recently_added(self.library, page, start, len(keys))
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(keys))}
        return self._answer(request, node, headers)

    def _edit_section(self, request: Request, section: Section, item_type: int) -> Response:
        plan = self._plan(request)
        members = section.members.get(item_type, [])
        raw_ids = request.arg("id")
        if raw_ids:
            keys = self._int_list(raw_ids)
            member_set = set(members)
            if not all(k in member_set for k in keys):
                raise HTTPError(404, "an id is not an item of this type in this section")
        else:
            keys = list(members)  # Plex edits every item of the type when no id is given
        self._apply(plan, [self.library.items[k] for k in keys])
        return self._done()

    @staticmethod
    def _plan(request: Request) -> edits.EditPlan:
        try:
            return edits.parse(request.query)
        except edits.EditError as exc:
            raise HTTPError(400, str(exc)) from exc

    def _apply(self, plan: edits.EditPlan, items: list[Item]) -> None:
        for item in items:
            dropped = edits.apply(plan, item, self.library.tag_id)
            self.ignored_edits.extend((item.rating_key, name) for name in dropped)
            self.library.touch(item, reorder=plan.reorders)

    def _metadata(self, request: Request, ids: str) -> Response:
        if request.method == "PUT":
            plan = self._plan(request)
            self._apply(plan, self._items(ids))
            return self._done()
        items = self._items(ids, all_required=False)
        return self._answer(request, render.metadata_container(self.library, items))

    def _metadata_refresh(self, request: Request, ids: str) -> Response:
        for item in self._items(ids):
            self.library.agent_refresh(item)
        return self._done()

    def _all_leaves(self, request: Request, ids: str) -> Response:
        (item,) = self._items(ids)
        if item.type not in (SHOW, SEASON):
            raise HTTPError(404, "only shows and seasons have leaves")
        section = self.library.sections[item.section_id]
        return self._page(request, section, self.library.leaves(item), item.title, self._parent_attrs(item))

    def _metadata_element(self, request: Request, ids: str, element: str) -> Response:
        if element in ("thumb", "art", "poster"):
            return self._image(request, ids, element, "")
        if element in ("posters", "arts"):
            return self._image_choices(request, ids, _POSTER_ELEMENTS[element])
        if element == "file":
            return self._uploaded_file(request, ids)
        if element != "children":
            raise HTTPError(404, f"no element {element}")
        (item,) = self._items(ids)
        if item.type not in (SHOW, SEASON):
            raise HTTPError(404, "only shows and seasons have children")
        keys = sorted(item.children, key=lambda rk: self.library.items[rk].index or 0)
        index = request.arg("index")
        if index is not None:
            keys = [k for k in keys if str(self.library.items[k].index) == index]
        section = self.library.sections[item.section_id]
        return self._page(request, section, keys, item.title, self._parent_attrs(item))

    def _parent_attrs(self, item: Item) -> dict:
        return {
            "key": str(item.rating_key),
            "parentIndex": item.index if item.type == SEASON else None,
            "parentTitle": item.title,
            "parentRatingKey": item.rating_key,
        }

    def _image(self, request: Request, ids: str, element: str, timestamp: str) -> Response:
        (item,) = self._items(ids)
        if element in ("thumb", "poster"):
            data = item.poster
        elif element == "art":
            data = item.art
        else:
            raise HTTPError(404, f"no image element {element}")
        if data is None:
            raise HTTPError(404, "no image uploaded")
        return Response(body=data, content_type=artwork.content_type(data))

    def _image_choices(self, request: Request, ids: str, kind: str) -> Response:
        """``GET .../posters``: the uploaded images plexapi's ``posters()`` lists, one selected."""
        (item,) = self._items(ids)
        current = item.poster if kind == "poster" else item.art
        uploads = self.library.uploads.get((item.rating_key, kind), {})
        photos = []
        for key, data in uploads.items():
            url = f"/library/metadata/{item.rating_key}/file?url={quote(key, safe='')}"
            photos.append(
                render.Node(
                    "Photo",
                    {"key": url, "ratingKey": key, "selected": data == current, "thumb": url},
                    json_key="Metadata",
                )
            )
        return self._answer(request, render.Node("MediaContainer", {"size": len(photos)}, photos))

    def _uploaded_file(self, request: Request, ids: str) -> Response:
        (item,) = self._items(ids)
        key = request.arg("url") or ""
        for kind in ("poster", "art"):
            data = self.library.uploads.get((item.rating_key, kind), {}).get(key)
            if data is not None:
                return Response(body=data, content_type=artwork.content_type(data))
        raise HTTPError(404, f"no uploaded file {key}")

    def _upload(self, request: Request, ids: str, element: str) -> Response:
        """``POST .../posters`` (or ``/arts``): the body is the image, or ``?url=`` names one to fetch.

        ``PUT .../poster?url=upload://posters/<sha1>`` (plexapi's ``setPoster``)
        selects an image uploaded before.
        """
        kind = _POSTER_ELEMENTS.get(element)
        if kind is None:
            raise HTTPError(404, f"cannot upload {element}")
        with self.library.lock:
            (item,) = self._items(ids)
            url = request.arg("url")
            if url and url.startswith("upload://"):
                if url not in self.library.uploads.get((item.rating_key, kind), {}):
                    raise HTTPError(404, f"no uploaded image {url}")
                self.library.select_image(item, kind, url)
                return self._done()
        if url:
            try:
                data = artwork.fetch(url)  # outside the lock: the URL may be this server
            except artwork.FetchError as exc:
                raise HTTPError(400, str(exc)) from exc
        else:
            data = request.body
        if not data:
            raise HTTPError(400, "no image in the body and no url")
        with self.library.lock:
            (item,) = self._items(ids)
            self.library.upload_image(item, kind, data)
        return self._done()

    def _rate(self, request: Request) -> Response:
        key, identifier, raw = request.arg("key"), request.arg("identifier"), request.arg("rating")
        if not key or identifier is None or raw is None:
            raise HTTPError(400, "key, identifier and rating are required")
        if identifier != render.IDENTIFIER:
            raise HTTPError(404, f"no library {identifier}")
        try:
            rating = float(raw)
        except ValueError:
            raise HTTPError(400, "rating is not a number") from None
        if rating != -1 and not 0 <= rating <= 10:
            raise HTTPError(400, "rating out of 0..10")
        (item,) = self._items(key)
        self.library.rate(item.rating_key, None if rating == -1 else rating)
        return self._done()

    def _scrobble(self, request: Request) -> Response:
        """Mark as played: ``viewCount`` + 1 and no resume point; the spec: no history
        entry ("it sets the state, it does not record a viewing"), true since PMS 1.40
        (:mod:`emulators.plex.accounts` has the versions that did write one)."""
        self.library.mark_played(self._library_item(request).rating_key)
        return self._done()

    def _unscrobble(self, request: Request) -> Response:
        self.library.mark_unplayed(self._library_item(request).rating_key)
        return self._done()

    #: Plex's default "video played threshold": watched this far, a view is recorded.
    WATCHED_FRACTION = 0.9

    def _timeline(self, request: Request) -> Response:
        """A client's progress report, ``time`` ms in: while playing or paused a resume
        point; on ``state=stopped`` past the played threshold a view (history entry,
        ``viewCount`` + 1, resume point cleared). Real Plex records the view as soon as
        the threshold is passed, once per playback session; sessions are not modelled."""
        rating_key, raw_time = request.arg("ratingKey"), request.arg("time")
        if not rating_key or not rating_key.isdigit() or raw_time is None or not raw_time.isdigit():
            raise HTTPError(400, "ratingKey and time are required")
        (item,) = self._items(rating_key)
        duration = sum(m.duration for m in item.media)
        offset = int(raw_time)
        if request.arg("state") == "stopped" and duration and offset >= duration * self.WATCHED_FRACTION:
            self.library.play(item.rating_key)
        else:
            self.library.partial_play(item.rating_key, offset)
        client = request.header("X-Plex-Client-Identifier") or "plexsync-emulator"
        self._notify_playing(item.rating_key, request.arg("state") or "playing", offset, client)
        return self._done()

    def _library_item(self, request: Request) -> Item:
        key, identifier = request.arg("key"), request.arg("identifier")
        if not key or identifier is None:
            raise HTTPError(400, "key and identifier are required")
        if identifier != render.IDENTIFIER:
            raise HTTPError(404, f"no library {identifier}")
        (item,) = self._items(key)
        return item

    def _accounts(self, request: Request) -> Response:
        """``GET /accounts``: plexapi's ``SystemAccount`` list (id 0 is the server's own, unnamed)."""
        accounts = [
            render.Node(
                "Account",
                {
                    "id": account_id,
                    "key": f"/accounts/{account_id}",
                    "name": name,
                    "defaultAudioLanguage": "en",
                    "autoSelectAudio": True,
                    "defaultSubtitleLanguage": "en",
                    "subtitleMode": 0,
                    "thumb": "",
                },
            )
            for account_id, name in sorted(self.library.accounts.items())
        ]
        return self._answer(
            request, render.Node("MediaContainer", {"size": len(accounts), "identifier": render.IDENTIFIER}, accounts)
        )

    def _history(self, request: Request) -> Response:
        """The watch history, paged (:mod:`emulators.plex.history`)."""
        tests = self._comparisons(request, history.FILTERS)
        try:
            entries = history.select(self.library, tests, request.arg("metadataItemID"), request.arg("sort"))
        except history.BadHistoryQuery as exc:
            raise HTTPError(400, str(exc)) from None
        start, size = self._window(request)
        page = entries[start : start + size] if size is not None else entries[start:]
        node = history.container(self.library, page, start, len(entries))
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(entries))}
        return self._answer(request, node, headers)

    def _section_refresh(self, request: Request, sectionId: str) -> Response:
        """A scan (``?path=`` limits it to a folder); ``force=1`` also re-runs the agent on every item."""
        section = self._section_of(sectionId)
        path = request.arg("path") or None
        force = request.arg("force") == "1"
        self.scan_requests.append(ScanRequest(section.key, path, force))
        if self.scan_delay <= 0:
            self._scan(section, path, force)
            return self._done()
        section.pending_scans += 1
        pending = (section, path, force)
        self._pending_scans.append(pending)
        timer = threading.Timer(self.scan_delay, self._delayed_scan, args=(pending,))
        timer.daemon = True
        timer.start()
        return self._done()

    def _delayed_scan(self, pending: tuple[Section, str | None, bool]) -> None:
        with self.library.lock:
            if any(p is pending for p in self._pending_scans):  # not finished early by finish_scans()
                self._pending_scans.remove(pending)
                section, path, force = pending
                section.pending_scans -= 1
                self._scan(section, path, force)

    def finish_scans(self) -> int:
        """Complete every scan still waiting for ``scan_delay`` now, in order; returns how many."""
        with self.library.lock:
            pending, self._pending_scans = self._pending_scans, []
            for section, path, force in pending:
                section.pending_scans -= 1
                self._scan(section, path, force)
            return len(pending)

    def _scan(self, section: Section, path: str | None, force: bool) -> None:
        added = self.library.scan(section.key, path)
        self._notify_scan(section, added)
        if not force:
            return
        for item_type in SECTION_TYPES[section.kind]:
            for rk in list(section.members[item_type]):
                item = self.library.items[rk]
                if path is None or any(under_folder(f, path) for f in item.files):
                    self.library.agent_refresh(item)


def _field_of(item: Item | None, get: Callable[[Item], Any]) -> Any:
    return None if item is None else get(item)


def _holds(value: Any, compare: Callable[[Any, float], bool], bound: float) -> bool:
    return value is not None and compare(value, bound)
