"""Resolver errors inside an HTTP 200, as Stash sends "database is locked".

../shared/stash-plugins.md ("Errors inside a 200"): a resolver error,
including SQLite contention, comes back as HTTP 200 with ``errors`` and partial
or null ``data``; only parse, validation and variable errors are 422. gqlgen
nulls the failed field, or ``data`` itself when that field is non-null
(``findScenes: FindScenesResultType!``), and lists ``path`` with each error.
stashapi 0.1.5 ``_handle_GQL_response`` (read in site-packages) looks at the
errors first: with ``RAISE_GQL_ERRORS`` it raises
``GQLException("['findScene'] database is locked")``; without, it logs each
one, then reads ``content["data"].keys()``, which fails with ``AttributeError``
when ``data`` is null, and otherwise returns ``{}``: traps a reader must survive.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from stashapi.classes import GQLException
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator

SCENE = "query($id: ID) { findScene(id: $id) { title } }"


@pytest.fixture
def stash() -> Iterator[StashEmulator]:
    emulator = StashEmulator().start()
    emulator.add_scene(title="Harbour")
    yield emulator
    emulator.stop()


@pytest.fixture
def client(stash: StashEmulator) -> StashInterface:
    connected = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port})
    stash.clear_requests()
    return connected


def post(stash: StashEmulator, query: str, variables: dict | None = None) -> requests.Response:
    return requests.post(stash.graphql_url, json={"query": query, "variables": variables or {}}, timeout=5)


def test_a_locked_database_is_a_200_with_errors_and_null_data(stash: StashEmulator) -> None:
    stash.fail_resolvers(times=1)

    answer = post(stash, SCENE, {"id": "1"})

    assert answer.status_code == 200
    assert answer.json() == {
        "errors": [{"message": "database is locked", "path": ["findScene"]}],
        "data": {"findScene": None},
    }
    assert post(stash, SCENE, {"id": "1"}).json() == {"data": {"findScene": {"title": "Harbour"}}}


def test_a_non_null_root_field_nulls_all_data(stash: StashEmulator) -> None:
    stash.fail_resolvers(times=1)
    answer = post(stash, "{ findScenes { count } }")
    assert (answer.status_code, answer.json()["data"]) == (200, None)
    assert answer.json()["errors"][0]["path"] == ["findScenes"]


def test_only_the_named_fields_fail_and_the_rest_is_partial_data(stash: StashEmulator) -> None:
    """Each root field has its own transaction: the others of the request still answer."""
    rule = stash.fail_resolvers(fields=["findScene"], times=2)

    assert post(stash, "{ version { version } }").json() == {"data": {"version": {"version": "v0.30.1"}}}
    both = post(stash, "query($id: ID) { findScene(id: $id) { title } version { version } }", {"id": "1"}).json()

    assert both == {
        "errors": [{"message": "database is locked", "path": ["findScene"]}],
        "data": {"findScene": None, "version": {"version": "v0.30.1"}},
    }
    assert rule.hits == 1  # the request without findScene did not use up a failure


def test_stashapi_raises_gql_exception_when_asked_to(stash: StashEmulator, client: StashInterface) -> None:
    client.RAISE_GQL_ERRORS = True
    stash.fail_resolvers(times=2)
    for _ in range(2):
        with pytest.raises(GQLException, match=r"^\['findScene'\] database is locked$"):
            client.call_GQL(SCENE, {"id": "1"})
    assert client.call_GQL(SCENE, {"id": "1"}) == {"findScene": {"title": "Harbour"}}
    assert [r.status for r in stash.requests] == [200, 200, 200]


def test_stashapi_without_raising_returns_an_empty_dict(stash: StashEmulator, client: StashInterface) -> None:
    stash.fail_resolvers(times=1)
    assert client.call_GQL(SCENE, {"id": "1"}) == {}


def test_stashapi_trips_on_null_data(stash: StashEmulator, client: StashInterface) -> None:
    stash.fail_resolvers(times=1)
    with pytest.raises(AttributeError):
        client.call_GQL("{ findScenes { count } }")


def test_a_failed_mutation_changes_nothing_and_fires_no_hook(stash: StashEmulator) -> None:
    fired: list[object] = []
    stash.on_mutation = lambda *args: fired.append(args)
    stash.fail_resolvers(times=1)
    mutation = 'mutation { sceneUpdate(input: {id: "1", title: "Changed"}) { title } }'

    answer = post(stash, mutation).json()

    assert answer["errors"][0]["message"] == "database is locked" and answer["data"] == {"sceneUpdate": None}
    assert stash.library.scenes[1].title == "Harbour" and fired == []
    assert post(stash, mutation).json() == {"data": {"sceneUpdate": {"title": "Changed"}}}
    assert len(fired) == 1


def test_a_fraction_of_requests_fails(stash: StashEmulator) -> None:
    stash.faults = type(stash.faults)(seed=3)  # a fixed draw
    rule = stash.fail_resolvers(fraction=0.5)
    answers = [post(stash, SCENE, {"id": "1"}).json() for _ in range(40)]
    failed = sum(1 for a in answers if "errors" in a)
    assert failed == rule.hits and 5 < failed < 35
    assert all(a["data"]["findScene"] in (None, {"title": "Harbour"}) for a in answers)


def test_the_api_key_is_checked_before_any_resolver(stash: StashEmulator) -> None:
    stash.api_key = "key"
    stash.fail_resolvers()
    assert post(stash, SCENE, {"id": "1"}).status_code == 401
