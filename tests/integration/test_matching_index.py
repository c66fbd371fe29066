"""The Plex index against the Plex emulator (real plexapi, real HTTP): what it
finds, and how many requests building and catching up cost."""

from __future__ import annotations

import threading
import unicodedata

import pytest

from emulators.plex import PlexEmulator
from plexsync.errors import Misconfigured
from plexsync.matching.matcher import OUTSIDE, PATH, WAITING
from plexsync.matching.paths import PathMap
from plexsync.plex import index as index_module
from plexsync.plex.writer import PlexTarget, PlexWriter

TOKEN = "index-test-token"


@pytest.fixture
def emulator():
    server = PlexEmulator(token=TOKEN).start()
    yield server
    server.stop()


def listings(emulator: PlexEmulator) -> list[str]:
    """Full-listing requests (not the newest-items page)."""
    return [r.path for r in emulator.requests_matching("GET", r"/all$") if r.arg("sort") is None]


def newest(emulator: PlexEmulator) -> list[str]:
    return [r.path for r in emulator.requests_matching("GET", r"/all$") if r.arg("sort") == "addedAt:desc"]


def test_multi_part_items_episodes_and_files_in_two_sections_are_all_found(emulator: PlexEmulator):
    movies = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    other = emulator.add_section(title="Other", kind="movie", locations=["/m"])
    shows = emulator.add_section(title="Shows", kind="show", locations=["/tv"])
    heat = emulator.add_movie(movies, files=["/m/Heat - cd1.avi", "/m/Heat - cd2.avi"])
    twice = [emulator.add_movie(section, files=["/m/shared.mkv"]) for section in (movies, other)]
    episode = emulator.add_episode(shows, show_title="Show", season=1, episode=2, files=["/tv/Show - S01E02.mkv"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    assert writer.find("/m/Heat - cd2.avi") == [PlexTarget(heat, movies, 1)]
    assert sorted(t.rating_key for t in writer.find("/m/shared.mkv")) == sorted(twice)
    assert writer.find("/tv/Show - S01E02.mkv") == [PlexTarget(episode, shows, 4)]


def test_the_index_is_built_from_large_pages(emulator: PlexEmulator, monkeypatch):
    monkeypatch.setattr(index_module, "LISTING_PAGE_SIZE", 10)
    movies = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    for n in range(25):
        emulator.add_movie(movies, files=[f"/m/{n:02d}.mp4"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    emulator.clear_requests()
    assert writer.find("/m/24.mp4")
    assert [r.path for r in emulator.requests] == ["/library/sections"] + [f"/library/sections/{movies}/all"] * 3
    assert len(writer.index) == 25


def test_a_new_item_is_found_from_the_newest_page_without_relisting(emulator: PlexEmulator):
    movies = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    for n in range(3 * index_module.RECENT_PAGE_SIZE):  # the new item is not on the first page by title
        emulator.add_movie(movies, files=[f"/m/{n:03d}.mp4"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    assert writer.find("/m/000.mp4")
    emulator.clear_requests()
    new = emulator.add_movie(movies, files=["/m/new.mp4"])
    assert writer.find("/m/new.mp4") == [PlexTarget(new, movies, 1)]
    assert listings(emulator) == [] and len(newest(emulator)) == 1


def test_a_miss_outside_every_section_costs_no_request(emulator: PlexEmulator):
    emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    assert writer.find("/m/a.mp4") == []
    emulator.clear_requests()
    found = writer.match([{"path": "/private/a.mp4"}], PathMap())
    assert found.outcome == OUTSIDE
    assert emulator.requests == []


def test_a_miss_inside_a_section_asks_the_newest_page_at_most_once_a_second(emulator: PlexEmulator):
    emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    writer.find("/m/a.mp4")
    emulator.clear_requests()
    for _ in range(20):
        assert writer.match([{"path": "/m/new.mp4"}], PathMap()).outcome == WAITING
    assert len(newest(emulator)) <= 2  # the first miss, and one more if the loop crossed the interval


def test_named_sections_limit_the_index(emulator: PlexEmulator):
    movies = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    private = emulator.add_section(title="Private", kind="movie", locations=["/p"])
    emulator.add_movie(movies, files=["/m/a.mp4"])
    emulator.add_movie(private, files=["/p/b.mp4"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5, sections=("movies",))
    assert writer.find("/m/a.mp4")
    assert writer.match([{"path": "/p/b.mp4"}], PathMap()).outcome == OUTSIDE
    assert f"/library/sections/{private}/all" not in listings(emulator)
    with pytest.raises(Misconfigured, match=r"'Plex sections': .*'Films'.*'Movies', 'Private'"):
        PlexWriter(emulator.url, TOKEN, timeout=5, sections=("Films",)).find("/m/a.mp4")


def test_windows_plex_and_decomposed_names(emulator: PlexEmulator):
    films = emulator.add_section(title="Films", kind="movie", locations=[r"D:\Films"])
    cased = emulator.add_movie(films, files=[r"D:\Films\Studio\Movie.MP4"])
    decomposed = emulator.add_movie(films, files=[unicodedata.normalize("NFD", r"D:\Films\Café.mp4")])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    rules = PathMap.parse(r"/data/films=D:\Films")
    found = writer.match([{"path": "/data/films/studio/movie.mp4"}, {"path": "/data/films/Café.mp4"}], rules)
    assert found.outcome == PATH
    assert sorted(t.rating_key for t in found.targets) == sorted([cased, decomposed])


def test_threads_missing_together_share_one_build(emulator: PlexEmulator):
    movies = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    for n in range(50):
        emulator.add_movie(movies, files=[f"/m/{n:02d}.mp4"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    emulator.clear_requests()
    results: list[list[PlexTarget]] = []
    threads = [threading.Thread(target=lambda n=n: results.append(writer.find(f"/m/{n:02d}.mp4"))) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results) and len(results) == 8
    assert len(listings(emulator)) == 1
