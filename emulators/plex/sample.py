"""The small library ``python -m emulators.plex`` serves, so a manual client sees something.

Realistic libraries come from the separate library generator; this stays trivial.
"""

from __future__ import annotations

from .server import PlexEmulator

MOVIES = "/media/plex/movies"
SHOWS = "/media/plex/shows"


def seed_sample(plex: PlexEmulator) -> None:
    movies = plex.add_section(title="Movies", kind="movie", locations=[MOVIES])
    plex.add_movie(
        movies,
        files=[f"{MOVIES}/Heat (1995)/Heat - cd1.avi", f"{MOVIES}/Heat (1995)/Heat - cd2.avi"],
        year=1995,
        studio="Warner Bros.",
        genres=["Crime", "Drama"],
        actors=[("Al Pacino", "Vincent Hanna"), ("Robert De Niro", "Neil McCauley")],
    )
    plex.add_movie(movies, files=[f"{MOVIES}/Amélie.mkv"], genres=["Comedy"])
    plex.add_unscanned_file(movies, f"{MOVIES}/new/Unscanned Movie.mp4")
    seed_shows(plex)


def seed_generated(plex: PlexEmulator, count: int) -> None:
    movies = plex.add_section(title="Movies", kind="movie", locations=[MOVIES])
    for number in range(1, count + 1):
        plex.add_movie(movies, files=[f"{MOVIES}/generated/Movie {number:06d}.mp4"], genres=["Drama"])
    seed_shows(plex)


def seed_shows(plex: PlexEmulator) -> None:
    shows = plex.add_section(title="TV Shows", kind="show", locations=[SHOWS])
    for episode in (1, 2):
        path = f"{SHOWS}/Sample Show/Season 01/Sample Show - S01E0{episode}.mkv"
        plex.add_episode(shows, show_title="Sample Show", season=1, episode=episode, files=[path])
