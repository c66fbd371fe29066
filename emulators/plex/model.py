"""The emulated Plex library: sections, metadata items, tags, locks, artwork and
files on disk that no scan has picked up yet.

It is plain Python, seeded without HTTP, because a library generator adds
100,000 items and the HTTP layer must stay a thin view over this state. Every
public method takes :attr:`Library.lock`, so the threaded server and a test
thread can use it at the same time.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .accounts import DEFAULT_VERSION, FIRST_MANAGED_ID, OWNER_ACCOUNT, SYSTEM_ACCOUNT, ViewState, mark_writes_history

MOVIE, SHOW, SEASON, EPISODE = 1, 2, 3, 4
# Plex's other media types (plexapi ``utils.SEARCHTYPES``): music, clips (extras), photos.
ARTIST, ALBUM, TRACK, CLIP, PHOTO = 8, 9, 10, 12, 13
TYPE_NAMES = {
    MOVIE: "movie",
    SHOW: "show",
    SEASON: "season",
    EPISODE: "episode",
    ARTIST: "artist",
    ALBUM: "album",
    TRACK: "track",
    CLIP: "clip",
    PHOTO: "photo",
}
SECTION_TYPES = {
    "movie": (MOVIE,),
    "show": (SHOW, SEASON, EPISODE),
    "artist": (ARTIST, ALBUM, TRACK),
    "photo": (PHOTO,),
}
#: Items a player plays (a view in the history, a view state); the others are folders of them.
PLAYABLE = (MOVIE, EPISODE, TRACK, CLIP, PHOTO)

#: Tag types of the edit language, in the order Plex renders them.
TAG_TYPES = ("genre", "collection", "label", "country", "director", "writer", "actor")

# Plex's scanner drops these stacking suffixes when it names a multi-part item.
_STACK_SUFFIX = re.compile(r"[ _.-]+(cd|dvd|part|pt|disk|disc)[ _.-]*\d+$", re.IGNORECASE)
_EPISODE_MARK = re.compile(r"[Ss](\d{1,3})[ ._-]?[Ee](\d{1,4})")
_SEASON_FOLDER = re.compile(r"^(season|series|staffel|saison)[ ._-]*\d+$", re.IGNORECASE)

TagSpec = str | tuple[str, str] | tuple[str, str, str]


def split_path(path: str) -> list[str]:
    """Both separators count: Plex on Windows stores ``C:\\Media\\x.mkv``."""
    return [part for part in re.split(r"[\\/]", path) if part]


def file_stem(path: str) -> str:
    name = split_path(path)[-1] if split_path(path) else path
    stem, dot, _ext = name.rpartition(".")
    return stem if dot and stem else name


def agent_title(files: Sequence[str]) -> str:
    """The title Plex's agent gives an unmatched file: its stem, without a stack suffix."""
    stem = file_stem(files[0])
    if len(files) > 1:
        stripped = _STACK_SUFFIX.sub("", stem)
        return stripped or stem
    return stem


def under_folder(path: str, folder: str) -> bool:
    """Prefix match on a folder boundary, bytes-exact (no Unicode normalisation)."""
    if path == folder:
        return True
    if not path.startswith(folder):
        return False
    return folder.endswith(("/", "\\")) or path[len(folder)] in "/\\"


def now() -> int:
    """The default clock (tests may replace it, or pass ``Library(clock=...)``)."""
    return int(time.time())


@dataclass(slots=True)
class Tag:
    tag: str
    id: int
    text: str | None = None  # an actor's role
    thumb: str | None = None  # an actor's photo URL


@dataclass(slots=True)
class Part:
    id: int
    file: str
    size: int
    duration: int


@dataclass(slots=True)
class Media:
    id: int
    duration: int
    parts: list[Part]


