"""The Plex writer against the Plex emulator: finding items by file, and
rebuilding its index only when Plex says something changed."""

from __future__ import annotations

import pytest
import requests

from emulators.plex import PlexEmulator
from emulators.plex import model as plex_model
from plexsync.errors import AuthFailed, Unavailable
from plexsync.plex import writer as plex_module
from plexsync.plex.writer import PlexTarget, PlexWriter

TOKEN = "writer-test-token"


@pytest.fixture
def emulator():
    server = PlexEmulator(token=TOKEN).start()
    yield server
    server.stop()


def test_multi_part_items_and_files_in_two_sections_are_all_found(emulator: PlexEmulator):
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


@pytest.fixture
def plex_clock(monkeypatch):
    """The emulated Plex's clock, moved by hand: its stamps have one-second resolution."""
    clock = {"now": 1_700_000_000}
    monkeypatch.setattr(plex_model, "now", lambda: clock["now"])
    return clock


def test_a_miss_costs_one_section_request_until_plex_changes(emulator: PlexEmulator, plex_clock, monkeypatch):
    monkeypatch.setattr(plex_module, "STAMP_RESOLUTION", 0.0)  # no settle time: the stamps alone decide
    section = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    emulator.add_movie(section, files=["/m/a.mp4"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    assert writer.find("/m/a.mp4")
    emulator.add_unscanned_file(section, "/m/new.mp4")
    emulator.clear_requests()
    assert writer.find("/m/new.mp4") == []  # on disk, not scanned yet: nothing changed in Plex
    assert [r.path for r in emulator.requests] == ["/library/sections"]  # so no listing

    plex_clock["now"] += 5
    scan = requests.get(
        f"{emulator.url}/library/sections/{section}/refresh", params={"path": "/m"}, headers={"X-Plex-Token": TOKEN}
    )
    assert scan.status_code == 200
    [rating_key] = emulator.find_by_file("/m/new.mp4")
    assert writer.find("/m/new.mp4") == [PlexTarget(rating_key, section, 1)]


def test_right_after_a_change_a_miss_rebuilds_even_with_the_same_stamps(emulator: PlexEmulator, plex_clock):
    section = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    assert writer.find("/m/a.mp4") == []
    # The same emulated second: the section's stamps cannot show this addition.
    rating_key = emulator.add_movie(section, files=["/m/a.mp4"])
    assert writer.find("/m/a.mp4") == [PlexTarget(rating_key, section, 1)]


def test_refused_token_and_closed_port_are_classified(emulator: PlexEmulator):
    with pytest.raises(AuthFailed, match="rejected the token"):
        PlexWriter(emulator.url, "wrong", timeout=5)
    emulator.down()
    with pytest.raises(Unavailable, match="unreachable"):
        PlexWriter(emulator.url, TOKEN, timeout=5)
