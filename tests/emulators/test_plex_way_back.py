"""What a real Plex server's history and view state hold beyond one owner's movies
(issue #18), as plexapi 4.18 reads them from the emulator.

Facts, and where they come from:

- ``/status/sessions/history/all`` lists every kind of play in one list and one
  paging: music (``<Track>``: plexapi's ``TrackHistory``), extras (``<Video
  type="clip">``: ``ClipHistory``), photos, beside movies and episodes
  (``MovieHistory``, ``EpisodeHistory``). plexapi pages it with
  ``X-Plex-Container-Start/Size`` and moves on by the size it asked for
  (``base.py`` ``fetchItems``), so an element type it does not build still
  takes its place on the page. The spec's parameters: ``accountID``,
  ``viewedAt``, ``librarySectionID``, ``metadataItemID``, ``sort``
  (../shared/plex-api-spec); plexapi's ``LibrarySection.history`` asks for
  ``librarySectionID=<section>&accountID=1``.
- ``GET /accounts`` (plexapi ``systemAccounts()``; its test
  ``test_server_system_accounts``: id 0 has an empty name, every other a name)
  lists the server's accounts; ``accountID=1`` is the owner.
- Mark as played (``/:/scrobble``): since PMS 1.40.0.7998 no history entry for a
  movie, episode or track, since 1.40.1.8120 none for a show or season either;
  before, one per item (per episode of a marked show or season). On every version
  ``viewCount`` + 1, ``viewOffset`` cleared, ``lastViewedAt`` moved (plexapi pull
  requests #1366 and #1374, which changed its history tests for those versions).
- View state is per account, keyed by guid (two items of one guid share it).
- Rating keys are SQLite rowids: a deleted item's key can go to a new,
  unrelated item (Tautulli issues #2767, #2768).
"""

from __future__ import annotations

import requests
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN

OLD_SERVER = "1.32.8.7639-fb6452ebf"  # before PMS 1.40: marks write history
FIRST_1_40 = "1.40.0.7998-c29d4c0c8"  # leaves' marks no longer recorded, shows' and seasons' still


