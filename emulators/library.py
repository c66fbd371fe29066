"""A generated media library that a Stash and a Plex emulator both hold, as a user's would.

Real libraries are where a sync tool breaks: the same file is known to Stash
under ``/data/stash/...`` and to Plex under ``/media/plex/...``; a scene can
have two files and a Plex item two parts (``- cd1``/``- cd2``); macOS leaves
decomposed (NFD) names beside composed (NFC) ones, and both sides keep the
bytes the filesystem gave them; ``video.mp4`` exists in fifty folders; some
scenes have no metadata at all; Plex has not scanned the newest files yet, and
one file can sit in two Plex libraries. :func:`generate_library` produces all
of that deterministically from a seed, and :meth:`Library.seed` loads it into
both emulators with direct Python calls, no HTTP (100,000 scenes: about
3 s to generate and 6 s to seed, most of it inside the emulators).

Where Stash and Plex *disagree* about a file, the variety is opt-in, so the
default library stays exactly what it was (tests pin it):

- ``setup=`` names the hosts: ``"linux"`` (both POSIX, the default),
  ``"stash_windows"`` (Stash on Windows with a drive, a UNC share and a
  ``\\\\?\\`` long-path root; Plex on Linux) or ``"plex_windows"`` (Stash on
  Linux; Plex on Windows with the same three kinds of root), see :data:`SETUPS`;
- ``extras=`` adds scene traits from :data:`EXTRAS` (Unicode form or case that
  differ between the sides, coverless scenes, same-name-and-size twins, files
  Plex holds under a folder no path rule covers).

Every file has one size, known to both sides (Stash ``files { size }``, Plex
``Part size=``), as the same file on disk would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import ntpath
import posixpath
import random
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from emulators.plex import PlexEmulator
    from emulators.stash import StashEmulator

MIN_SCENES, MAX_SCENES = 10, 100_000
T = TypeVar("T")

#: Plex library sections: title -> (kind, folders under the Plex root).
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Movies": ("movie", ("movies", "archive")),
    "Favourites": ("movie", ("movies/Favourites",)),
    "TV Shows": ("show", ("shows",)),
}

# Every variety a scene can carry; ``GeneratedScene.traits`` holds its own.
TRAITS = (
    "episode",  # in the TV section, Show/Season 01/Show - S01E02.mp4
    "bare",  # no metadata at all in Stash
    "unscanned",  # on disk in a Plex folder, but Plex has not scanned it yet
    "outside_plex",  # in a Stash folder no Plex section covers
    "multifile",  # one Stash scene, two files, two Plex items
    "multipart",  # one Plex item with parts "- cd1"/"- cd2"
    "two_sections",  # the same file in two Plex sections
    "nfc",  # composed accents in the file name
    "nfd",  # decomposed accents in the file name (title stays NFC)
    "japanese",
    "emoji",
    "special_chars",  # & # % ' [ ] in the file name: URL-encoding traps
    "generic_name",  # video.mp4 and friends, the same name in many folders
)

#: Opt-in traits (``generate_library(extras=...)``); each draws from its own
#: random stream, so turning one on does not reshuffle the rest of the library.
EXTRAS = (
    "nf_differs",  # Stash's path in one Unicode form (NFD/NFC), Plex's Part.file in the other
    "case_differs",  # Windows Plex only: Part.file differs in case from what the path rule gives
    "coverless",  # Stash has no cover: paths.screenshot serves Stash's SVG placeholder
    "twin",  # two scenes whose files share name and size in different folders; one Plex has not scanned
    "unmapped",  # Plex holds the file under a folder no path rule covers (same name and size)
    "ambiguous",  # unmapped, and Plex has a second file of that name and size: no unique guess exists
)

#: Hosts per ``setup``: top folder -> (Stash root, Plex root; None: no Plex section covers it).
SETUPS: dict[str, dict[str, tuple[str, str | None]]] = {
    "stash_windows": {
        "movies": ("D:\\Movies", "/media/plex/movies"),
        "archive": ("\\\\NAS\\media\\archive", "/mnt/nas/archive"),
        "shows": ("\\\\?\\E:\\TV Shows", "/media/plex/shows"),
        "private": ("D:\\Private", None),
    },
    "plex_windows": {
        "movies": ("/data/stash/movies", "C:\\Media\\Movies"),
        "archive": ("/data/stash/archive", "\\\\NAS\\media\\archive"),
        "shows": ("/data/stash/shows", "\\\\?\\C:\\Media\\TV Shows"),
        "private": ("/data/stash/private", None),
    },
}
#: Where ``unmapped`` files sit in Plex: a folder of the Movies section that no path rule names.
UNMAPPED_ROOTS = {"posix": "/srv/old-plex", "windows": "D:\\Old Plex"}

_FIRST = (
    "Anna", "Bella", "Chloé", "Dana", "Élodie", "Fiona", "Greta", "Hana", "Iris", "Jade",
    "Kira", "Léa", "Maya", "Nina", "Olga", "Paz", "Rosa", "Sofía", "Tess", "Zoë",
    "Adam", "Björn", "Carlos", "Dmitri", "Ethan", "François", "Jonas", "Luca", "Mateo", "Noah",
    "さくら", "ゆい", "Юлия", "Ирина", "Søren", "Łukasz", "Ömer", "Nguyễn",
)  # fmt: skip
_LAST = (
    "Andersen", "Brooks", "Castillo", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ito",
    "Jensen", "Kowalski", "Lambert", "Moreau", "Nakamura", "O'Brien", "Petrov", "Quinn",
    "Rossi", "Schäfer", "Tanaka", "Müller", "Núñez", "Øster", "Smith", "Wright", "Young",
)  # fmt: skip
_GENDERS = ("FEMALE", "MALE", "TRANSGENDER_FEMALE", "TRANSGENDER_MALE", "INTERSEX", "NON_BINARY")
_STUDIO_WORDS = (
    "Red", "Blue", "Silver", "Golden", "Midnight", "Urban", "Coastal", "Velvet", "Neon",
    "Northern", "Wild", "Crystal", "Electric", "Secret", "Royal", "Lunar", "Amber", "Iron",
)  # fmt: skip
_STUDIO_NOUNS = ("Pictures", "Studios", "Films", "Media", "Productions", "Works", "House", "Lab", "Cinema")
_NETWORKS = ("Network One", "Ωmega Group", "Nordic Media", "桜ホールディングス", "Blue Planet Holdings")
_TAGS = (
    "Outdoor", "Indoor", "Interview", "Behind the Scenes", "Comedy", "Drama", "Documentary",
    "Music", "Travel", "Cooking", "Sports", "Vintage", "4K", "HDR", "Short", "Feature",
    "Night", "Beach", "City", "Forest", "Snow", "Rain", "Romance", "Action", "Mystery",
    "Café", "Fête", "Naïve", "Über", "日本", "アニメ", "Кино", "🎬 Favourite", "Rock & Roll",
)  # fmt: skip
_TITLE_WORDS = (
    "Summer", "Winter", "Journey", "Secret", "Garden", "Morning", "Evening", "Light", "Shadow",
    "River", "Mountain", "Ocean", "Dream", "Story", "Return", "Road", "Window", "Letter",
    "Island", "Storm", "Silence", "Echo", "Harbor", "Meadow", "Mirror", "Station", "Voyage",
)  # fmt: skip
_ACCENTED = (
    "Café Crème", "Crème Brûlée", "Déjà Vu", "Fête à Noël", "Naïve Élan",
    "Über Straße", "Señorita Niño", "São João", "Rosé Soirée", "Ångström Öl",
)  # fmt: skip
_JAPANESE = ("東京の夜", "桜の季節", "夏祭り", "海辺の物語", "雪の日", "初恋", "月光", "京都散歩")
_EMOJI = ("🎬 Premiere 🍿", "Sunset 🌅 Drive", "Party 🎉 Night", "Love ❤️ Story", "🔥 Hot Summer", "Rain 🌧")
_SPECIAL = (
    "Rock & Roll #1", "100% Pure", "Tom's Holiday", "[4K] Remaster", "Q&A Session (Live)",
    "What?! Really", "Plus+Minus = Zero", "50% Off; Final Sale", "Hash #Tag & Co", "C'est la vie",
)  # fmt: skip
_GENERIC = ("video.mp4", "scene.mp4", "movie.mkv", "clip.mp4", "IMG_0001.MOV", "output.mp4", "final.mp4")
_SHOWS = (
    "The Long Road", "Café Stories", "東京 Nights", "Ocean Explorers", "Kitchen Heroes", "Mountain Rescue",
    "Ünder the Radar", "Night Shift", "City Lights", "The Garden Hour",
)  # fmt: skip


@dataclass(frozen=True)
class GeneratedStudio:
    name: str
    parent: str | None
    image: bytes | None


@dataclass(frozen=True)
class GeneratedPerformer:
    name: str
    gender: str | None
    image: bytes | None


@dataclass(frozen=True)
class PlexEntry:
    """One thing on disk as Plex sees it: an item to add (per section) or a file not scanned yet."""

    sections: tuple[str, ...]
    kind: str  # movie | episode
    files: tuple[str, ...]  # Plex paths, several for a multi-part item
    scanned: bool
    show: str | None = None
    season: int | None = None
    episode: int | None = None


@dataclass
class GeneratedScene:
    """One Stash scene, what Plex knows of its files, and (after seeding) both ids."""

    index: int
    title: str | None
    details: str | None
    date: str | None
    code: str | None
    director: str | None
    urls: list[str]
    rating100: int | None
    organized: bool
    studio: str | None
    performers: list[str]
    tags: list[str]
    group: tuple[str, int | None] | None  # (group name, scene_index)
    files: list[dict[str, object]]  # Stash file specs: path, size, duration
    plex_paths: list[str]
    kind: str  # movie | episode
    scanned: bool  # Plex has an item for every one of its files
    multipart: bool  # its Plex item has several parts
    traits: frozenset[str]
    entries: tuple[int, ...] = field(repr=False, default=())  # indexes into Library.plex_entries
    stash_id: str | None = None
    rating_keys: list[int] = field(default_factory=list)

    @property
    def stash_paths(self) -> list[str]:
        return [str(spec["path"]) for spec in self.files]


@dataclass
class Library:
    stash_root: str
    plex_root: str
    seed_value: int
    studios: list[GeneratedStudio]
    performers: list[GeneratedPerformer]
    tags: list[str]
    groups: list[str]
    scenes: list[GeneratedScene]
    plex_entries: list[PlexEntry]
    #: Plex section title -> section id, once seeded.
    section_ids: dict[str, int] = field(default_factory=dict)
    setup: str = "linux"
    extras: frozenset[str] = frozenset()
    #: (Stash root, Plex root) pairs a user would write as path rules; one pair on "linux".
    roots: list[tuple[str, str]] = field(default_factory=list)
    #: Plex folders of the Movies section beyond ``plex_root/movies`` and ``/archive`` (``unmapped``).
    extra_movie_locations: list[str] = field(default_factory=list)
    #: Movies in Plex that no Stash scene has (``ambiguous``): (Plex path, size).
    stray_plex_files: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.roots:
            self.roots = [(self.stash_root, self.plex_root)]

    @property
    def stash_windows(self) -> bool:
        """Stash runs on Windows: seed a ``StashEmulator(windows=True)``."""
        return self.setup == "stash_windows"

    @property
    def plex_windows(self) -> bool:
        return self.setup == "plex_windows"

    @property
    def path_map(self) -> str:
        """The PLEXSYNC_PATH_MAP a user of this library would configure (longest prefix first)."""
        rules = sorted(self.roots, key=lambda pair: -len(pair[0]))
        return ";".join(f"{stash}={plex}" for stash, plex in rules)

    def to_plex(self, stash_path: str) -> str:
        """What the path rules make of a Stash path (separators converted; no case or Unicode change)."""
        for stash_root, plex_root in sorted(self.roots, key=lambda pair: -len(pair[0])):
            stash_sep = "\\" if _is_windows_path(stash_root) else "/"
            if stash_path.startswith(stash_root + stash_sep):
                rest = stash_path[len(stash_root) + 1 :]
                plex_sep = "\\" if _is_windows_path(plex_root) else "/"
                return plex_root + plex_sep + rest.replace(stash_sep, plex_sep)
        raise ValueError(f"{stash_path!r} is not under {self.path_map}")

    def plex_locations(self, section: str) -> list[str]:
        """The folders of one Plex section, in this library's setup."""
        _, folders = SECTIONS[section]
        if self.setup == "linux":
            found = [f"{self.plex_root}/{folder}" for folder in folders]
        else:
            found = []
            for folder in folders:
                top, _, rest = folder.partition("/")
                root = SETUPS[self.setup][top][1]
                assert root is not None
                found.append(_join(root, rest) if rest else root)
        return found + (self.extra_movie_locations if section == "Movies" else [])

    def with_trait(self, trait: str) -> list[GeneratedScene]:
        return [scene for scene in self.scenes if trait in scene.traits]

    def seed(self, stash: StashEmulator, plex: PlexEmulator) -> None:
        """Load the library into both emulators; fills ``stash_id`` and ``rating_keys``."""
        if stash.library.windows != self.stash_windows:
            raise ValueError(f"this library's Stash needs StashEmulator(windows={self.stash_windows})")
        with _gc_paused():
            self._seed_stash(stash)
            self._seed_plex(plex)

    def _seed_stash(self, stash: StashEmulator) -> None:
        studio_ids: dict[str, str] = {}
        for studio in self.studios:  # parents come first
            parent = studio_ids[studio.parent] if studio.parent else None
            studio_ids[studio.name] = str(stash.add_studio(studio.name, parent_id=parent, image=studio.image))
        performer_ids = {
            p.name: str(stash.add_performer(p.name, gender=p.gender, image=p.image)) for p in self.performers
        }
        tag_ids = {name: str(stash.add_tag(name)) for name in self.tags}
        group_ids = {name: str(stash.add_group(name)) for name in self.groups}
        for scene in self.scenes:
            fields: dict[str, object] = {}
            for name in ("title", "details", "date", "code", "director", "rating100"):
                value = getattr(scene, name)
                if value is not None:
                    fields[name] = value
            if scene.urls:
                fields["urls"] = scene.urls
            if scene.organized:
                fields["organized"] = True
            if scene.studio:
                fields["studio_id"] = studio_ids[scene.studio]
            if scene.performers:
                fields["performer_ids"] = [performer_ids[name] for name in scene.performers]
            if scene.tags:
                fields["tag_ids"] = [tag_ids[name] for name in scene.tags]
            if scene.group:
                fields["groups"] = ((group_ids[scene.group[0]], scene.group[1]),)
            if "coverless" in scene.traits:
                fields["screenshot"] = False
            scene.stash_id = str(stash.add_scene(files=tuple(scene.files), **fields))

    def _seed_plex(self, plex: PlexEmulator) -> None:
        for title, (kind, _) in SECTIONS.items():
            self.section_ids[title] = plex.add_section(title=title, kind=kind, locations=self.plex_locations(title))
        size_of = {p: int(f["size"]) for s in self.scenes for p, f in zip(s.plex_paths, s.files, strict=True)}  # type: ignore[call-overload]
        entry_keys: list[list[int]] = []
        for entry in self.plex_entries:
            keys: list[int] = []
            sizes = [size_of[path] for path in entry.files]
            for section in entry.sections:
                sid = self.section_ids[section]
                if not entry.scanned:
                    for path, size in zip(entry.files, sizes, strict=True):
                        plex.add_unscanned_file(sid, path, size=size)
                elif entry.kind == "episode":
                    assert entry.show is not None and entry.season is not None and entry.episode is not None
                    keys.append(
                        plex.add_episode(sid, entry.show, entry.season, entry.episode, list(entry.files), sizes=sizes)
                    )
                else:
                    keys.append(plex.add_movie(sid, list(entry.files), sizes=sizes))
            entry_keys.append(keys)
        for scene in self.scenes:
            scene.rating_keys = list(dict.fromkeys(k for i in scene.entries for k in entry_keys[i]))
        for path, size in self.stray_plex_files:
            plex.add_movie(self.section_ids["Movies"], [path], sizes=[size])


