"""Injected faults as stashapi 0.1.5 surfaces them to its caller.

What a caller of ``call_GQL`` sees (``RAISE_GQL_ERRORS`` off / on):

- HTTP 5xx or a garbage 200 body: ``{}`` / ``Exception("<code> <reason> query failed. <version>")``;
  helpers that index the result (``find_scene``) then raise ``KeyError``;
- a dropped connection or a closed port: ``requests.ConnectionError`` either way;
- a slow answer: stashapi waits, it sets no timeout; only a caller-side timeout
  turns it into ``requests.ReadTimeout``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator

API_KEY = "fault-key"
QUERY = "query($id: ID) { findScene(id: $id) { title } }"


@pytest.fixture
def stash() -> Iterator[StashEmulator]:
    emulator = StashEmulator(api_key=API_KEY).start()
    emulator.add_scene(title="Still here")
    yield emulator
    emulator.stop()


@pytest.fixture
def client(stash: StashEmulator) -> StashInterface:
    built = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "ApiKey": API_KEY})
    stash.clear_requests()
    return built


def healthy(client: StashInterface) -> bool:
    return client.call_GQL(QUERY, {"id": 1}) == {"findScene": {"title": "Still here"}}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_returns_an_empty_dict(stash: StashEmulator, client: StashInterface, status: int) -> None:
    stash.faults.add("^/graphql$", status=status, times=1)
    assert client.call_GQL(QUERY, {"id": 1}) == {}
    assert [r.status for r in stash.requests] == [status]
    assert healthy(client)


def test_a_server_error_breaks_find_scene_with_a_key_error(stash: StashEmulator, client: StashInterface) -> None:
    stash.faults.add("^/graphql$", status=500, times=1)
    with pytest.raises(KeyError, match="findScene"):
        client.find_scene(1, fragment="title")


def test_a_server_error_raises_when_gql_errors_raise(stash: StashEmulator, client: StashInterface) -> None:
    client.RAISE_GQL_ERRORS = True
    stash.faults.add("^/graphql$", status=500, times=1)
    with pytest.raises(Exception, match=r"^500 Internal Server Error query failed\. v0\.30\.1-0$"):
        client.call_GQL(QUERY, {"id": 1})
    assert healthy(client)


def test_a_garbage_body_returns_an_empty_dict_or_raises(stash: StashEmulator, client: StashInterface) -> None:
    stash.faults.add("^/graphql$", garbage=True, times=2)
    assert client.call_GQL(QUERY, {"id": 1}) == {}
    client.RAISE_GQL_ERRORS = True
    with pytest.raises(Exception, match=r"^200 OK query failed"):
        client.call_GQL(QUERY, {"id": 1})
    assert [r.status for r in stash.requests] == [200, 200]
    assert healthy(client)


@pytest.mark.parametrize("raise_errors", [False, True])
def test_a_dropped_connection_raises_connection_error(
    stash: StashEmulator, client: StashInterface, raise_errors: bool
) -> None:
    client.RAISE_GQL_ERRORS = raise_errors
    stash.faults.add("^/graphql$", drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        client.call_GQL(QUERY, {"id": 1})
    assert [r.status for r in stash.requests] == [0]
    assert healthy(client)


def test_a_slow_answer_is_awaited_by_stashapi(stash: StashEmulator, client: StashInterface) -> None:
    rule = stash.faults.add("^/graphql$", delay=0.3, times=1)
    assert healthy(client)
    assert rule.hits == 1


def test_a_caller_side_timeout_turns_a_slow_answer_into_read_timeout(stash: StashEmulator) -> None:
    stash.faults.add("^/graphql$", delay=1.0, times=1)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            stash.graphql_url, json={"query": "{ version { hash } }"}, headers={"ApiKey": API_KEY}, timeout=0.2
        )
    # the server still answers, late, into the closed connection: wait for that before the next test
    deadline = time.monotonic() + 10
    while any("process_request_thread" in t.name for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the delayed request never finished"
        time.sleep(0.05)
    assert [r.status for r in stash.requests] == [200]


def test_down_refuses_connections_and_up_restores_the_same_client(stash: StashEmulator, client: StashInterface) -> None:
    assert healthy(client)
    stash.down()
    with pytest.raises(requests.ConnectionError):
        client.call_GQL(QUERY, {"id": 1})
    stash.up()
    assert healthy(client)
    assert stash.library.scenes[1].title == "Still here"  # an outage keeps the library


def test_faults_on_images_leave_graphql_alone(stash: StashEmulator, client: StashInterface) -> None:
    stash.faults.add(r"/screenshot$", status=503)
    screenshot = requests.get(f"{stash.url}/scene/1/screenshot", headers={"ApiKey": API_KEY}, timeout=10)
    assert screenshot.status_code == 503
    assert healthy(client)
