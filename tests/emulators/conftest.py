"""Fixtures shared by the Plex emulator's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator

TOKEN = "secret-token"


@pytest.fixture
def plex() -> Iterator[PlexEmulator]:
    emulator = PlexEmulator(token=TOKEN).start()
    yield emulator
    emulator.stop()
    assert emulator.internal_errors == []


@pytest.fixture
def server(plex: PlexEmulator) -> PlexServer:
    """The real plexapi, connected to the emulator."""
    return PlexServer(plex.url, TOKEN, timeout=5)
