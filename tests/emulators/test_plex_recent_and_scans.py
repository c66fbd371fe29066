"""Finding new Plex items cheaply, and the scans that create them, through the real plexapi.

Sources: ../shared/plex-facts.md (partial scan ``GET /library/sections/{sid}/refresh?path=``,
plexapi's ``section.update(path=)``; "Unverified: which section attributes
(scannedAt, updatedAt, contentChangedAt) move after a scan"); the spec's
``listContent`` (``GET /library/sections/{sectionId}/all``, paged by
``X-Plex-Container-Start``/``-Size``, answered with ``X-Plex-Container-Start``
and ``X-Plex-Container-Total-Size`` headers, ``sort`` in its media query);
plexapi 4.18 ``LibrarySection.recentlyAdded`` = ``search(sort='addedAt:desc')``
(validated against the ``<Meta>`` of ``/all?includeMeta=1``, sent as
``sort=movie.addedAt:desc``) and ``Library.recentlyAdded`` =
``GET /library/recentlyAdded`` (not in the spec; listed by ``/library``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from emulators.plex.server import ScanRequest
from tests.support import wait_until

TOKEN = "recent-token"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float = 10) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def start(clock: Clock, **options: object) -> PlexEmulator:
    return PlexEmulator(token=TOKEN, clock=clock, **options).start()  # type: ignore[arg-type]


@pytest.fixture
def plex(clock: Clock) -> Iterator[PlexEmulator]:
    emulator = start(clock)
    yield emulator
    emulator.stop()
    assert emulator.internal_errors == []


def get(plex: PlexEmulator, path: str, **headers: str) -> requests.Response:
    answer = requests.get(plex.url + path, headers={"X-Plex-Token": TOKEN, **headers}, timeout=5)
    answer.raise_for_status()
    return answer


def section_stamps(plex: PlexEmulator, key: int) -> dict[str, str]:
    root = ET.fromstring(get(plex, "/library/sections").content)
    (directory,) = [d for d in root.iter("Directory") if d.get("key") == str(key)]
    return {name: directory.get(name) or "" for name in ("updatedAt", "scannedAt", "contentChangedAt")}


def seed_movies(plex: PlexEmulator, clock: Clock, count: int) -> tuple[int, list[int]]:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    keys = []
    for n in range(count):
        clock.step()
        keys.append(plex.add_movie(sid, [f"/m/{n:03d}.mp4"], sizes=[1000 + n]))
    return sid, keys


@pytest.mark.parametrize("frozen", [False, True])
def test_section_stamps_move_on_a_scan_unless_frozen(clock: Clock, frozen: bool) -> None:
    """The frozen mode is the real server's unknown: a product must find new items without the stamps."""
    plex = start(clock, frozen_section_stamps=frozen)
    try:
        sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
        plex.add_movie(sid, ["/m/a.mp4"])
        plex.add_unscanned_file(sid, "/m/new/b.mp4")
        before = section_stamps(plex, sid)
        clock.step(60)

        PlexServer(plex.url, TOKEN, timeout=5).library.sectionByID(sid).update(path="/m/new")

        assert plex.find_by_file("/m/new/b.mp4")
        after = section_stamps(plex, sid)
        if frozen:
            assert after == before
        else:
            assert all(int(after[name]) == int(before[name]) + 60 for name in after)
    finally:
        plex.stop()


def test_a_file_appears_only_after_a_scan_of_its_folder_and_the_delay(clock: Clock) -> None:
    """Plex scans in the background: the refresh answers 200 at once, the item comes later."""
    plex = start(clock, scan_delay=0.2)
    try:
        sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
        plex.add_unscanned_file(sid, "/m/Studio/new.mp4", size=4242)
        section = PlexServer(plex.url, TOKEN, timeout=5).library.sectionByID(sid)

        plex.scan_delay = 600  # held until finish_scans()
        section.update(path="/m/Other")
        section.update(path="/m/Studio")

        assert plex.find_by_file("/m/Studio/new.mp4") == []  # answered, not yet scanned
        assert section.reload().refreshing
        assert plex.finish_scans() == 2
        assert plex.find_by_file("/m/Studio/new.mp4") and not section.reload().refreshing
        plex.add_unscanned_file(sid, "/m/Studio/later.mp4")
        plex.scan_delay = 0.2
        section.update(path="/m/Studio")
        (scanned,) = wait_until(lambda: plex.find_by_file("/m/Studio/later.mp4"), timeout=10)
        assert scanned and plex.finish_scans() == 0
        assert plex.scan_requests == [
            ScanRequest(sid, "/m/Other", False),
            ScanRequest(sid, "/m/Studio", False),
            ScanRequest(sid, "/m/Studio", False),
        ]
        (key,) = plex.find_by_file("/m/Studio/new.mp4")
        part = plex_part(plex, key)
        assert (part.file, part.size) == ("/m/Studio/new.mp4", 4242)
    finally:
        plex.stop()


def plex_part(plex: PlexEmulator, key: int):  # type: ignore[no-untyped-def]
    (part,) = PlexServer(plex.url, TOKEN, timeout=5).fetchItem(key).media[0].parts
    return part


