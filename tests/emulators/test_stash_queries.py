"""findScenes filter and paging semantics, pinned to what Stash's SQL does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators.stash import StashEmulator

FIND = """query($s: SceneFilterType, $f: FindFilterType) {
  findScenes(scene_filter: $s, filter: $f) { count duration filesize scenes { title } }
}"""


@pytest.fixture(scope="module")
def stash() -> Iterator[StashEmulator]:
    emulator = StashEmulator().start()
    parent = emulator.add_studio("Parent")
    child = emulator.add_studio("Child", parent_id=parent)
    red, blue = emulator.add_tag("red"), emulator.add_tag("blue")
    ana = emulator.add_performer("Ana")
    emulator.add_scene(
        title="Alpha 100%",
        details="first one",
        rating100=90,
        date="2024-01-05",
        studio_id=parent,
        tag_ids=[red, blue],
        performer_ids=[ana],
        files=[{"path": "/media/a/alpha.mp4", "size": 100, "duration": 10.0}],
    )
    emulator.add_scene(
        title="Beta",
        rating100=40,
        studio_id=child,
        tag_ids=[red],
        files=[{"path": "/media/b/beta.mkv", "size": 200, "duration": 20.0}],
    )
    emulator.add_scene(files=[{"path": "/media/b/gamma untitled.mp4", "size": 300, "duration": 30.0}])
    yield emulator
    emulator.stop()


def titles(stash: StashEmulator, scene_filter: dict[str, Any] | None = None, **find: Any) -> list[str]:
    find.setdefault("per_page", -1)
    find.setdefault("sort", "id")
    response = requests.post(
        stash.graphql_url, json={"query": FIND, "variables": {"s": scene_filter, "f": find}}, timeout=10
    )
    body = response.json()
    assert "errors" not in body, body
    return [s["title"] for s in body["data"]["findScenes"]["scenes"]]


@pytest.mark.parametrize(
    ("scene_filter", "expected"),
    [
        ({"title": {"value": "alpha 100%", "modifier": "EQUALS"}}, ["Alpha 100%"]),  # LIKE: case-insensitive
        ({"title": {"value": "B_ta", "modifier": "EQUALS"}}, ["Beta"]),  # LIKE: _ is a wildcard
        ({"title": {"value": "ph 10", "modifier": "INCLUDES"}}, ["Alpha 100%"]),  # every word, anywhere
        ({"title": {"value": "", "modifier": "IS_NULL"}}, [""]),  # an unset title is NULL
        ({"title": {"value": "Beta", "modifier": "EXCLUDES"}}, ["Alpha 100%"]),  # NULL matches no EXCLUDES
        ({"title": {"value": "^B", "modifier": "MATCHES_REGEX"}}, ["Beta"]),
        ({"path": {"value": "/media/b/", "modifier": "INCLUDES"}}, ["Beta", ""]),
        ({"rating100": {"value": 50, "modifier": "GREATER_THAN"}}, ["Alpha 100%"]),
        ({"rating100": {"value": 0, "modifier": "IS_NULL"}}, [""]),
        ({"rating100": {"value": 30, "value2": 90, "modifier": "BETWEEN"}}, ["Alpha 100%", "Beta"]),
        ({"date": {"value": "2024-01-01", "modifier": "GREATER_THAN"}}, ["Alpha 100%"]),
        ({"tags": {"value": ["1", "2"], "modifier": "INCLUDES_ALL"}}, ["Alpha 100%"]),
        ({"tags": {"value": ["1"], "modifier": "INCLUDES", "excludes": ["2"]}}, ["Beta"]),
        ({"tags": {"value": ["2"], "modifier": "EXCLUDES"}}, ["Beta", ""]),
        ({"tags": {"modifier": "IS_NULL"}}, [""]),
        ({"performers": {"value": ["1"], "modifier": "INCLUDES"}}, ["Alpha 100%"]),
        ({"studios": {"value": ["1"], "modifier": "INCLUDES"}}, ["Alpha 100%"]),
        ({"studios": {"value": ["1"], "modifier": "INCLUDES", "depth": -1}}, ["Alpha 100%", "Beta"]),
        ({"id": {"value": 2, "modifier": "NOT_EQUALS"}}, ["Alpha 100%", ""]),
        ({"organized": False, "NOT": {"title": {"value": "", "modifier": "IS_NULL"}}}, ["Alpha 100%", "Beta"]),
        (
            {"rating100": {"value": 50, "modifier": "GREATER_THAN"}, "OR": {"tags": {"modifier": "IS_NULL"}}},
            ["Alpha 100%", ""],
        ),
    ],
)
def test_scene_filters(stash: StashEmulator, scene_filter: dict[str, Any], expected: list[str]) -> None:
    assert titles(stash, scene_filter) == expected


def test_q_searches_title_details_and_path(stash: StashEmulator) -> None:
    assert titles(stash, q="first") == ["Alpha 100%"]
    assert titles(stash, q="untitled gamma") == [""]
    assert titles(stash, q='"gamma untitled"') == [""]


def test_title_sort_falls_back_to_the_file_name(stash: StashEmulator) -> None:
    assert titles(stash, sort="title") == ["Alpha 100%", "Beta", ""]  # "" sorts as "gamma untitled.mp4"


def test_sort_by_rating_puts_nulls_first_ascending(stash: StashEmulator) -> None:
    assert titles(stash, sort="rating") == ["", "Beta", "Alpha 100%"]
    assert titles(stash, sort="rating", direction="DESC") == ["Alpha 100%", "Beta", ""]


def test_paging_edges(stash: StashEmulator) -> None:
    assert titles(stash, per_page=0) == []  # counting only
    assert titles(stash, per_page=2, page=0) == ["Alpha 100%", "Beta"]  # page < 1 is page 1
    assert titles(stash, per_page=2, page=2) == [""]
    assert titles(stash, per_page=2, page=9) == []


def test_totals_cover_every_match_not_just_the_page(stash: StashEmulator) -> None:
    response = requests.post(
        stash.graphql_url, json={"query": FIND, "variables": {"f": {"per_page": 1}}}, timeout=10
    ).json()["data"]["findScenes"]
    assert (response["count"], response["duration"], response["filesize"]) == (3, 60.0, 600.0)
    assert len(response["scenes"]) == 1


def test_combining_and_with_or_is_an_error(stash: StashEmulator) -> None:
    bad = {"AND": {"organized": True}, "OR": {"organized": False}}
    response = requests.post(stash.graphql_url, json={"query": FIND, "variables": {"s": bad}}, timeout=10)
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "AND filter cannot be combined with OR filter"


def test_an_invalid_sort_is_an_error(stash: StashEmulator) -> None:
    response = requests.post(
        stash.graphql_url, json={"query": FIND, "variables": {"f": {"sort": "nonsense"}}}, timeout=10
    )
    assert response.json()["errors"][0]["message"] == "invalid sort: nonsense"


def test_queries_while_seeding_never_fail() -> None:
    """A library generator may seed while a client pages: answers stay consistent."""
    with StashEmulator() as busy:
        errors: list[Any] = []
        counts: list[int] = []

        def seed() -> None:
            for number in range(3000):
                busy.add_scene(title=f"s{number}")

        seeder = threading.Thread(target=seed)
        seeder.start()
        session = requests.Session()
        while seeder.is_alive() or not counts or counts[-1] < 3000:
            body = session.post(
                busy.graphql_url,
                json={"query": FIND, "variables": {"f": {"per_page": 50, "sort": "title"}}},
                timeout=10,
            ).json()
            errors.extend(body.get("errors", []))
            counts.append(body["data"]["findScenes"]["count"])
        seeder.join()
        assert errors == []
        assert counts == sorted(counts) and counts[-1] == 3000


def test_text_criteria_fold_case_for_ascii_only_and_compare_code_points():
    """SQLite's LIKE (Stash's text and path criteria, its ``q`` search) folds
    ASCII letters only and does not normalise Unicode: "ÉLAN" is not "élan",
    and a composed "é" is not a decomposed one."""
    import unicodedata

    emulator = StashEmulator().start()
    try:
        emulator.add_scene(title="élan", files=[{"path": "/m/Café.mp4", "size": 1, "duration": 1.0}])
        decomposed = unicodedata.normalize("NFD", "/m/Café.mp4")
        assert titles(emulator, {"title": {"value": "ÉLAN", "modifier": "EQUALS"}}) == []
        assert titles(emulator, {"title": {"value": "éLAN", "modifier": "EQUALS"}}) == ["élan"]
        assert titles(emulator, {"title": {"value": "ÉL", "modifier": "INCLUDES"}}) == []
        assert titles(emulator, {"path": {"value": "/M/CAFé.mp4", "modifier": "EQUALS"}}) == ["élan"]
        assert titles(emulator, {"path": {"value": decomposed, "modifier": "EQUALS"}}) == []
        assert titles(emulator, q="ÉLAN") == [] and titles(emulator, q="éLAN") == ["élan"]
    finally:
        emulator.stop()