@dataclass(slots=True)
class Item:
    """One metadata item; string fields use "" for "not set", as Plex's XML omits them."""

    rating_key: int
    section_id: int
    type: int
    title: str
    agent_title: str
    added_at: int
    updated_at: int
    title_sort: str = ""
    original_title: str = ""
    summary: str = ""
    studio: str = ""
    tagline: str = ""
    content_rating: str = ""
    originally_available_at: str | None = None
    year: int | None = None
    user_rating: float | None = None
    last_rated_at: int | None = None
    tags: dict[str, list[Tag]] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    media: list[Media] = field(default_factory=list)
    poster: bytes | None = None
    poster_at: int | None = None
    art: bytes | None = None
    art_at: int | None = None
    parent_key: int | None = None  # season of an episode, show of a season
    index: int | None = None  # episode number, season number
    children: list[int] = field(default_factory=list)
    #: Plex keeps view state per account and *guid*, not per item: two items with
    #: one guid (the same movie in two libraries) share it. "" reads as ``local://<ratingKey>``.
    guid: str = ""
    # The view state of the token's account (Plex keeps it per account, apart
    # from the item's metadata: changing it never moves ``updatedAt``).
    view_count: int = 0
    view_offset: int = 0  # milliseconds into the item where playback stopped; 0: not in progress
    last_viewed_at: int | None = None

    @property
    def files(self) -> list[str]:
        return [part.file for media in self.media for part in media.parts]

    @property
    def guid_text(self) -> str:
        return self.guid or f"local://{self.rating_key}"

    def tag_names(self, kind: str) -> list[str]:
        return [t.tag for t in self.tags.get(kind, ())]


@dataclass
class Section:
    key: int
    title: str
    kind: str  # "movie" | "show"
    locations: list[str]
    uuid: str
    created_at: int
    updated_at: int
    scanned_at: int
    members: dict[int, list[int]] = field(default_factory=dict)  # item type -> ratingKeys
    order: dict[int, list[int]] = field(default_factory=dict)  # cached listing order
    pending_scans: int = 0

    @property
    def main_type(self) -> int:
        return SECTION_TYPES[self.kind][0]

    @property
    def agent(self) -> str:
        return _AGENTS[self.kind][0]

    @property
    def scanner(self) -> str:
        return _AGENTS[self.kind][1]


#: Each section kind's default agent and scanner, as ``/library/sections`` names them.
_AGENTS = {
    "movie": ("tv.plex.agents.movie", "Plex Movie"),
    "show": ("tv.plex.agents.series", "Plex TV Series"),
    "artist": ("tv.plex.agents.music", "Plex Music"),
    "photo": ("com.plexapp.agents.none", "Plex Photo Scanner"),
}