def test_a_scan_of_another_folder_leaves_the_file_on_disk_only(plex: PlexEmulator) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    plex.add_unscanned_file(sid, "/m/Studio/new.mp4")
    server = PlexServer(plex.url, TOKEN, timeout=5)

    server.library.sectionByID(sid).update(path="/m/Studio B")  # a sibling, not a parent

    assert plex.find_by_file("/m/Studio/new.mp4") == []
    server.library.sectionByID(sid).update()
    assert plex.find_by_file("/m/Studio/new.mp4")
    assert plex.scan_requests[-1] == ScanRequest(sid, None, False)


def test_plexapi_recently_added_lists_the_newest_first(plex: PlexEmulator, clock: Clock) -> None:
    sid, keys = seed_movies(plex, clock, 30)
    section = PlexServer(plex.url, TOKEN, timeout=5).library.sectionByID(sid)

    newest = section.recentlyAdded(maxresults=5)

    assert [int(m.ratingKey) for m in newest] == keys[::-1][:5]
    assert [m.addedAt for m in newest] == sorted((m.addedAt for m in newest), reverse=True)
    (request,) = [r for r in plex.requests_matching("GET", r"/all$") if r.arg("sort")]
    assert request.arg("sort") == "movie.addedAt:desc"


def test_sorted_listing_pages_with_plexs_headers(plex: PlexEmulator, clock: Clock) -> None:
    """A reader pages ``/all?sort=addedAt:desc`` and stops at the first item it already knows."""
    sid, keys = seed_movies(plex, clock, 30)
    answer = get(
        plex,
        f"/library/sections/{sid}/all?type=1&sort=addedAt:desc",
        **{"X-Plex-Container-Start": "10", "X-Plex-Container-Size": "5"},
    )
    assert answer.headers["X-Plex-Container-Start"] == "10"
    assert answer.headers["X-Plex-Container-Total-Size"] == "30"
    root = ET.fromstring(answer.content)
    assert (root.get("size"), root.get("totalSize"), root.get("offset")) == ("5", "30", "10")
    assert [int(v.get("ratingKey")) for v in root.iter("Video")] == keys[::-1][10:15]
    ascending = ET.fromstring(get(plex, f"/library/sections/{sid}/all?sort=addedAt").content)
    assert [int(v.get("ratingKey")) for v in ascending.iter("Video")] == keys


def test_equal_added_at_ties_go_to_the_newest_rating_key(plex: PlexEmulator) -> None:
    """addedAt has one-second resolution; items of one scan share it (the tie order is the emulator's)."""
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    keys = [plex.add_movie(sid, [f"/m/{n}.mp4"]) for n in range(4)]
    root = ET.fromstring(get(plex, f"/library/sections/{sid}/all?sort=addedAt:desc").content)
    assert [int(v.get("ratingKey")) for v in root.iter("Video")] == keys[::-1]


def test_an_unknown_sort_is_a_bad_request(plex: PlexEmulator) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    answer = requests.get(
        f"{plex.url}/library/sections/{sid}/all?sort=bogus:desc", headers={"X-Plex-Token": TOKEN}, timeout=5
    )
    assert answer.status_code == 400


def test_library_recently_added_spans_sections(plex: PlexEmulator, clock: Clock) -> None:
    sid, keys = seed_movies(plex, clock, 3)
    shows = plex.add_section(title="TV", kind="show", locations=["/tv"])
    clock.step()
    episode = plex.add_episode(shows, "Show", 1, 1, ["/tv/Show/Season 01/Show - S01E01.mp4"])
    server = PlexServer(plex.url, TOKEN, timeout=5)

    items = server.library.recentlyAdded()

    assert [int(i.ratingKey) for i in items] == [episode, *keys[::-1]]
    assert [i.librarySectionID for i in items] == [shows, sid, sid, sid]
    page = get(plex, "/library/recentlyAdded", **{"X-Plex-Container-Start": "1", "X-Plex-Container-Size": "2"})
    assert page.headers["X-Plex-Container-Total-Size"] == "4"
    assert [int(v.get("ratingKey")) for v in ET.fromstring(page.content).iter("Video")] == keys[::-1][:2]


def test_section_recently_added_directory(plex: PlexEmulator, clock: Clock) -> None:
    """``/library/sections/{sid}/recentlyAdded``: the browse directory ``/library/sections/{sid}`` lists."""
    sid, keys = seed_movies(plex, clock, 4)
    listed = PlexServer(plex.url, TOKEN, timeout=5).fetchItems(f"/library/sections/{sid}/recentlyAdded")
    assert [int(i.ratingKey) for i in listed] == keys[::-1]


def test_sections_list_their_folders_and_parts_their_sizes(plex: PlexEmulator) -> None:
    """plexapi's ``section.locations`` reads ``<Location path=>``; ``part.size`` reads ``<Part size=>``."""
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m", "C:\\Media\\Movies"])
    key = plex.add_movie(sid, ["/m/a - cd1.avi", "/m/a - cd2.avi"], sizes=[111, 222])
    server = PlexServer(plex.url, TOKEN, timeout=5)
    assert server.library.sectionByID(sid).locations == ["/m", "C:\\Media\\Movies"]
    parts = server.fetchItem(key).media[0].parts
    assert [(p.file, p.size) for p in parts] == [("/m/a - cd1.avi", 111), ("/m/a - cd2.avi", 222)]
    with pytest.raises(ValueError, match="one size per file"):
        plex.add_movie(sid, ["/m/b.avi"], sizes=[1, 2])
