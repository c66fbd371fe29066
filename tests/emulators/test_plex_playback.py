"""The account's view state and watch history, as plexapi reads them.

What real Plex does, from plexapi 4.18 and the community spec
(../shared/plex-api-spec):

- items carry ``viewCount``, ``viewOffset`` (ms), ``lastViewedAt``,
  ``userRating`` (0-10) and ``lastRatedAt`` (plexapi's ``video.py`` reads
  them with those names; ``viewCount`` and ``viewOffset`` default to 0, so
  Plex leaves them out while they are 0);
- ``server.history(mindate=...)`` sends
  ``GET /status/sessions/history/all?sort=viewedAt:desc&viewedAt>=<epoch>``
  (the spec: "typically of the form ``viewedAt>=12456789``") and pages with
  ``X-Plex-Container-Start/Size``; each entry is a ``<Video>`` with
  ``historyKey`` (``/status/sessions/history/<id>``), ``ratingKey``,
  ``librarySectionID``, ``viewedAt``, ``accountID``, ``deviceID``; a section's
  ``history()`` adds ``librarySectionID`` and ``accountID=1`` (the owner);
- ``/:/scrobble`` (mark as played) "does not create any view history of this
  item but rather just sets the state as played" (the spec), true since PMS
  1.40 (tests/emulators/test_plex_way_back.py has the versions before);
- ``/:/timeline`` is a player's progress report (``time`` in ms, ``state``).
- Section listings filter on a field with Plex's operators: plexapi's
  ``filters={'lastViewedAt>>': ...}`` becomes ``lastViewedAt>>=<epoch>``
  (``>>`` after, ``<<`` before); ``lastRatedAt`` is one of plexapi's manual
  filter fields.
"""

from __future__ import annotations

from datetime import datetime

import requests
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN


def _movies(plex: PlexEmulator, count: int) -> tuple[int, list[int]]:
    section = plex.add_section("Movies", "movie", ["/m"])
    return section, [plex.add_movie(section, [f"/m/{n}.mp4"]) for n in range(count)]


def test_a_play_a_partial_play_and_a_rating_show_on_the_item(plex: PlexEmulator, server: PlexServer) -> None:
    _, (watched, started, rated) = _movies(plex, 3)
    plex.play(watched, at=1_700_000_000)
    plex.partial_play(started, 125_000, at=1_700_000_100)
    plex.rate(rated, 8.0, at=1_700_000_200)

    movie = server.fetchItem(watched)
    assert (movie.viewCount, movie.viewOffset, int(movie.lastViewedAt.timestamp())) == (1, 0, 1_700_000_000)
    movie = server.fetchItem(started)
    assert (movie.viewCount, movie.viewOffset) == (0, 125_000)
    movie = server.fetchItem(rated)
    assert (movie.userRating, int(movie.lastRatedAt.timestamp()), movie.viewCount) == (8.0, 1_700_000_200, 0)
    assert movie.lastViewedAt is None


def test_history_filters_on_viewed_at_and_pages_as_plexapi_reads_it(plex: PlexEmulator, server: PlexServer) -> None:
    _, movies = _movies(plex, 3)
    for n, rating_key in enumerate(movies):
        plex.play(rating_key, at=1_000 + n)
        plex.play(rating_key, at=2_000 + n)
    entries = server.history(mindate=datetime.fromtimestamp(2_000))
    assert [(int(e.ratingKey), int(e.viewedAt.timestamp())) for e in entries] == [
        (movies[2], 2_002),
        (movies[1], 2_001),
        (movies[0], 2_000),
    ]
    assert type(entries[0]).__name__ == "MovieHistory"
    assert entries[0].historyKey == "/status/sessions/history/6"
    # paging: the container's totalSize with small pages
    answer = requests.get(
        f"{plex.url}/status/sessions/history/all?sort=viewedAt:desc",
        headers={"X-Plex-Token": TOKEN, "X-Plex-Container-Start": "4", "X-Plex-Container-Size": "4"},
        timeout=5,
    )
    assert answer.headers["X-Plex-Container-Total-Size"] == "6"
    assert answer.text.count("<Video") == 2
    assert len(server.history(ratingKey=movies[1])) == 2


def test_mark_as_played_sets_the_state_without_history(plex: PlexEmulator, server: PlexServer) -> None:
    _, (rating_key,) = _movies(plex, 1)
    server.fetchItem(rating_key).markPlayed()
    assert server.fetchItem(rating_key).viewCount == 1
    assert server.history() == []


def test_a_timeline_report_is_a_resume_point_or_past_the_threshold_a_view(
    plex: PlexEmulator, server: PlexServer
) -> None:
    _, (rating_key,) = _movies(plex, 1)
    movie = server.fetchItem(rating_key)
    movie.updateTimeline(600_000, state="paused", duration=movie.duration)
    assert server.fetchItem(rating_key).viewOffset == 600_000
    movie.updateTimeline(movie.duration - 1000, state="stopped", duration=movie.duration)
    assert (server.fetchItem(rating_key).viewCount, server.fetchItem(rating_key).viewOffset) == (1, 0)
    assert len(server.history()) == 1


def test_listings_filter_on_view_state_and_ratings(plex: PlexEmulator) -> None:
    section, (old, new, unrated) = _movies(plex, 3)
    plex.rate(old, 4.0, at=1_000)
    plex.rate(new, 6.0, at=3_000)
    plex.partial_play(unrated, 10_000, at=3_000)
    headers = {"X-Plex-Token": TOKEN}

    def keys(query: str) -> list[int]:
        answer = requests.get(f"{plex.url}/library/sections/{section}/all?{query}", headers=headers, timeout=5)
        return [int(part.split('"')[1]) for part in answer.text.split("ratingKey=")[1:]]

    assert keys("lastRatedAt>>=1000") == [new]
    assert keys("lastRatedAt>=1000&sort=lastRatedAt:desc") == [new, old]
    assert keys("lastViewedAt>>=2999") == [unrated]
    assert plex.item(old).updated_at == plex.item(new).updated_at  # view state is not metadata


def test_the_playground_play_command_reports_as_a_client(plex: PlexEmulator, server: PlexServer, capsys) -> None:
    from emulators import play

    _, (watched, stopped, rated, marked) = _movies(plex, 4)
    common = ["--plex-url", plex.url, "--token", TOKEN]
    assert play.main([str(watched), "--watched", *common]) == 0
    assert play.main([str(stopped), "--stop-at", "90.5", *common]) == 0
    assert play.main([str(rated), "--rate", "7", *common]) == 0
    assert play.main([str(marked), "--mark", *common]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Plex item {watched} watched to the end",
        f"Plex item {stopped} stopped at 90.5 s",
        f"Plex item {rated} rated 7",
        f"Plex item {marked} marked as played",
    ]
    assert plex.item(marked).view_count == 1
    assert [int(e.ratingKey) for e in server.history()] == [watched]
    assert (plex.item(stopped).view_offset, plex.item(rated).user_rating) == (90_500, 7.0)
    assert play.main(["999", "--watched", *common]) == 1