# -- generation -----------------------------------------------------------------


def generate_library(
    scenes: int,
    seed: int = 1,
    stash_root: str = "/data/stash",
    plex_root: str = "/media/plex",
    *,
    setup: str = "linux",
    extras: Iterable[str] = (),
) -> Library:
    """A library of ``scenes`` Stash scenes, the same for the same arguments.

    ``setup`` and ``extras``: see the module docstring, :data:`SETUPS` and
    :data:`EXTRAS`. The roots given apply to ``setup="linux"`` only.
    """
    if not MIN_SCENES <= scenes <= MAX_SCENES:
        raise ValueError(f"scenes must be between {MIN_SCENES} and {MAX_SCENES}, not {scenes}")
    wanted = frozenset(extras)
    if setup != "linux" and setup not in SETUPS:
        raise ValueError(f"setup must be one of linux, {', '.join(SETUPS)}; not {setup!r}")
    if wanted - set(EXTRAS):
        raise ValueError(f"unknown extras {sorted(wanted - set(EXTRAS))}; known: {', '.join(EXTRAS)}")
    if "case_differs" in wanted and setup != "plex_windows":
        raise ValueError("case_differs needs setup='plex_windows': on other hosts a case change is another file")
    with _gc_paused():
        library = _Generator(scenes, seed, stash_root.rstrip("/"), plex_root.rstrip("/")).build()
        if setup != "linux" or wanted:
            _Disagreements(library, setup, wanted).apply()
        return library


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hundreds of thousands of new objects and no garbage: the cyclic GC's
    repeated full passes would otherwise cost a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A tiny solid-colour PNG: a real image for clients that decode it, at no cost."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b"")
    )


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


