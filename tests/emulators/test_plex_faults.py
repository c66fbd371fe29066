"""Tokens, injected faults and outages, each surfacing as the exception the real
plexapi raises (the table at the end of shared/plex-facts.md)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
import requests
from plexapi.exceptions import BadRequest, NotFound, Unauthorized
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN


@pytest.fixture
def movie(plex: PlexEmulator) -> int:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    return plex.add_movie(sid, files=["/m/a.mp4"])


@pytest.fixture
def server(plex: PlexEmulator) -> PlexServer:
    return PlexServer(plex.url, TOKEN, timeout=1)


def test_missing_or_wrong_token_is_unauthorized(plex: PlexEmulator) -> None:
    with pytest.raises(Unauthorized):
        PlexServer(plex.url, "wrong-token", timeout=5)
    answer = requests.get(plex.url + "/library/sections", timeout=5)
    assert answer.status_code == 401
    assert answer.text == "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
    by_query = requests.get(plex.url + "/library/sections", params={"X-Plex-Token": TOKEN}, timeout=5)
    assert by_query.status_code == 200


def test_a_changed_token_locks_out_the_old_one(plex: PlexEmulator, server: PlexServer, movie: int) -> None:
    assert server.fetchItem(movie).ratingKey == movie
    plex.token = "rotated"
    with pytest.raises(Unauthorized):
        server.fetchItem(movie)
    assert PlexServer(plex.url, "rotated", timeout=5).fetchItem(movie).ratingKey == movie


@pytest.mark.parametrize(
    ("status", "exception"),
    [(401, Unauthorized), (404, NotFound), (500, BadRequest), (503, BadRequest), (429, BadRequest), (508, TypeError)],
)
def test_status_faults(plex: PlexEmulator, server: PlexServer, movie: int, status: int, exception: type) -> None:
    plex.faults.add(r"^/library/metadata/", status=status, times=1)
    with pytest.raises(exception) as caught:
        server.fetchItem(movie)
    if exception is BadRequest:
        assert f"({status})" in str(caught.value)
    assert server.fetchItem(movie).ratingKey == movie  # the fault fired once


def test_garbage_body_is_a_parse_error(plex: PlexEmulator, server: PlexServer, movie: int) -> None:
    plex.faults.add(r"^/library/metadata/", garbage=True, times=1)
    with pytest.raises(ElementTree.ParseError):
        server.fetchItem(movie)


def test_dropped_connection_is_a_connection_error(plex: PlexEmulator, server: PlexServer, movie: int) -> None:
    plex.faults.add(r"^/library/metadata/", drop=True, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        server.fetchItem(movie)
    (dropped,) = [r for r in plex.requests if r.status == 0]
    assert dropped.path == f"/library/metadata/{movie}"


def test_a_slow_answer_is_a_read_timeout(plex: PlexEmulator, server: PlexServer, movie: int) -> None:
    plex.faults.add(r"^/library/metadata/", delay=2.0, times=1)  # the client waits 1 s
    with pytest.raises(requests.exceptions.ReadTimeout):
        server.fetchItem(movie)


def test_a_fault_on_edits_only(plex: PlexEmulator, server: PlexServer, movie: int) -> None:
    plex.faults.add(r"/all$", method="PUT", status=503, times=1)
    item = server.fetchItem(movie)
    with pytest.raises(BadRequest):
        item.editTitle("X")
    assert plex.item(movie).title == "a"
    item.editTitle("X")
    assert plex.item(movie).title == "X"


def test_down_refuses_and_up_serves_again_on_the_same_port(plex: PlexEmulator, server: PlexServer, movie: int) -> None:
    port = plex.port
    plex.down()
    with pytest.raises(requests.exceptions.ConnectionError):
        server.fetchItem(movie)
    plex.up()
    assert plex.port == port
    assert server.fetchItem(movie).ratingKey == movie


def test_an_emulator_bug_answers_500_without_a_traceback(plex: PlexEmulator, monkeypatch) -> None:
    def broken(request):
        raise RuntimeError("emulator bug")

    monkeypatch.setattr(plex, "_identity", broken)
    answer = requests.get(plex.url + "/identity", timeout=5)
    assert answer.status_code == 500
    assert b"Traceback" not in answer.content and b"emulator bug" not in answer.content
    assert [str(e) for e in plex.internal_errors] == ["emulator bug"]
    plex.internal_errors.clear()  # seen: the fixture's no-bug check stays meaningful
