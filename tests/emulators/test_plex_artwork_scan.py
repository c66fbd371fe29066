"""Poster and background uploads, and partial scans, through the real plexapi."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests
from plexapi.exceptions import BadRequest
from plexapi.server import PlexServer

from emulators.http import EmulatorServer, Request, Response
from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"png-bytes" * 50


class ImageHost(EmulatorServer):
    """Where a ``?url=`` upload points: Plex fetches the image from here itself."""

    def handle(self, request: Request) -> Response:
        if request.path == "/poster.png":
            return Response(body=PNG, content_type="image/png")
        return Response(status=404)


@pytest.fixture
def image_host():
    host = ImageHost().start()
    yield host
    host.stop()


def wait_for(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_upload_poster_from_a_file(plex: PlexEmulator, server: PlexServer, tmp_path) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    image = tmp_path / "poster.jpg"
    image.write_bytes(JPEG)
    movie = server.fetchItem(rk)
    assert movie.thumb is None
    plex.clear_requests()

    movie.uploadPoster(filepath=str(image))

    (request,) = plex.requests
    assert (request.method, request.path, request.query) == ("POST", f"/library/metadata/{rk}/posters", ())
    assert plex.item(rk).poster == JPEG
    thumb = movie.reload().thumb
    assert thumb == f"/library/metadata/{rk}/thumb/{plex.item(rk).updated_at}"
    served = requests.get(plex.url + thumb, headers={"X-Plex-Token": TOKEN}, timeout=5)
    assert (served.content, served.headers["Content-Type"]) == (JPEG, "image/jpeg")
    assert requests.get(plex.url + thumb, timeout=5).status_code == 401

    movie.lockPoster()
    assert "thumb" in plex.item(rk).locked


def test_upload_poster_and_art_from_a_url(
    plex: PlexEmulator, server: PlexServer, image_host: ImageHost, tmp_path
) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    movie = server.fetchItem(rk)

    movie.uploadPoster(url=image_host.url + "/poster.png")

    (upload,) = plex.requests_matching("POST")
    assert upload.arg("url") == image_host.url + "/poster.png"
    assert len(image_host.requests_matching("GET", "^/poster.png$")) == 1
    assert plex.item(rk).poster == PNG
    assert plex.item(rk).art is None

    art = tmp_path / "art.jpg"
    art.write_bytes(JPEG)
    movie.uploadArt(filepath=str(art))
    assert plex.item(rk).art == JPEG
    assert movie.reload().art == f"/library/metadata/{rk}/art/{plex.item(rk).updated_at}"

    with pytest.raises(BadRequest):
        movie.uploadPoster(url=image_host.url + "/missing.png")
    assert plex.item(rk).poster == PNG


def test_partial_scan_adds_only_files_under_the_folder(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/media/movies"])
    plex.add_unscanned_file(sid, "/media/movies/new/b.mp4")
    plex.add_unscanned_file(sid, "/media/movies/new/deeper/c.mp4", title="Given Title")
    plex.add_unscanned_file(sid, "/media/movies/newer/d.mp4")
    plex.add_unscanned_file(sid, "/media/movies/50% [HD] #1 it's/e.mp4")
    section = server.library.sectionByID(sid)
    assert section.all() == [] and plex.find_by_file("/media/movies/new/b.mp4") == []
    plex.clear_requests()

    section.update(path="/media/movies/new")

    (scan,) = plex.requests
    assert (scan.method, scan.path, scan.arg("path")) == (
        "GET",
        f"/library/sections/{sid}/refresh",
        "/media/movies/new",
    )
    assert sorted(m.title for m in section.all()) == ["Given Title", "b"]
    assert plex.find_by_file("/media/movies/newer/d.mp4") == []
    (rk,) = plex.find_by_file("/media/movies/new/b.mp4")
    assert plex.item(rk).files == ["/media/movies/new/b.mp4"]

    section.update(path="/media/movies/50% [HD] #1 it's")
    assert [m.locations for m in section.all() if m.title == "e"] == [["/media/movies/50% [HD] #1 it's/e.mp4"]]

    section.update()
    assert len(plex.find_by_file("/media/movies/newer/d.mp4")) == 1
    assert len(section.all()) == 4


def test_scan_of_a_windows_folder_and_a_show_section(plex: PlexEmulator, server: PlexServer) -> None:
    movies = plex.add_section(title="Movies", kind="movie", locations=["D:\\Films"])
    plex.add_unscanned_file(movies, "D:\\Films\\Nouveau\\Été.mkv")
    shows = plex.add_section(title="TV", kind="show", locations=["/tv"])
    plex.add_unscanned_file(shows, "/tv/My Show/Season 02/My Show - S02E05.mkv")
    plex.add_unscanned_file(shows, "/tv/My Show/Extras/Behind the scenes.mkv")  # no SxxEyy: never added

    server.library.sectionByID(movies).update(path="D:\\Films\\Nouveau")
    server.library.sectionByID(shows).update(path="/tv/My Show")

    (movie,) = server.library.sectionByID(movies).all()
    assert (movie.title, movie.locations) == ("Été", ["D:\\Films\\Nouveau\\Été.mkv"])
    (episode,) = server.library.sectionByID(shows).searchEpisodes()
    assert (episode.grandparentTitle, episode.parentIndex, episode.index) == ("My Show", 2, 5)
    assert plex.find_by_file("/tv/My Show/Extras/Behind the scenes.mkv") == []


def test_scan_delay_makes_items_appear_later() -> None:
    plex = PlexEmulator(token=TOKEN, scan_delay=1.0).start()
    try:
        slow = PlexServer(plex.url, TOKEN, timeout=5)
        sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
        plex.add_unscanned_file(sid, "/m/new/a.mp4")
        section = slow.library.sectionByID(sid)
        section.update(path="/m/new")
        assert plex.find_by_file("/m/new/a.mp4") == []
        assert section.reload().refreshing is True
        assert wait_for(lambda: plex.find_by_file("/m/new/a.mp4"))
        assert [m.locations for m in section.all()] == [["/m/new/a.mp4"]]
        assert section.reload().refreshing is False
    finally:
        plex.stop()


def test_forced_section_refresh_reruns_the_agent(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(sid, files=["/m/stem.mp4"], title="Edited", studio="S", locked=["studio"])
    server.library.sectionByID(sid).refresh()  # GET .../refresh?force=1
    assert (plex.item(rk).title, plex.item(rk).studio) == ("stem", "S")


def test_uploaded_posters_are_listed_and_can_be_selected_again(
    plex: PlexEmulator, server: PlexServer, tmp_path
) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    movie = server.fetchItem(rk)
    first, second = tmp_path / "1.jpg", tmp_path / "2.png"
    first.write_bytes(JPEG)
    second.write_bytes(PNG)
    movie.uploadPoster(filepath=str(first))
    movie.uploadPoster(filepath=str(second))

    posters = movie.posters()

    assert [p.ratingKey for p in posters] == [
        f"upload://posters/{hashlib.sha1(JPEG).hexdigest()}",
        f"upload://posters/{hashlib.sha1(PNG).hexdigest()}",
    ]
    assert [p.selected for p in posters] == [False, True]
    served = requests.get(plex.url + posters[0].key, headers={"X-Plex-Token": TOKEN}, timeout=5)
    assert served.content == JPEG
    movie.setPoster(posters[0])
    assert plex.item(rk).poster == JPEG
    assert [p.selected for p in movie.posters()] == [True, False]