class _Generator:
    """Draws everything from one ``random.Random`` so a seed fixes the whole library."""

    def __init__(self, count: int, seed: int, stash_root: str, plex_root: str) -> None:
        self.count = count
        self.seed = seed
        self.rng = random.Random(seed)
        self.stash_root = stash_root
        self.plex_root = plex_root
        self.scenes: list[GeneratedScene] = []
        self.entries: list[PlexEntry] = []
        self.used_paths: set[str] = set()
        self.nfc_folders: dict[str, str] = {}  # NFC base name -> folder, to put an NFD twin beside it
        self.episode_counter: dict[str, int] = {}

    # Thin wrappers over random(): randint/choice/sample cost 3-5x more, and
    # generating 100,000 scenes draws a few million numbers.
    def _int(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low + 1))

    def _pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.rng.random() * len(seq))]

    def _some(self, seq: Sequence[T], count: int) -> list[T]:
        """``count`` distinct elements of ``seq`` (fewer if it is shorter)."""
        if count <= 0:
            return []
        chosen: dict[int, None] = {}
        while len(chosen) < min(count, len(seq)):
            chosen[int(self.rng.random() * len(seq))] = None
        return [seq[i] for i in chosen]

    def build(self) -> Library:
        rng = self.rng
        self.studios = self._studios()
        self.studio_names = [s.name for s in self.studios if s.parent is not None or s.name not in _NETWORKS]
        self.performers = self._performers()
        self.tags = list(_TAGS) + [f"Tag {n:04d}" for n in range(max(0, self.count // 200))]
        self.groups = self._unique_names(max(2, min(1000, self.count // 100)), self._group_name)
        shows = max(3, min(len(_SHOWS) * 40, self.count // 400))
        self.shows = [
            _SHOWS[n % len(_SHOWS)] + (f" {n // len(_SHOWS) + 1}" if n >= len(_SHOWS) else "") for n in range(shows)
        ]
        while len(self.scenes) < self.count:
            roll = rng.random()
            if roll < 0.10:
                self._episode()
            elif roll < 0.15:
                self._bare()
            elif roll < 0.17:
                self._movie(traits={"unscanned"}, scanned=False)
            elif roll < 0.18:
                self._movie(traits={"outside_plex"}, folder=f"private/{self._studio_folder()}")
            elif roll < 0.21:
                self._multifile()
            elif roll < 0.23 and self.count - len(self.scenes) >= 2:
                self._multipart_pair()
            elif roll < 0.24:
                self._multipart_merged()
            elif roll < 0.28:
                self._movie(traits={"two_sections"}, folder="movies/Favourites", sections=("Movies", "Favourites"))
            else:
                self._movie()
        return Library(
            stash_root=self.stash_root,
            plex_root=self.plex_root,
            seed_value=self.seed,
            studios=self.studios,
            performers=self.performers,
            tags=self.tags,
            groups=self.groups,
            scenes=self.scenes,
            plex_entries=self.entries,
        )

    # -- entities -------------------------------------------------------------
    def _unique_names(self, count: int, make: Callable[[], str]) -> list[str]:
        names: dict[str, None] = {}
        while len(names) < count:
            name = make()
            if name in names:
                name = f"{name} {len(names) + 1}"
            names[name] = None
        return list(names)

    def _studios(self) -> list[GeneratedStudio]:
        rng = self.rng
        parents = [
            GeneratedStudio(name, None, _png((20, 20, 120)) if n % 2 else None) for n, name in enumerate(_NETWORKS)
        ]
        count = max(5, min(400, self.count // 40))
        names = self._unique_names(count, lambda: f"{self._pick(_STUDIO_WORDS)} {self._pick(_STUDIO_NOUNS)}")
        children = []
        for name in names:
            parent = self._pick(_NETWORKS) if rng.random() < 0.3 else None
            image = _png((self._int(0, 255), self._int(0, 255), self._int(0, 255))) if rng.random() < 0.5 else None
            children.append(GeneratedStudio(name, parent, image))
        return parents + children

    def _performers(self) -> list[GeneratedPerformer]:
        rng = self.rng
        count = max(10, min(5000, self.count // 10))
        names = self._unique_names(count, lambda: f"{self._pick(_FIRST)} {self._pick(_LAST)}")
        performers = []
        for name in names:
            gender = self._pick(_GENDERS) if rng.random() < 0.85 else None
            image = _png((self._int(0, 255), self._int(0, 255), self._int(0, 255))) if rng.random() < 0.6 else None
            performers.append(GeneratedPerformer(name, gender, image))
        return performers

    def _group_name(self) -> str:
        return f"{self._pick(_TITLE_WORDS)} {self._pick(_TITLE_WORDS)} Collection"

    # -- scene metadata ---------------------------------------------------------
    def _title(self) -> str:
        return " ".join(self._pick(_TITLE_WORDS) for _ in range(self._int(1, 4)))

    def _metadata(self, title: str | None) -> dict[str, object]:
        rng = self.rng
        studio = self._pick(self.studio_names) if rng.random() < 0.85 else None
        group = None
        if rng.random() < 0.1:
            group = (self._pick(self.groups), self._int(1, 12) if rng.random() < 0.8 else None)
        date = None
        if rng.random() < 0.8:
            date = f"{self._int(1995, 2025)}-{self._int(1, 12):02d}-{self._int(1, 28):02d}"
        return {
            "title": title,
            "details": self._details() if rng.random() < 0.7 else None,
            "date": date,
            "code": f"{self._pick('ABCDEFGHJK')}{self._pick('XYZ')}-{self._int(1, 9999):04d}"
            if rng.random() < 0.3
            else None,
            "director": f"{self._pick(_FIRST)} {self._pick(_LAST)}" if rng.random() < 0.2 else None,
            "urls": [f"https://example.com/scenes/{len(self.scenes) + 1}"] if rng.random() < 0.4 else [],
            "rating100": self._int(1, 100) if rng.random() < 0.5 else None,
            "organized": rng.random() < 0.3,
            "studio": studio,
            "performers": [p.name for p in self._some(self.performers, self._pick((0, 1, 1, 2, 2, 3, 4)))],
            "tags": self._some(self.tags, self._int(0, 6)),
            "group": group,
        }

    def _details(self) -> str:
        sentences = [
            f"A {self._pick(_TITLE_WORDS).lower()} about the {self._pick(_TITLE_WORDS).lower()}.",
            "Filmed on location — with “quotes”, ümlauts and <angle brackets> & ampersands.",
            "Second line after a newline.\nThird line.",
            "日本語の説明もあります。",
        ]
        return " ".join(self._some(sentences, self._int(1, len(sentences))))

    # -- file names -------------------------------------------------------------
    def _name(self, title: str | None) -> tuple[str, str, set[str]]:
        """(stem, extension, traits) of a file whose scene has ``title``."""
        rng = self.rng
        ext = self._pick((".mp4", ".mp4", ".mp4", ".mkv", ".m4v", ".avi", ".wmv"))
        roll = rng.random()
        if roll < 0.04:
            return self._pick(_ACCENTED), ext, {"nfc"}
        if roll < 0.08:
            return _nfd(self._pick(_ACCENTED)), ext, {"nfd"}
        if roll < 0.10:
            return f"{self._pick(_JAPANESE)} 第{self._int(1, 12)}話", ext, {"japanese"}
        if roll < 0.115:
            return self._pick(_EMOJI), ext, {"emoji"}
        if roll < 0.145:
            return self._pick(_SPECIAL), ext, {"special_chars"}
        if roll < 0.195:
            stem, _, generic_ext = self._pick(_GENERIC).rpartition(".")
            return stem, "." + generic_ext, {"generic_name"}
        return title or self._title(), ext, set()

    def _studio_folder(self, studio: str | None = None) -> str:
        return studio or self._pick(self.studios).name

    def _place(self, folder: str, stem: str, ext: str) -> str:
        """A Stash path not used yet; the NFD twin of an NFC name may share its folder."""
        if unicodedata.is_normalized("NFD", stem) and not stem.isascii():
            twin = self.nfc_folders.get(unicodedata.normalize("NFC", stem))
            if twin and self.rng.random() < 0.5:
                folder = twin
        elif not stem.isascii() and unicodedata.is_normalized("NFC", stem):
            self.nfc_folders.setdefault(stem, folder)
        path = f"{self.stash_root}/{folder}/{stem}{ext}"
        n = 2
        while path in self.used_paths:
            path = f"{self.stash_root}/{folder}/{stem} ({n}){ext}"
            n += 1
        self.used_paths.add(path)
        return path

    def _file(self, path: str) -> dict[str, object]:
        rng = self.rng
        return {
            "path": path,
            "size": self._int(50_000_000, 4_000_000_000),
            "duration": round(60 + rng.random() * 7140, 2),
        }

    def _entry(self, entry: PlexEntry) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1

    def _add(
        self,
        meta: dict[str, object],
        paths: list[str],
        entries: tuple[int, ...],
        traits: set[str],
        kind: str = "movie",
    ) -> GeneratedScene:
        scanned = bool(entries) and all(self.entries[i].scanned for i in entries)
        multipart = any(len(self.entries[i].files) > 1 for i in entries)
        scene = GeneratedScene(
            index=len(self.scenes),
            files=[self._file(p) for p in paths],
            plex_paths=[self.plex_root + p[len(self.stash_root) :] for p in paths],
            kind=kind,
            scanned=scanned,
            multipart=multipart,
            traits=frozenset(traits),
            entries=entries,
            **meta,  # type: ignore[arg-type]
        )
        self.scenes.append(scene)
        return scene

    # -- the kinds of scene -------------------------------------------------------
    def _movie(
        self,
        traits: set[str] | None = None,
        folder: str | None = None,
        sections: tuple[str, ...] = ("Movies",),
        scanned: bool = True,
    ) -> None:
        traits = set(traits or ())
        meta = self._metadata(self._title())
        stem, ext, name_traits = self._name(meta["title"])  # type: ignore[arg-type]
        if "nfd" in name_traits:
            meta["title"] = unicodedata.normalize("NFC", stem)  # typed by a user: composed
        path = self._place(folder or f"movies/{self._studio_folder(meta['studio'])}", stem, ext)  # type: ignore[arg-type]
        entries: tuple[int, ...] = ()
        if "outside_plex" not in traits:
            entries = (self._entry(PlexEntry(sections, "movie", (self._plex(path),), scanned)),)
        self._add(meta, [path], entries, traits | name_traits)

    def _bare(self) -> None:
        rng = self.rng
        empty = dict.fromkeys(("title", "details", "date", "code", "director", "rating100", "studio", "group"))
        meta = {**empty, "urls": [], "organized": False, "performers": [], "tags": []}
        if rng.random() < 0.5:  # a phone's name for it
            day = f"{self._int(2015, 2025)}{self._int(1, 12):02d}{self._int(1, 28):02d}"
            stem, ext = f"VID_{day}_{self._int(0, 235959):06d}", ".mp4"
        else:  # a download's hash
            stem, ext = f"{rng.getrandbits(64):016x}", ".mp4"
        path = self._place("movies/Unsorted", stem, ext)
        entry = self._entry(PlexEntry(("Movies",), "movie", (self._plex(path),), True))
        self._add(meta, [path], (entry,), {"bare"})

    def _multifile(self) -> None:
        """The same video twice (a copy in the archive): one Stash scene, two Plex items."""
        meta = self._metadata(self._title())
        stem, ext, name_traits = self._name(meta["title"])  # type: ignore[arg-type]
        studio = self._studio_folder(meta["studio"])  # type: ignore[arg-type]
        paths = [self._place(f"movies/{studio}", stem, ext), self._place(f"archive/{studio}", stem, ".mkv")]
        entries = tuple(self._entry(PlexEntry(("Movies",), "movie", (self._plex(p),), True)) for p in paths)
        self._add(meta, paths, entries, {"multifile"} | name_traits)

    def _multipart_files(self, title: str, studio: str | None) -> list[str]:
        folder = f"movies/{self._studio_folder(studio)}/{title}"
        ext = self._pick((".avi", ".mp4", ".mkv"))
        return [self._place(folder, f"{title} - cd{n}", ext) for n in (1, 2)]

    def _multipart_pair(self) -> None:
        """Stash scans cd1 and cd2 as two scenes; Plex stacks them into one item."""
        title = self._title()
        meta = self._metadata(title)
        paths = self._multipart_files(title, meta["studio"])  # type: ignore[arg-type]
        entry = self._entry(PlexEntry(("Movies",), "movie", tuple(self._plex(p) for p in paths), True))
        for part, path in enumerate(paths, start=1):
            self._add({**meta, "title": f"{title} - Part {part}"}, [path], (entry,), {"multipart"})

    def _multipart_merged(self) -> None:
        """A user merged the cd1 and cd2 scenes in Stash: one scene, one stacked Plex item."""
        title = self._title()
        meta = self._metadata(title)
        paths = self._multipart_files(title, meta["studio"])  # type: ignore[arg-type]
        entry = self._entry(PlexEntry(("Movies",), "movie", tuple(self._plex(p) for p in paths), True))
        self._add(meta, paths, (entry,), {"multipart", "multifile"})

    def _episode(self) -> None:
        rng = self.rng
        show = self._pick(self.shows)
        number = self.episode_counter.get(show, 0)
        self.episode_counter[show] = number + 1
        season, episode = number // 20 + 1, number % 20 + 1
        meta = self._metadata(f"{self._title()}")
        meta["group"] = None
        stem = f"{show} - S{season:02d}E{episode:02d}"
        path = self._place(f"shows/{show}/Season {season:02d}", stem, ".mp4")
        scanned = rng.random() > 0.05
        entry = self._entry(PlexEntry(("TV Shows",), "episode", (self._plex(path),), scanned, show, season, episode))
        traits = {"episode"} if scanned else {"episode", "unscanned"}
        if not show.isascii():
            traits.add("japanese" if any(ord(c) > 0x3000 for c in show) else "nfc")
        self._add(meta, [path], (entry,), traits, kind="episode")

    def _plex(self, stash_path: str) -> str:
        return self.plex_root + stash_path[len(self.stash_root) :]


# -- where the two sides disagree (opt-in) ------------------------------------------


def _is_windows_path(path: str) -> bool:
    return bool(re.match(r"^(?:[A-Za-z]:|\\\\)", path))


def _flavour(path: str):  # type: ignore[no-untyped-def]
    return ntpath if _is_windows_path(path) else posixpath


def _join(root: str, rel: str) -> str:
    """``root`` + a POSIX relative path, in the root's own separator."""
    sep = "\\" if _is_windows_path(root) else "/"
    return root + sep + rel.replace("/", sep) if rel else root


class _Disagreements:
    """Moves a generated library onto other hosts (``setup``) and adds the ``extras``.

    It runs after the main generator, with random streams of its own, so the
    default library is untouched and each extra picks the same scenes whether
    or not the others are on. Files are keyed by their original Stash path.
    """

    def __init__(self, library: Library, setup: str, extras: frozenset[str]) -> None:
        self.lib = library
        self.setup = setup
        self.extras = extras
        self.origin = library.stash_root  # every key starts with it
        self.stash_of: dict[str, str] = {}
        self.plex_of: dict[str, str] = {}
        self.owner: dict[str, GeneratedScene] = {}
        self.key_of_plex: dict[str, str] = {}
        for scene in library.scenes:
            for spec, plex_path in zip(scene.files, scene.plex_paths, strict=True):
                key = str(spec["path"])
                self.stash_of[key], self.plex_of[key], self.owner[key] = key, plex_path, scene
                self.key_of_plex[plex_path] = key
        self.in_plex = {self.key_of_plex[p] for entry in library.plex_entries for p in entry.files}

    def _rng(self, name: str) -> random.Random:
        return random.Random(f"{self.lib.seed_value}:{name}")

    def apply(self) -> None:
        if self.setup != "linux":
            self._rehost()
        for extra in ("twin", "unmapped", "ambiguous", "nf_differs", "case_differs", "coverless"):  # moves first
            if extra in self.extras:
                getattr(self, "_" + extra)()
        self._write_back()
        self.lib.setup, self.lib.extras = self.setup, self.extras

    def _mark(self, key: str, *traits: str) -> None:
        scene = self.owner[key]
        scene.traits = scene.traits | set(traits)

    def _simple_movies(self, *excluded: str) -> list[GeneratedScene]:
        """Scanned one-file movies with a Plex item of their own: safe to rename or move."""
        skip = {"two_sections", "multipart", "multifile", "outside_plex", "unscanned", *excluded}
        return [s for s in self.lib.scenes if s.kind == "movie" and s.scanned and not (s.traits & skip)]

    def _rehost(self) -> None:
        lib, roots = self.lib, SETUPS[self.setup]
        movies = roots["movies"][1]
        assert movies is not None
        beside_movies = _flavour(movies).dirname(movies)  # where an uncovered folder would sit for Plex
        for key in self.stash_of:
            top, _, rest = key[len(self.origin) + 1 :].partition("/")
            stash_root, plex_root = roots[top]
            self.stash_of[key] = _join(stash_root, rest)
            self.plex_of[key] = _join(plex_root or _join(beside_movies, top), rest)
        lib.roots = [(s, p) for s, p in roots.values() if p is not None]
        lib.stash_root, lib.plex_root = lib.roots[0]

    def _nf_differs(self) -> None:
        rng = self._rng("nf_differs")
        used_stash, used_plex = set(self.stash_of.values()), set(self.plex_of.values())
        for key in self.stash_of:
            if key not in self.in_plex or "unmapped" in self.owner[key].traits:
                continue
            stash_path, plex_path = self.stash_of[key], self.plex_of[key]
            if unicodedata.is_normalized("NFC", stash_path) and unicodedata.is_normalized("NFD", stash_path):
                continue  # nothing composable in it
            if rng.random() >= 0.6:
                continue
            stash_form, plex_form = ("NFD", "NFC") if rng.random() < 0.5 else ("NFC", "NFD")
            new_stash = unicodedata.normalize(stash_form, stash_path)
            new_plex = unicodedata.normalize(plex_form, plex_path)
            clash = (new_stash != stash_path and new_stash in used_stash) or (
                new_plex != plex_path and new_plex in used_plex
            )
            if clash:
                continue  # its twin in the other form sits beside it
            used_stash.add(new_stash)
            used_plex.add(new_plex)
            self.stash_of[key], self.plex_of[key] = new_stash, new_plex
            self._mark(key, "nf_differs")

    def _case_differs(self) -> None:
        rng = self._rng("case_differs")
        for key in self.stash_of:
            if key not in self.in_plex or "unmapped" in self.owner[key].traits or rng.random() >= 0.08:
                continue
            plex_path = self.plex_of[key]
            folder, name = ntpath.split(plex_path)
            stem, ext = ntpath.splitext(name)
            variant = int(rng.random() * 4)
            if variant == 0:
                changed = ntpath.join(folder, stem + ext.upper())
            elif variant == 1:
                changed = ntpath.join(folder, name.lower() if name.lower() != name else name.upper())
            elif variant == 2:
                parent, last = ntpath.split(folder)
                changed = ntpath.join(parent, last.swapcase(), name)
            else:
                root = next(p for _, p in self.lib.roots if plex_path.startswith(p))
                changed = root.lower() + plex_path[len(root) :]
            if changed != plex_path:
                self.plex_of[key] = changed
                self._mark(key, "case_differs")

    def _coverless(self) -> None:
        rng = self._rng("coverless")
        for scene in self.lib.scenes:
            if rng.random() < 0.05:
                scene.traits = scene.traits | {"coverless"}

    def _twin(self) -> None:
        """B takes A's file name and size in its own folder, and Plex has not scanned B yet:
        a name-and-size guess would put B's metadata on A's item."""
        rng = self._rng("twin")
        firsts = [s for s in self._simple_movies() if "generic_name" in s.traits]
        seconds = self._simple_movies("generic_name", "bare")
        used_stash = set(self.stash_of.values())
        for _ in range(max(1, len(self.lib.scenes) // 100)):
            if not firsts or not seconds:
                return
            a = firsts.pop(int(rng.random() * len(firsts)))
            b = seconds.pop(int(rng.random() * len(seconds)))
            a_key, b_key = str(a.files[0]["path"]), str(b.files[0]["path"])
            stash_paths, plex_paths = _flavour(self.stash_of[b_key]), _flavour(self.plex_of[b_key])
            new_stash = stash_paths.join(
                stash_paths.dirname(self.stash_of[b_key]), stash_paths.basename(self.stash_of[a_key])
            )
            folder = stash_paths.dirname(new_stash)
            if new_stash in used_stash or folder == stash_paths.dirname(self.stash_of[a_key]):
                continue
            used_stash.add(new_stash)
            self.stash_of[b_key] = new_stash
            self.plex_of[b_key] = plex_paths.join(
                plex_paths.dirname(self.plex_of[b_key]), plex_paths.basename(self.plex_of[a_key])
            )
            b.files[0] = {**b.files[0], "size": a.files[0]["size"]}
            (entry,) = b.entries
            self.lib.plex_entries[entry] = dataclasses.replace(self.lib.plex_entries[entry], scanned=False)
            b.scanned = False
            self._mark(a_key, "twin")
            self._mark(b_key, "twin", "unscanned")

    def _unmapped(self) -> None:
        rng = self._rng("unmapped")
        root = UNMAPPED_ROOTS["windows" if self.setup == "plex_windows" else "posix"]
        for scene in self._simple_movies("twin"):
            if rng.random() >= 0.03:
                continue
            key = str(scene.files[0]["path"])
            _, _, rest = key[len(self.origin) + 1 :].partition("/")
            self.plex_of[key] = _join(root, rest)
            self._mark(key, "unmapped")
        self.lib.extra_movie_locations = [root]

    def _ambiguous(self) -> None:
        """Like ``unmapped``, plus a stray copy in Plex with the same name and size."""
        rng = self._rng("ambiguous")
        root = UNMAPPED_ROOTS["windows" if self.setup == "plex_windows" else "posix"]
        used = set(self.plex_of.values())
        for scene in self._simple_movies("twin", "unmapped"):
            if rng.random() >= 0.02:
                continue
            key = str(scene.files[0]["path"])
            _, _, rest = key[len(self.origin) + 1 :].partition("/")
            moved, copy = _join(root, rest), _join(root, "Copies/" + posixpath.basename(rest))
            if moved in used or copy in used:
                continue
            used |= {moved, copy}
            self.plex_of[key] = moved
            self.lib.stray_plex_files.append((copy, int(scene.files[0]["size"])))  # type: ignore[call-overload]
            self._mark(key, "unmapped", "ambiguous")
        self.lib.extra_movie_locations = [root]

    def _write_back(self) -> None:
        lib = self.lib
        for scene in lib.scenes:
            keys = [str(spec["path"]) for spec in scene.files]
            scene.files = [{**spec, "path": self.stash_of[k]} for spec, k in zip(scene.files, keys, strict=True)]
            scene.plex_paths = [self.plex_of[k] for k in keys]
        lib.plex_entries[:] = [
            dataclasses.replace(entry, files=tuple(self.plex_of[self.key_of_plex[p]] for p in entry.files))
            for entry in lib.plex_entries
        ]
