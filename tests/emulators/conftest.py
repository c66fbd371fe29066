"""Fixtures shared by the emulators' tests.

The ``stash`` fixture reads two optional module constants: ``API_KEY`` (the
emulated Stash then requires that login) and ``STASH_WINDOWS`` (Stash on Windows).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from plexapi.server import PlexServer
from stashapi.stashapp import StashInterface

from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator

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


@pytest.fixture
def stash(request: pytest.FixtureRequest) -> Iterator[StashEmulator]:
    api_key = getattr(request.module, "API_KEY", None)
    emulator = StashEmulator(api_key=api_key, windows=getattr(request.module, "STASH_WINDOWS", False)).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def client(stash: StashEmulator) -> StashInterface:
    """The real stashapi, logged in with the module's ``API_KEY`` when it has one."""
    connection = {"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port}
    if stash.api_key:
        connection["ApiKey"] = stash.api_key
    return StashInterface(connection)