@dataclass(frozen=True)
class PlexItem:
    """A copy of one item's state, for tests to assert on without racing the server."""

    rating_key: int
    section_id: int
    type: str
    title: str
    title_sort: str
    original_title: str
    summary: str
    studio: str
    tagline: str
    content_rating: str
    originally_available_at: str | None
    year: int | None
    genres: list[str]
    collections: list[str]
    labels: list[str]
    actors: list[str]
    roles: list[str | None]  # the role text of each actor, same order
    actor_thumbs: list[str | None]  # the photo URL of each actor (``tagging.thumb``), same order
    directors: list[str]
    writers: list[str]
    countries: list[str]
    locked: set[str]
    poster: bytes | None
    art: bytes | None
    thumb_url: str | None
    art_url: str | None
    user_rating: float | None
    files: list[str]
    added_at: int
    updated_at: int
    show_title: str | None  # episodes and seasons
    season: int | None  # episodes (parentIndex) and seasons (index)
    episode: int | None  # episodes (index)
    view_count: int = 0
    view_offset: int = 0
    last_viewed_at: int | None = None
    last_rated_at: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One row of Plex's watch history (``metadata_item_views``): a completed view.
    The row keeps the item's type (``metadata_type``), so it still says what was
    played once the item is deleted."""

    id: int
    rating_key: int
    section_id: int
    account_id: int
    device_id: int
    viewed_at: int
    type: int = MOVIE


@dataclass(frozen=True)
class UnscannedFile:
    path: str
    title: str | None
    size: int | None = None


class Library:
    """All state of one emulated server; see the module docstring for why it is plain Python."""

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        freeze_section_stamps: bool = False,
        version: str = DEFAULT_VERSION,
        owner_name: str = "owner",
    ) -> None:
        #: Where addedAt/updatedAt come from (replace it to step time in tests); None: :func:`now`.
        self.clock = clock
        #: Sections' updatedAt/scannedAt/contentChangedAt never move (nobody has
        #: checked which of them a real scan moves: ../shared/plex-facts.md).
        self.freeze_section_stamps = freeze_section_stamps
        self.lock = threading.RLock()
        self.machine_identifier = uuid.uuid4().hex
        self.sections: dict[int, Section] = {}
        self.items: dict[int, Item] = {}
        self.unscanned: dict[int, list[UnscannedFile]] = {}
        self._files: dict[str, list[int]] = {}
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._shows: dict[tuple[int, str], int] = {}  # (section, show folder title) -> ratingKey
        #: Every image uploaded to an item, as Plex keeps them: (ratingKey, "poster"|"art") -> {key: bytes}.
        self.uploads: dict[tuple[int, str], dict[str, bytes]] = {}
        self._next_section = 1
        #: Rating keys are SQLite rowids: a new item gets the largest live one + 1, so
        #: the key of the newest item, once deleted, goes to the next item added.
        self._max_rating_key = 0
        self._next_media = 1
        self._next_part = 1
        #: The watch history, oldest first (ids grow with it, as Plex's row ids do).
        self.history: list[HistoryEntry] = []
        #: What ``GET /`` reports; it decides whether a mark as played writes history.
        self.version = version
        #: Account id -> name (``GET /accounts``); the owner's view state lives on the items.
        self.accounts: dict[int, str] = {SYSTEM_ACCOUNT: "", OWNER_ACCOUNT: owner_name}
        #: Every other account's view state, by (account id, guid).
        self.account_views: dict[tuple[int, str], ViewState] = {}

    # -- seeding ------------------------------------------------------------
    def add_section(self, title: str, kind: str, locations: Iterable[str]) -> int:
        if kind not in SECTION_TYPES:
            raise ValueError(f"section kind must be 'movie' or 'show', not {kind!r}")
        with self.lock:
            key = self._next_section
            self._next_section += 1
            stamp = self.now()
            self.sections[key] = Section(
                key=key,
                title=title,
                kind=kind,
                locations=list(locations),
                uuid=str(uuid.uuid4()),
                created_at=stamp,
                updated_at=stamp,
                scanned_at=stamp,
                members={t: [] for t in SECTION_TYPES[kind]},
            )
            self.unscanned[key] = []
            return key

    def add_movie(
        self,
        section_id: int,
        files: Sequence[str],
        title: str | None = None,
        *,
        summary: str = "",
        studio: str = "",
        tagline: str = "",
        content_rating: str = "",
        title_sort: str = "",
        original_title: str = "",
        originally_available_at: str | None = None,
        year: int | None = None,
        user_rating: float | None = None,
        genres: Iterable[str] = (),
        collections: Iterable[str] = (),
        labels: Iterable[str] = (),
        countries: Iterable[str] = (),
        directors: Iterable[str] = (),
        writers: Iterable[str] = (),
        actors: Iterable[TagSpec] = (),
        locked: Iterable[str] = (),
        sizes: Sequence[int] | None = None,
        guid: str = "",
    ) -> int:
        """Add an item as a finished scan would: one Media, one Part per file (``sizes``: their byte sizes).
        ``guid``: the agent's match (items sharing one share their view state); "": unmatched."""
        with self.lock:
            section = self._section(section_id, "movie")
            item = self._new_item(section, MOVIE, files, title, sizes)
            item.guid = guid
            item.summary, item.studio, item.tagline = summary, studio, tagline
            item.content_rating, item.title_sort, item.original_title = (
                content_rating,
                title_sort,
                original_title,
            )
            item.originally_available_at, item.year, item.user_rating = (
                originally_available_at,
                year,
                user_rating,
            )
            seeded = {
                "genre": genres,
                "collection": collections,
                "label": labels,
                "country": countries,
                "director": directors,
                "writer": writers,
                "actor": actors,
            }
            for kind, specs in seeded.items():
                tags = [self._tag_from_spec(kind, spec) for spec in specs]
                if tags:
                    item.tags[kind] = tags
            item.locked = frozenset(locked)
            return item.rating_key

    def add_episode(
        self,
        section_id: int,
        show_title: str,
        season: int,
        episode: int,
        files: Sequence[str],
        title: str | None = None,
        sizes: Sequence[int] | None = None,
    ) -> int:
        """Add an episode, creating its show and season Directory items on first use."""
        with self.lock:
            section = self._section(section_id, "show")
            season_item = self._season(section, show_title, season)
            item = self._new_item(section, EPISODE, files, title, sizes)
            item.parent_key, item.index = season_item.rating_key, episode
            season_item.children.append(item.rating_key)
            return item.rating_key

    def add_unscanned_file(self, section_id: int, path: str, title: str | None = None, size: int | None = None) -> None:
        """A file on disk that becomes an item only when a scan covers its folder.

        In a show section a scan adds only files named with ``SxxEyy``, as Plex's
        TV scanner does; others stay on disk, outside the library.
        """
        with self.lock:
            self._section(section_id)
            self.unscanned[section_id].append(UnscannedFile(path, title, size))

    # -- other media, accounts and deletion (what the way back must tell apart) ----
    def add_track(
        self, section_id: int, artist: str, album: str, index: int, files: Sequence[str], title: str | None = None
    ) -> int:
        """A music track, creating its artist and album Directory items on first use."""
        with self.lock:
            section = self._section(section_id, "artist")
            album_item = self._folder(section, ARTIST, artist, ALBUM, album, None)
            item = self._new_item(section, TRACK, files, title)
            item.parent_key, item.index = album_item.rating_key, index
            album_item.children.append(item.rating_key)
            return item.rating_key

    def add_photo(self, section_id: int, files: Sequence[str], title: str | None = None) -> int:
        with self.lock:
            return self._new_item(self._section(section_id, "photo"), PHOTO, files, title).rating_key

    def add_clip(self, parent_key: int, files: Sequence[str], title: str | None = None) -> int:
        """An extra (trailer, featurette) of a movie: a ``clip`` in the movie's section
        that no ``/all`` listing shows, but whose views enter the history."""
        with self.lock:
            parent = self.item(parent_key)
            section = self.sections[parent.section_id]
            item = self._new_item(section, CLIP, files, title, listed=False)
            item.parent_key = parent_key
            return item.rating_key

    def add_account(self, name: str) -> int:
        """A managed (or shared) user of the server; returns its account id."""
        with self.lock:
            account_id = max(FIRST_MANAGED_ID - 1, *self.accounts) + 1
            self.accounts[account_id] = name
            return account_id

    def delete_item(self, rating_key: int) -> None:
        """The item's file was removed and Plex emptied the trash: the item is gone,
        its history rows stay (they keep its rating key and type). Its rating key
        goes to the next item added when it was the largest (SQLite rowid reuse)."""
        with self.lock:
            item = self.item(rating_key)
            for child in list(item.children):
                self.delete_item(child)
            section = self.sections[item.section_id]
            if rating_key in section.members.get(item.type, ()):
                section.members[item.type].remove(rating_key)
            section.order.pop(item.type, None)
            for path in item.files:
                holders = self._files.get(path, [])
                if rating_key in holders:
                    holders.remove(rating_key)
            parent = self.items.get(item.parent_key) if item.parent_key else None
            if parent is not None and rating_key in parent.children:
                parent.children.remove(rating_key)
            for kind in ("poster", "art"):
                self.uploads.pop((rating_key, kind), None)
            for key in [k for k in self.account_views if k[1] == f"local://{rating_key}"]:
                del self.account_views[key]
            del self.items[rating_key]
            self._max_rating_key = max(self.items, default=0)
            self._section_changed(section)

    def _folder(self, section: Section, top_type: int, top: str, sub_type: int, sub: str, index: int | None) -> Item:
        """The ``sub`` Directory (album) under the ``top`` one (artist), each made on first use."""
        top_item = next(
            (self.items[k] for k in section.members[top_type] if self.items[k].title == top), None
        ) or self._new_item(section, top_type, (), top)
        top_item.agent_title = top_item.title
        for key in top_item.children:
            if self.items[key].title == sub:
                return self.items[key]
        sub_item = self._new_item(section, sub_type, (), sub)
        sub_item.agent_title = sub
        sub_item.parent_key, sub_item.index = top_item.rating_key, index
        top_item.children.append(sub_item.rating_key)
        return sub_item

    # -- reading --------------------------------------------------------------
    def item(self, rating_key: int) -> Item:
        try:
            return self.items[rating_key]
        except KeyError:
            raise KeyError(f"no item with ratingKey {rating_key}") from None

    def find_by_file(self, path: str) -> list[int]:
        with self.lock:
            return list(self._files.get(path, ()))

    def snapshot(self, rating_key: int) -> PlexItem:
        with self.lock:
            item = self.item(rating_key)
            show, season, episode = self._lineage(item)
            actors = item.tags.get("actor", [])
            return PlexItem(
                rating_key=item.rating_key,
                section_id=item.section_id,
                type=TYPE_NAMES[item.type],
                title=item.title,
                title_sort=item.title_sort,
                original_title=item.original_title,
                summary=item.summary,
                studio=item.studio,
                tagline=item.tagline,
                content_rating=item.content_rating,
                originally_available_at=item.originally_available_at,
                year=item.year,
                genres=item.tag_names("genre"),
                collections=item.tag_names("collection"),
                labels=item.tag_names("label"),
                actors=[t.tag for t in actors],
                roles=[t.text for t in actors],
                actor_thumbs=[t.thumb for t in actors],
                directors=item.tag_names("director"),
                writers=item.tag_names("writer"),
                countries=item.tag_names("country"),
                locked=set(item.locked),
                poster=item.poster,
                art=item.art,
                thumb_url=thumb_url(item),
                art_url=art_url(item),
                user_rating=item.user_rating,
                files=item.files,
                added_at=item.added_at,
                updated_at=item.updated_at,
                show_title=show,
                season=season,
                episode=episode,
                view_count=item.view_count,
                view_offset=item.view_offset,
                last_viewed_at=item.last_viewed_at,
                last_rated_at=item.last_rated_at,
            )

    def snapshots(self) -> list[PlexItem]:
        with self.lock:
            return [self.snapshot(rk) for rk in self.items]

    def listing(self, section: Section, item_type: int) -> list[int]:
        """Plex's default order for ``/all``: by sort title, cached until a title changes."""
        with self.lock:
            order = section.order.get(item_type)
            if order is None:
                order = sorted(section.members.get(item_type, ()), key=self._sort_key)
                section.order[item_type] = order
            return order

    def show_of(self, item: Item) -> Item | None:
        if item.type == EPISODE and item.parent_key is not None:
            item = self.items[item.parent_key]
        if item.type == SEASON and item.parent_key is not None:
            return self.items[item.parent_key]
        return item if item.type == SHOW else None

    def leaves(self, item: Item) -> list[int]:
        """Every episode under a show or season (track under an artist or album), in order."""
        if item.type in (SEASON, ALBUM):
            return sorted(item.children, key=lambda rk: self.items[rk].index or 0)
        seasons = sorted(item.children, key=lambda rk: self.items[rk].index or 0)
        return [rk for season in seasons for rk in self.leaves(self.items[season])]

    def tag_id(self, kind: str, name: str) -> int:
        key = (kind, name)
        tag_id = self._tag_ids.get(key)
        if tag_id is None:
            tag_id = self._tag_ids[key] = len(self._tag_ids) + 1
        return tag_id

    # -- changing -------------------------------------------------------------
    def touch(self, item: Item, *, reorder: bool = False) -> None:
        """Bump ``updatedAt``: never backwards, and strictly forward even twice in one second."""
        item.updated_at = max(self.now(), item.updated_at + 1)
        if reorder:
            self.sections[item.section_id].order.clear()

    def upload_image(self, item: Item, kind: str, data: bytes) -> str:
        """Keep an uploaded poster or background and select it; its key is ``upload://<kind>s/<sha1>``."""
        key = f"upload://{kind}s/{hashlib.sha1(data).hexdigest()}"
        self.uploads.setdefault((item.rating_key, kind), {})[key] = data
        self.select_image(item, kind, key)
        return key

    def select_image(self, item: Item, kind: str, key: str) -> None:
        data = self.uploads.get((item.rating_key, kind), {})[key]
        self.touch(item)
        if kind == "poster":
            item.poster, item.poster_at = data, item.updated_at
        else:
            item.art, item.art_at = data, item.updated_at

    def agent_refresh(self, item: Item) -> None:
        """What ``PUT /library/metadata/{id}/refresh`` does: the agent rewrites every unlocked field.

        The agent of an unmatched file knows only the file name, so unlocked
        text fields go blank, unlocked tag lists empty, an unlocked uploaded
        poster or background is dropped, and the title returns to the file stem.
        """
        locked = item.locked
        if "title" not in locked:
            item.title = item.agent_title
        for name, attr in (
            ("titleSort", "title_sort"),
            ("originalTitle", "original_title"),
            ("summary", "summary"),
            ("studio", "studio"),
            ("tagline", "tagline"),
            ("contentRating", "content_rating"),
        ):
            if name not in locked:
                setattr(item, attr, "")
        if "originallyAvailableAt" not in locked:
            item.originally_available_at = None
        if "year" not in locked:
            item.year = None
        for kind in list(item.tags):
            if kind not in locked:
                del item.tags[kind]
        if "thumb" not in locked:
            item.poster = item.poster_at = None
        if "art" not in locked:
            item.art = item.art_at = None
        self.touch(item, reorder=True)

    def scan(self, section_id: int, path: str | None) -> list[int]:
        """Turn the unscanned files of a section under ``path`` (all when None) into items."""
        with self.lock:
            section = self.sections[section_id]
            added: list[int] = []
            left: list[UnscannedFile] = []
            for found in self.unscanned[section_id]:
                covered = path is None or under_folder(found.path, path)
                rating_key = self._add_scanned(section, found) if covered else None
                if rating_key is None:
                    left.append(found)
                else:
                    added.append(rating_key)
            self.unscanned[section_id] = left
            self._section_changed(section)
            return added

    def now(self) -> int:
        return now() if self.clock is None else int(self.clock())

    # -- playback (what a Plex client's scrobble, timeline and rating requests do) --
    def play(self, rating_key: int, at: int | None = None, account_id: int = OWNER_ACCOUNT, device_id: int = 1) -> int:
        """A view watched to the end by ``account_id``: its ``viewCount`` + 1, its resume
        point cleared, one history entry; returns the entry's id."""
        with self.lock:
            item = self._playable(rating_key)
            stamp = self.now() if at is None else int(at)
            state = self.view_state(rating_key, account_id)
            self._set_view(item, account_id, ViewState(state.view_count + 1, 0, stamp))
            return self._record(item, account_id, device_id, stamp)

    def partial_play(
        self, rating_key: int, offset_ms: int, at: int | None = None, account_id: int = OWNER_ACCOUNT
    ) -> None:
        """Playback stopped ``offset_ms`` into the item: a resume point, no history entry
        (Plex records a view only once most of the item was watched)."""
        with self.lock:
            item = self._playable(rating_key)
            state = self.view_state(rating_key, account_id)
            stamp = self.now() if at is None else int(at)
            self._set_view(item, account_id, ViewState(state.view_count, max(0, int(offset_ms)), stamp))

    def mark_played(
        self, rating_key: int, at: int | None = None, account_id: int = OWNER_ACCOUNT, device_id: int = 1
    ) -> list[int]:
        """Mark as played (``/:/scrobble``): every leaf of the item (a show's or
        season's episodes) gets ``viewCount`` + 1, no resume point and a new
        ``lastViewedAt``; history entries only on servers before 1.40
        (:func:`emulators.plex.accounts.mark_writes_history`). Returns their ids."""
        with self.lock:
            item = self.item(rating_key)
            folder = item.type not in PLAYABLE
            leaves = self.leaves(item) if folder else [rating_key]
            stamp = self.now() if at is None else int(at)
            recorded = []
            for key in leaves:
                leaf = self.items[key]
                state = self.view_state(key, account_id)
                self._set_view(leaf, account_id, ViewState(state.view_count + 1, 0, stamp))
                if mark_writes_history(self.version, folder):
                    recorded.append(self._record(leaf, account_id, device_id, stamp))
            return recorded

    def mark_unplayed(self, rating_key: int, account_id: int = OWNER_ACCOUNT) -> None:
        """``/:/unscrobble``: the view state of the item (of every leaf of a folder) is cleared."""
        with self.lock:
            item = self.item(rating_key)
            leaves = self.leaves(item) if item.type not in PLAYABLE else [rating_key]
            for key in leaves:
                self._set_view(self.items[key], account_id, ViewState())

    def view_state(self, rating_key: int, account_id: int = OWNER_ACCOUNT) -> ViewState:
        """An account's view state of an item (a copy)."""
        with self.lock:
            item = self.item(rating_key)
            if account_id == OWNER_ACCOUNT:
                return ViewState(item.view_count, item.view_offset, item.last_viewed_at)
            state = self.account_views.get((account_id, item.guid_text), ViewState())
            return ViewState(state.view_count, state.view_offset, state.last_viewed_at)

    def rate(self, rating_key: int, rating: float | None, at: int | None = None) -> None:
        """A user rating 0-10 (None clears it), as ``PUT /:/rate`` stores it."""
        with self.lock:
            item = self.item(rating_key)
            item.user_rating = rating
            item.last_rated_at = self.now() if at is None else int(at)

    def _playable(self, rating_key: int) -> Item:
        item = self.item(rating_key)
        if item.type not in PLAYABLE:
            raise ValueError(f"item {rating_key} is a {TYPE_NAMES[item.type]}: only media items are played")
        return item

    def _set_view(self, item: Item, account_id: int, state: ViewState) -> None:
        """Store an account's view state of the item: on every item sharing its guid."""
        if account_id != OWNER_ACCOUNT:
            self.account_views[(account_id, item.guid_text)] = state
            return
        for key in self._sharing_guid(item):
            other = self.items[key]
            other.view_count, other.view_offset, other.last_viewed_at = (
                state.view_count,
                state.view_offset,
                state.last_viewed_at,
            )

    def _sharing_guid(self, item: Item) -> list[int]:
        if not item.guid:
            return [item.rating_key]
        return [key for key, other in self.items.items() if other.guid == item.guid]

    def _record(self, item: Item, account_id: int, device_id: int, stamp: int) -> int:
        entry_id = (self.history[-1].id if self.history else 0) + 1
        self.history.append(
            HistoryEntry(entry_id, item.rating_key, item.section_id, account_id, device_id, stamp, item.type)
        )
        return entry_id

    def _section_changed(self, section: Section) -> None:
        if not self.freeze_section_stamps:
            section.scanned_at = section.updated_at = self.now()

    # -- internals ------------------------------------------------------------
    def _section(self, section_id: int, kind: str | None = None) -> Section:
        section = self.sections.get(section_id)
        if section is None:
            raise KeyError(f"no section {section_id}")
        if kind is not None and section.kind != kind:
            raise ValueError(f"section {section_id} is a {section.kind} section, not a {kind} section")
        return section

    def _new_item(
        self,
        section: Section,
        item_type: int,
        files: Sequence[str],
        title: str | None,
        sizes: Sequence[int] | None = None,
        listed: bool = True,
    ) -> Item:
        if isinstance(files, str):
            raise TypeError("files must be a list of paths, not one string")
        stamp = self.now()
        # Items only enter a library through a scan, which Plex records on the section.
        self._section_changed(section)
        rating_key = self._max_rating_key + 1
        self._max_rating_key = rating_key
        name = agent_title(files) if files else ""
        item = Item(
            rating_key=rating_key,
            section_id=section.key,
            type=item_type,
            title=name if title is None else title,
            agent_title=name,
            added_at=stamp,
            updated_at=stamp,
        )
        if files:
            item.media.append(self._media(files, sizes))
            for path in files:
                self._files.setdefault(path, []).append(rating_key)
        self.items[rating_key] = item
        if listed:
            section.members[item_type].append(rating_key)
            section.order.pop(item_type, None)
        return item

    def _media(self, files: Sequence[str], sizes: Sequence[int] | None = None) -> Media:
        if sizes is not None and len(sizes) != len(files):
            raise ValueError("sizes must give one size per file")
        parts = []
        for n, path in enumerate(files):
            part_id = self._next_part
            self._next_part += 1
            size = 700_000_000 + part_id if sizes is None else int(sizes[n])
            parts.append(Part(id=part_id, file=path, size=size, duration=3_600_000))
        media = Media(id=self._next_media, duration=3_600_000 * len(parts), parts=parts)
        self._next_media += 1
        return media

    def _season(self, section: Section, show_title: str, index: int) -> Item:
        show_key = self._shows.get((section.key, show_title))
        if show_key is None:
            show = self._new_item(section, SHOW, (), show_title)
            show.agent_title = show_title
            self._shows[(section.key, show_title)] = show.rating_key
        else:
            show = self.items[show_key]
        for rk in show.children:
            if self.items[rk].index == index:
                return self.items[rk]
        season = self._new_item(section, SEASON, (), f"Season {index}")
        season.agent_title = season.title
        season.parent_key, season.index = show.rating_key, index
        show.children.append(season.rating_key)
        return season

    def _add_scanned(self, section: Section, found: UnscannedFile) -> int | None:
        sizes = None if found.size is None else [found.size]
        if section.kind == "movie":
            return self.add_movie(section.key, [found.path], found.title, sizes=sizes)
        mark = _EPISODE_MARK.search(file_stem(found.path))
        if mark is None:
            return None
        folders = split_path(found.path)[:-1]
        if len(folders) >= 2 and _SEASON_FOLDER.match(folders[-1]):
            show_title = folders[-2]
        else:
            show_title = folders[-1] if folders else file_stem(found.path)
        return self.add_episode(
            section.key, show_title, int(mark.group(1)), int(mark.group(2)), [found.path], found.title, sizes
        )

    def _tag_from_spec(self, kind: str, spec: TagSpec) -> Tag:
        if isinstance(spec, str):
            return Tag(spec, self.tag_id(kind, spec))
        name, text, *thumb = spec
        return Tag(name, self.tag_id(kind, name), text, thumb[0] if thumb else None)

    def _sort_key(self, rating_key: int) -> tuple:
        item = self.items[rating_key]
        if item.type in (MOVIE, SHOW, ARTIST, PHOTO):
            return ((item.title_sort or item.title).casefold(), rating_key)
        show = self.show_of(item)
        show_key = (show.title_sort or show.title).casefold() if show else ""
        if item.type == SEASON:
            return (show_key, show.rating_key if show else 0, item.index or 0, rating_key)
        season = self.items[item.parent_key] if item.parent_key else None
        season_index = season.index if season else 0
        return (show_key, show.rating_key if show else 0, season_index or 0, item.index or 0, rating_key)

    def _lineage(self, item: Item) -> tuple[str | None, int | None, int | None]:
        if item.type == EPISODE:
            season = self.items[item.parent_key] if item.parent_key else None
            show = self.show_of(item)
            return (show.title if show else None, season.index if season else None, item.index)
        if item.type == SEASON:
            show = self.show_of(item)
            return (show.title if show else None, item.index, None)
        return (None, None, None)


def thumb_url(item: Item) -> str | None:
    return f"/library/metadata/{item.rating_key}/thumb/{item.poster_at}" if item.poster_at else None


def art_url(item: Item) -> str | None:
    return f"/library/metadata/{item.rating_key}/art/{item.art_at}" if item.art_at else None
