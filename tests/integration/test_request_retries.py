"""Request-level retries (plexsync.retrying) against the emulators' real HTTP
faults: one failed request is tried again at once, only when it is safe to
send twice, and never while the server refuses connections."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator
from plexsync.errors import Permanent, Transient, Unavailable
from plexsync.plex.writer import PlexWriter
from plexsync.retrying import BACKOFF, PLEX, STASH, RetryingSession
from plexsync.stash.reader import StashReader
from tests.integration.conftest import World
from tests.support import wait_until

TOKEN = "retry-test-token"
API_KEY = "retry-test-key"
TRIES = len(BACKOFF) + 1
EDIT_PATH = r"^/library/sections/\d+/all$"
FAULTS = [{"status": 500}, {"status": 502}, {"status": 503}, {"status": 504}, {"drop": True}, {"garbage": True}]


@pytest.fixture
def plex() -> Iterator[PlexEmulator]:
    server = PlexEmulator(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def stash() -> Iterator[StashEmulator]:
    server = StashEmulator(api_key=API_KEY).start()
    yield server
    server.stop()


def plex_item(plex: PlexEmulator) -> tuple[PlexWriter, object]:
    section = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    plex.add_movie(section, files=["/m/a.mp4"])
    writer = PlexWriter(plex.url, TOKEN, timeout=5)
    [target] = writer.find("/m/a.mp4")
    plex.clear_requests()
    return writer, target


def statuses(server, method: str, path: str) -> list[int]:
    return [r.status for r in server.requests_matching(method, path)]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: next(k if k != "status" else str(v) for k, v in f.items()))
def test_a_plex_edit_that_fails_on_the_way_is_sent_again_and_lands(plex: PlexEmulator, fault: dict):
    writer, target = plex_item(plex)
    plex.faults.add(EDIT_PATH, method="PUT", times=TRIES - 1, **fault)
    writer.edit(target, {"title.value": "Retried", "title.locked": "1"})
    assert plex.item(target.rating_key).title == "Retried"
    seen = statuses(plex, "PUT", EDIT_PATH)
    assert len(seen) == TRIES and seen[-1] == 200


def test_after_the_last_try_the_failure_is_the_jobs_as_before(plex: PlexEmulator):
    writer, target = plex_item(plex)
    plex.faults.add(EDIT_PATH, method="PUT", status=503, times=TRIES)
    with pytest.raises(Transient, match="HTTP 503"):
        writer.edit(target, {"title.value": "Never"})
    assert statuses(plex, "PUT", EDIT_PATH) == [503] * TRIES  # bounded: no fifth try


def test_a_poster_upload_and_the_index_listing_are_retried(plex: PlexEmulator):
    writer, target = plex_item(plex)
    plex.faults.add(r"/posters$", method="POST", drop=True, times=2)
    writer.upload_poster(target, b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert statuses(plex, "POST", r"/posters$") == [0, 0, 200]

    plex.add_movie(1, files=["/m/b.mp4"])  # a miss rebuilds the index: its listing fails once
    plex.faults.add(r"^/library/sections/\d+/all$", method="GET", garbage=True, times=1)
    assert [t.rating_key for t in writer.find("/m/b.mp4")]


def test_a_refused_connection_is_not_retried_so_the_outage_shows_at_once(plex: PlexEmulator):
    writer, target = plex_item(plex)
    slept: list[float] = []
    session = RetryingSession(PLEX, sleep=slept.append)
    url = f"{plex.url}/library/sections"
    plex.down()
    with pytest.raises(requests.ConnectionError):
        session.get(url, headers={"X-Plex-Token": TOKEN}, timeout=2)
    assert slept == []
    with pytest.raises(Unavailable, match="unreachable"):
        writer.edit(target, {"title.value": "Down"})


def test_a_read_timeout_is_left_to_the_job_retry(plex: PlexEmulator):
    slept: list[float] = []
    session = RetryingSession(PLEX, sleep=slept.append)
    plex.faults.add(r"^/library/sections$", delay=1.0, times=1)
    with pytest.raises(requests.ReadTimeout):
        session.get(f"{plex.url}/library/sections", headers={"X-Plex-Token": TOKEN}, timeout=0.3)
    assert slept == []


def test_requests_that_are_not_safe_to_repeat_are_sent_once(plex: PlexEmulator, stash: StashEmulator):
    plex.faults.add(r"^/library/sections/1/refresh$", status=503)
    response = RetryingSession(PLEX).post(f"{plex.url}/library/sections/1/refresh", timeout=5)
    assert response.status_code == 503
    assert len(plex.requests_matching(path=r"/refresh$")) == 1

    stash.faults.add(r"^/graphql$", status=503)
    mutation = {"query": "mutation { sceneUpdate(input: {id: 1}) { id } }"}
    response = RetryingSession(STASH).post(stash.graphql_url, json=mutation, headers={"ApiKey": API_KEY}, timeout=5)
    assert response.status_code == 503
    assert statuses(stash, "POST", r"^/graphql$") == [503]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: next(k if k != "status" else str(v) for k, v in f.items()))
def test_a_stash_query_that_fails_on_the_way_is_sent_again(stash: StashEmulator, fault: dict):
    scene_id = stash.add_scene(title="Read twice", files=({"path": "/s/a.mp4", "size": 1, "duration": 1.0},))
    reader = StashReader({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "ApiKey": API_KEY}, timeout=5)
    stash.clear_requests()
    stash.faults.add(r"^/graphql$", times=TRIES - 1, **fault)
    assert reader.scene(scene_id)["title"] == "Read twice"
    assert len(statuses(stash, "POST", r"^/graphql$")) == TRIES

    if not fault.get("garbage"):  # an image announces no text format to check; its length is checked
        stash.faults.add(r"/screenshot$", times=TRIES - 1, **fault)
        assert reader.download(f"{stash.url}/scene/{scene_id}/screenshot") == stash.screenshot(scene_id)
        assert len(statuses(stash, "GET", r"/screenshot$")) == TRIES


class _TruncatingServer:
    """Answers every request with a body shorter than its Content-Length, then hangs up."""

    def __init__(self, good_after: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.served = 0
        self.good_after = good_after
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.served += 1
                body = b"<MediaContainer size='0'></MediaContainer>"
                if self.served > self.good_after:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body))
                    conn.sendall(body)
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5000\r\n\r\n")
                    conn.sendall(body[:20])

    def close(self) -> None:
        self.sock.close()


def test_a_body_cut_short_is_fetched_again():
    server = _TruncatingServer(good_after=2)
    try:
        response = RetryingSession(PLEX).get(f"http://127.0.0.1:{server.port}/library/sections", timeout=5)
        assert response.content.endswith(b"</MediaContainer>")
        assert server.served == 3
    finally:
        server.close()


def _locked_stash(stash: StashEmulator) -> None:
    if not hasattr(stash, "fail_resolvers"):
        pytest.skip("the Stash emulator cannot answer 'database is locked' in a 200 yet")


def test_a_stash_answer_with_database_is_locked_in_a_200_is_asked_again(stash: StashEmulator):
    _locked_stash(stash)
    scene_id = stash.add_scene(title="Busy", files=({"path": "/s/a.mp4", "size": 1, "duration": 1.0},))
    reader = StashReader({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "ApiKey": API_KEY}, timeout=5)
    stash.clear_requests()
    stash.fail_resolvers("database is locked", times=TRIES - 1)
    assert reader.scene(scene_id)["title"] == "Busy"
    assert statuses(stash, "POST", r"^/graphql$") == [200] * TRIES


def test_a_stash_that_stays_locked_is_a_transient_failure_not_a_permanent_one(stash: StashEmulator):
    _locked_stash(stash)
    scene_id = stash.add_scene(title="Busy", files=({"path": "/s/a.mp4", "size": 1, "duration": 1.0},))
    reader = StashReader({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "ApiKey": API_KEY}, timeout=5)
    stash.clear_requests()
    stash.fail_resolvers("database is locked", times=TRIES)
    with pytest.raises(Transient, match="locked") as failure:
        reader.scene(scene_id)
    assert not isinstance(failure.value, Permanent)
    assert len(statuses(stash, "POST", r"^/graphql$")) == TRIES
    stash.fail_resolvers("database is locked", fields=("findScenes",), times=TRIES - 1)
    assert [ids for ids in reader.scene_ids(10)] == [[scene_id]]  # paged reads too
    assert len(statuses(stash, "POST", r"^/graphql$")) == 2 * TRIES


def test_an_error_that_is_not_transient_is_not_asked_again(stash: StashEmulator):
    _locked_stash(stash)
    scene_id = stash.add_scene(title="Broken", files=({"path": "/s/a.mp4", "size": 1, "duration": 1.0},))
    reader = StashReader({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "ApiKey": API_KEY}, timeout=5)
    stash.clear_requests()
    stash.fail_resolvers("scene has no such field", times=1)
    with pytest.raises(Permanent):
        reader.scene(scene_id)
    assert len(statuses(stash, "POST", r"^/graphql$")) == 1


def test_a_worker_against_an_often_locked_stash_syncs_every_scene_without_dead_letters(world: World):
    _locked_stash(world.stash)
    scenes = world.add_scenes(40, prefix="locked")
    # Surely locked: the bulk sync's first reads of scenes (a bulk sync reads Stash only
    # about ten times, ids, settings and pages, so 30% alone may miss them all)...
    surely = world.stash.fail_resolvers("database is locked", fields=("findScenes",), times=TRIES - 1)
    # ...and often locked, anywhere, after that.
    world.stash.fail_resolvers("database is locked", fraction=0.3)
    world.start_consumer(workers=2)
    assert world.host.run_task("Sync all scenes").error is None
    wait_until(
        lambda: all(world.plex.item(rk).title == f"locked title {i}" for i, (_, rk) in enumerate(scenes)),
        timeout=120,
        message="every scene synced",
    )
    wait_until(lambda: world.queued() == 0, timeout=60, message="queue drained")
    assert world.dead_letters() == []
    assert surely.hits == TRIES - 1, surely.hits
