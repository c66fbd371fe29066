"""The Plex writer against the Plex emulator: connection failures are classified.
(Finding items is the index's job: tests/integration/test_matching_index.py.)"""

from __future__ import annotations

import pytest

from emulators.plex import PlexEmulator
from plexsync.errors import AuthFailed, Unavailable
from plexsync.plex.writer import PlexWriter

TOKEN = "writer-test-token"


@pytest.fixture
def emulator():
    server = PlexEmulator(token=TOKEN).start()
    yield server
    server.stop()


def test_a_folder_scan_is_one_request_to_the_sections_refresh(emulator: PlexEmulator):
    section = emulator.add_section(title="Movies", kind="movie", locations=["/m"])
    emulator.add_unscanned_file(section, "/m/sub/new.mp4")
    writer = PlexWriter(emulator.url, TOKEN, timeout=5)
    emulator.clear_requests()
    writer.request_scan(section, "/m/sub")
    [scan] = emulator.requests
    assert (scan.path, scan.arg("path")) == (f"/library/sections/{section}/refresh", "/m/sub")
    assert emulator.find_by_file("/m/sub/new.mp4")


def test_refused_token_and_closed_port_are_classified(emulator: PlexEmulator):
    with pytest.raises(AuthFailed, match="rejected the token"):
        PlexWriter(emulator.url, "wrong", timeout=5)
    emulator.down()
    with pytest.raises(Unavailable, match="unreachable"):
        PlexWriter(emulator.url, TOKEN, timeout=5)