def _history(plex: PlexEmulator, query: str = "", start: int = 0, size: int = 50) -> requests.Response:
    headers = {"X-Plex-Token": TOKEN, "X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)}
    answer = requests.get(f"{plex.url}/status/sessions/history/all?sort=viewedAt:desc{query}", headers=headers)
    assert answer.status_code == 200
    return answer


def test_history_holds_music_photos_and_clips_in_one_paging(plex: PlexEmulator, server: PlexServer) -> None:
    movies = plex.add_section("Movies", "movie", ["/m"])
    music = plex.add_section("Music", "artist", ["/music"])
    photos = plex.add_section("Photos", "photo", ["/photos"])
    movie = plex.add_movie(movies, ["/m/film.mp4"])
    trailer = plex.add_clip(movie, ["/m/film-trailer.mp4"])
    track = plex.add_track(music, "Artist", "Album", 1, ["/music/Artist/Album/01.flac"])
    photo = plex.add_photo(photos, ["/photos/beach.jpg"])
    plex.play(movie, at=1_000)
    plex.play(trailer, at=1_001)
    plex.play(photo, at=1_002)
    for n in range(5):
        plex.play(track, at=2_000 + n)

    entries = server.history()
    assert [type(e).__name__ for e in entries[:5]] == ["TrackHistory"] * 5
    assert [int(e.ratingKey) for e in entries[5:]] == [photo, trailer, movie]
    assert type(entries[-2]).__name__ == "ClipHistory" and type(entries[-1]).__name__ == "MovieHistory"
    first = _history(plex, size=5).text
    assert first.count("<Track ") == 5 and "<Video " not in first  # a page of music only
    rest = _history(plex, start=5, size=5).text
    assert rest.count("<Photo ") == 1 and rest.count("<Video ") == 2 and 'type="clip"' in rest
    # the clip is in the movie's section: its type, not its section, says it is no movie
    assert f'librarySectionID="{movies}"' in rest.split('type="clip"')[0].rsplit("<Video", 1)[1]
    assert [int(e.ratingKey) for e in server.history(librarySectionID=movies)] == [trailer, movie]
    assert server.library.sectionByID(movies).totalSize == 1  # extras are not listed with the movies


def test_the_accounts_and_their_own_view_state(plex: PlexEmulator, server: PlexServer) -> None:
    movies = plex.add_section("Movies", "movie", ["/m"])
    movie = plex.add_movie(movies, ["/m/film.mp4"])
    kid = plex.add_account("Kid")
    plex.play(movie, at=1_000, account_id=kid)
    plex.partial_play(movie, 60_000, at=1_100, account_id=kid)

    assert [(a.id, a.name) for a in server.systemAccounts()] == [(0, ""), (1, "owner"), (kid, "Kid")]
    (entry,) = server.history()
    assert entry.accountID == kid
    assert server.history(accountID=1) == []
    assert server.fetchItem(movie).viewCount == 0  # the owner's token sees the owner's state
    assert (plex.view_state(movie, kid).view_count, plex.view_state(movie, kid).view_offset) == (1, 60_000)


def test_two_items_of_one_guid_share_their_view_state(plex: PlexEmulator) -> None:
    """The same movie in an HD and a 4K library: one view shows on both items, one history entry."""
    hd, uhd = plex.add_section("Movies", "movie", ["/hd"]), plex.add_section("4K", "movie", ["/4k"])
    first = plex.add_movie(hd, ["/hd/film.mp4"], guid="plex://movie/5d776b59ad5437001f79c6f8")
    second = plex.add_movie(uhd, ["/4k/film.mkv"], guid="plex://movie/5d776b59ad5437001f79c6f8")
    plex.play(first, at=1_000)
    assert (plex.item(second).view_count, plex.item(second).last_viewed_at) == (1, 1_000)
    assert len(plex.library.history) == 1


def test_mark_as_played_writes_history_only_before_1_40(server: PlexServer) -> None:
    for version, leaf_entries, season_entries in ((OLD_SERVER, 1, 2), (FIRST_1_40, 0, 2), (None, 0, 0)):
        plex = PlexEmulator(token=TOKEN, **({"version": version} if version else {})).start()
        try:
            client = PlexServer(plex.url, TOKEN, timeout=5)
            movies, shows = plex.add_section("Movies", "movie", ["/m"]), plex.add_section("TV", "show", ["/tv"])
            movie = plex.add_movie(movies, ["/m/film.mp4"])
            plex.partial_play(movie, 90_000, at=1_000)
            episodes = [plex.add_episode(shows, "Show", 1, n, [f"/tv/Show/S01E0{n}.mkv"]) for n in (1, 2)]
            client.fetchItem(movie).markPlayed()
            watched = client.fetchItem(movie)
            assert (watched.viewCount, watched.viewOffset) == (1, 0)
            assert int(watched.lastViewedAt.timestamp()) > 1_000
            assert len(client.history()) == leaf_entries, version
            client.fetchItem(episodes[0]).season().markPlayed()
            season_marks = [e for e in client.history() if e.type == "episode"]
            assert len(season_marks) == season_entries, version
            assert len({e.viewedAt for e in season_marks}) <= 1  # one second for the whole season
            assert [client.fetchItem(e).viewCount for e in episodes] == [1, 1]
            assert client.version == (version or client.version)
        finally:
            plex.stop()


def test_a_deleted_items_rating_key_goes_to_the_next_new_item(plex: PlexEmulator, server: PlexServer) -> None:
    movies = plex.add_section("Movies", "movie", ["/m"])
    plex.add_movie(movies, ["/m/keep.mp4"])
    old = plex.add_movie(movies, ["/m/old.mp4"], title="Old")
    plex.play(old, at=1_000)
    plex.rate(old, 8.0, at=1_000)
    plex.delete_item(old)
    assert plex.find_by_file("/m/old.mp4") == []
    new = plex.add_movie(movies, ["/m/unrelated.mp4"], title="Unrelated")

    assert new == old
    item = server.fetchItem(new)
    assert (item.title, item.viewCount, item.userRating) == ("Unrelated", 0, None)
    assert item.media[0].parts[0].file == "/m/unrelated.mp4"
    (entry,) = server.history()  # the old view keeps its row: under the key, Plex shows the new item
    assert (int(entry.ratingKey), entry.title, int(entry.viewedAt.timestamp())) == (new, "Unrelated", 1_000)
    assert int(item.addedAt.timestamp()) > 1_000
