"""Episodes as Plex holds them: their own editable fields, and filters that name their type.

What real Plex and plexapi 4.18 say (read December 2026):

- plexapi ``mixins/__init__.py``: ``EpisodeEditMixins`` offers title, sort title,
  summary, originally available, content rating, user rating, added at, and the tag
  lists collection, director, label, writer; ``MovieEditMixins`` adds genre, studio,
  original title, tagline, country, producer. plexapi's ``Episode`` (``video.py``)
  reads ``<Role>`` (cast), ``year``, labels, collections, directors, writers, and no
  genre, studio or original title. ../shared/plex-facts.md ("Editable fields depend
  on the item type") records the same, and that what Plex does with a field the type
  lacks is unverified.
- The emulator drops such a parameter and answers 200 (emulators/plex/edits.py says
  why: it is the outcome a client cannot notice), keeping what it dropped in
  ``PlexEmulator.ignored_edits``.
- plexapi's ``LibrarySection._validateFilterField`` builds a filter from the
  server's field key, ``libtype = _libtype or libtype or self.TYPE``: on a show
  section's episodes it sends ``type=4&episode.lastViewedAt>>=...``
  (../shared/plex-facts.md, "Filters on a show section's episodes"). Without the
  prefix a field is the section's own type's (the show's).
"""

from __future__ import annotations

import requests
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN


def _episode(plex: PlexEmulator) -> tuple[int, int]:
    section = plex.add_section("TV", "show", ["/tv"])
    return section, plex.add_episode(section, "Show", 1, 1, ["/tv/Show/Season 01/Show - S01E01.mp4"])


def put(server: PlexServer, path: str) -> None:
    server.query(path, method=server._session.put)


def test_an_episode_keeps_its_own_fields_and_drops_those_it_has_not(plex: PlexEmulator, server: PlexServer) -> None:
    section, episode = _episode(plex)
    put(
        server,
        f"/library/sections/{section}/all?type=4&id={episode}&title.value=Night&title.locked=1"
        "&summary.value=Plot&originallyAvailableAt.value=2024-02-29&year.value=2024"
        "&studio.value=Acme&studio.locked=1&originalTitle.value=ABC-123&genre%5B0%5D.tag.tag=Drama&genre.locked=1"
        "&label%5B0%5D.tag.tag=Drama&collection%5B0%5D.tag.tag=Acme&actor%5B0%5D.tag.tag=Ann",
    )

    item = plex.item(episode)
    assert (item.title, item.summary, item.originally_available_at, item.year) == ("Night", "Plot", "2024-02-29", 2024)
    assert (item.labels, item.collections, item.actors) == (["Drama"], ["Acme"], ["Ann"])
    assert (item.studio, item.original_title, item.genres) == ("", "", [])
    assert item.locked == {"title"}
    assert plex.ignored_edits == [(episode, "genre"), (episode, "originalTitle"), (episode, "studio")]
    shown = server.fetchItem(episode)
    assert (shown.title, [label.tag for label in shown.labels], shown.year) == ("Night", ["Drama"], 2024)


def test_plexapis_episode_edits_are_all_kept(plex: PlexEmulator, server: PlexServer) -> None:
    _, episode = _episode(plex)
    shown = server.fetchItem(episode)
    shown.batchEdits()
    shown.editTitle("T").editSortTitle("S").editSummary("P").editContentRating("X").editOriginallyAvailable("2020-01-02")
    shown.addLabel("L").addCollection("C").addDirector("D").addWriter("W")
    shown.saveEdits()

    item = plex.item(episode)
    assert (item.title, item.title_sort, item.summary, item.content_rating) == ("T", "S", "P", "X")
    assert (item.labels, item.collections, item.directors, item.writers) == (["L"], ["C"], ["D"], ["W"])
    assert plex.ignored_edits == []


def test_a_movie_still_holds_genre_studio_and_original_title(plex: PlexEmulator, server: PlexServer) -> None:
    section = plex.add_section("Movies", "movie", ["/m"])
    movie = plex.add_movie(section, ["/m/a.mp4"])
    put(server, f"/library/metadata/{movie}?studio.value=Acme&originalTitle.value=ABC-1&genre%5B0%5D.tag.tag=Drama")
    item = plex.item(movie)
    assert (item.studio, item.original_title, item.genres) == ("Acme", "ABC-1", ["Drama"])
    assert plex.ignored_edits == []


def test_episode_filters_need_the_episode_prefix(plex: PlexEmulator) -> None:
    section, played = _episode(plex)
    rated = plex.add_episode(section, "Show", 1, 2, ["/tv/Show/Season 01/Show - S01E02.mp4"])
    plex.partial_play(played, 60_000, at=5_000)
    plex.rate(rated, 8.0, at=5_000)

    def keys(query: str) -> list[int]:
        answer = requests.get(
            f"{plex.url}/library/sections/{section}/all?type=4&{query}", headers={"X-Plex-Token": TOKEN}, timeout=5
        )
        return [int(part.split('"')[1]) for part in answer.text.split("ratingKey=")[1:]]

    assert keys("episode.lastViewedAt>>=4999") == [played]
    assert keys("episode.lastRatedAt>>=4999") == [rated]
    # unprefixed: the show's own view state and rating, which no one touched
    assert keys("lastViewedAt>>=4999") == []
    assert keys("lastRatedAt>>=4999") == []
    show = plex.library.show_of(plex.library.item(played))
    plex.rate(show.rating_key, 5.0, at=6_000)
    assert keys("show.lastRatedAt>>=5999") == [played, rated]
    assert keys("lastRatedAt>>=5999") == [played, rated]
