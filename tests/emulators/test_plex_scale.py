"""A 100,000-item section listed through plexapi's own paging (takes a while: plexapi
builds an object per item, about 0.2 ms each)."""

from __future__ import annotations

import pytest
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN

COUNT = 100_000


@pytest.mark.slow
def test_a_hundred_thousand_items_page_through_plexapi() -> None:
    plex = PlexEmulator(token=TOKEN)
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    for number in range(COUNT):
        plex.add_movie(sid, files=[f"/m/{number // 1000:03d}/movie {number:06d}.mp4"], genres=["Drama", "Crime"])
    plex.start()
    try:
        server = PlexServer(plex.url, TOKEN, timeout=30)
        section = server.library.sectionByID(sid)
        plex.clear_requests()

        movies = section.search(libtype="movie", container_size=2000)

        assert len(movies) == COUNT
        assert len({m.ratingKey for m in movies}) == COUNT
        assert movies[-1].locations == [f"/m/{(COUNT - 1) // 1000:03d}/movie {COUNT - 1:06d}.mp4"]
        assert len(plex.requests_matching("GET", rf"^/library/sections/{sid}/all$")) == COUNT // 2000
        assert plex.internal_errors == []
    finally:
        plex.stop()
