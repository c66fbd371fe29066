"""The Plex emulator's notification websocket, as the real plexapi ``AlertListener``
(and websocket-client, which it needs) receive it.

What real Plex sends and where each fact comes from is in emulators/plex/notifications.py:
``playing`` (``PlaySessionStateNotification``: a capture in PlexKodiConnect issue #162,
PlexTraktSync's ``watch/events.py``), ``timeline`` (``TimelineEntry``: Tautulli's
``activity_handler.TimelineHandler``, state codes from plexapi's ``alert.py``) and
``activity`` (``ActivityNotification``: PlexTraktSync's ``tests/mock_data``). plexapi's
``AlertListener`` connects to ``server.url('/:/websockets/notifications',
includeToken=True)`` with ``http`` replaced by ``ws`` and hands each message's
``NotificationContainer`` to its callback; without the endpoint its thread ends.
"""

from __future__ import annotations

import queue
import threading

import pytest
import requests
import websocket
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN
from tests.support import wait_until


@pytest.fixture
def alerts(plex: PlexEmulator, server: PlexServer):
    received: queue.Queue = queue.Queue()
    listener = server.startAlertListener(callback=received.put)
    wait_until(lambda: plex.notifications.listeners == 1, timeout=10, message="plexapi connected")
    yield received
    if listener.is_alive():
        listener.stop()


def next_of(received: queue.Queue, kind: str) -> dict:
    while True:
        message = received.get(timeout=10)
        if message["type"] == kind:
            return message


def test_a_players_reports_arrive_as_playing_notifications(plex: PlexEmulator, server: PlexServer, alerts) -> None:
    section = plex.add_section("Movies", "movie", ["/m"])
    movie = plex.add_movie(section, ["/m/a.mp4"])
    played = server.fetchItem(movie)
    played.updateTimeline(60_000, state="playing", duration=played.duration)
    played.updateTimeline(125_000, state="stopped", duration=played.duration)

    first, stop = next_of(alerts, "playing"), next_of(alerts, "playing")
    entry = first["PlaySessionStateNotification"][0]
    assert (entry["ratingKey"], entry["key"], entry["state"], entry["viewOffset"]) == (
        str(movie),
        f"/library/metadata/{movie}",
        "playing",
        60_000,
    )
    assert stop["PlaySessionStateNotification"][0]["state"] == "stopped"
    assert stop["PlaySessionStateNotification"][0]["sessionKey"] == entry["sessionKey"]
    assert first["size"] == 1

    plex.play(movie)  # the Python helper: a client's last report, at the end
    end = next_of(alerts, "playing")["PlaySessionStateNotification"][0]
    assert (end["state"], end["viewOffset"]) == ("stopped", played.duration)


def test_a_scan_reports_its_activity_and_each_new_item(plex: PlexEmulator, server: PlexServer, alerts) -> None:
    section = plex.add_section("Movies", "movie", ["/m"])
    plex.add_unscanned_file(section, "/m/new/b.mp4")
    server.library.sectionByID(section).update(path="/m/new")

    started = next_of(alerts, "activity")["ActivityNotification"][0]
    assert (started["event"], started["Activity"]["type"]) == ("started", "library.update.section")
    assert started["Activity"]["Context"] == {"librarySectionID": str(section)}
    created = next_of(alerts, "timeline")["TimelineEntry"][0]
    (new,) = plex.find_by_file("/m/new/b.mp4")
    shown = (created["itemID"], created["sectionID"], created["type"], created["state"])
    assert shown == (str(new), str(section), 1, 0)
    assert (created["identifier"], created["metadataState"]) == ("com.plexapp.plugins.library", "created")
    assert next_of(alerts, "timeline")["TimelineEntry"][0]["state"] == 5
    ended = next_of(alerts, "activity")["ActivityNotification"][0]
    assert (ended["event"], ended["uuid"], ended["Activity"]["progress"]) == ("ended", started["uuid"], 100)


def test_a_rating_sends_nothing(plex: PlexEmulator, server: PlexServer, alerts) -> None:
    section = plex.add_section("Movies", "movie", ["/m"])
    movie = plex.add_movie(section, ["/m/a.mp4"])
    server.fetchItem(movie).rate(8.0)
    assert plex.item(movie).user_rating == 8.0
    assert plex.notifications.sent == []


def test_the_token_is_required_and_a_header_token_works(plex: PlexEmulator) -> None:
    url = plex.url.replace("http", "ws") + "/:/websockets/notifications"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 401
    connection = websocket.create_connection(url, header={"X-Plex-Token": TOKEN}, timeout=5)
    try:
        connection.ping(b"alive?")
        frame = connection.recv_frame()
        assert (frame.opcode, frame.data) == (websocket.ABNF.OPCODE_PONG, b"alive?")
        plex.notifications.publish({"NotificationContainer": {"type": "status", "size": 0}})
        assert '"type":"status"' in connection.recv()
    finally:
        connection.close()
    wait_until(lambda: plex.notifications.listeners == 0, timeout=5, message="the close was served")
    plain = requests.get(plex.url + "/:/websockets/notifications", headers={"X-Plex-Token": TOKEN}, timeout=5)
    assert plain.status_code == 404  # not an upgrade: nothing to serve


def test_a_server_without_the_socket_or_a_dropped_socket_ends_plexapis_listener(
    plex: PlexEmulator, server: PlexServer
) -> None:
    errors: list[Exception] = []
    listener = server.startAlertListener(callback=lambda message: None, callbackError=errors.append)
    wait_until(lambda: plex.notifications.listeners == 1, timeout=10, message="plexapi connected")
    assert plex.notifications.drop() == 1
    listener.join(timeout=10)
    assert not listener.is_alive()  # plexapi does not reconnect by itself

    plex.notifications.enabled = False
    done = threading.Event()
    listener = server.startAlertListener(callback=lambda message: None, callbackError=lambda e: done.set())
    listener.join(timeout=10)
    assert done.is_set() and not listener.is_alive()
    assert any(r.path == "/:/websockets/notifications" and r.status == 404 for r in plex.requests)
