"""The real stashapi client against the emulator: what product code will see.

Each test drives ``stashapi.stashapp.StashInterface`` (PyPI stashapi 0.1.5)
exactly as PlexSync does, so a behaviour pinned here is one the product can
rely on, or must defend against, with real Stash.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from stashapi.classes import GQLException
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator
from emulators.stash.images import png

API_KEY = "test-api-key"

SCENE_FRAGMENT = """
id title code details director urls date rating100 organized updated_at
files { path basename size duration }
paths { screenshot }
studio { name parent_studio { name } image_path }
tags { name }
performers { name gender image_path }
groups { group { name } scene_index }
stash_ids { endpoint stash_id }
"""


class FakeClock:
    """Stash time under test control: whole seconds, stepped explicitly."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def step(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(stash: StashEmulator) -> FakeClock:
    fake = FakeClock()
    stash.clock = fake
    return fake


def connect(stash: StashEmulator, **conn: object) -> StashInterface:
    return StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, **conn})


@pytest.fixture
def client(stash: StashEmulator) -> StashInterface:
    return connect(stash, ApiKey=API_KEY)


@pytest.fixture
def library(stash: StashEmulator) -> dict[str, str]:
    network = stash.add_studio("Network", image=png("studio:network"))
    studio = stash.add_studio("Label", parent_id=network)
    ana = stash.add_performer("Ana", gender="FEMALE", image=png("performer:ana"))
    ben = stash.add_performer("Ben", gender="MALE")
    zebra, apple = stash.add_tag("Zebra"), stash.add_tag("Apple")
    group = stash.add_group("Series")
    scene = stash.add_scene(
        title="Harbour",
        details="Boats.",
        date="2024-05-01",
        code="NW-1",
        director="Dee",
        urls=["https://example.org/1"],
        rating100=80,
        organized=True,
        files=[{"path": "/data/net/harbour.mp4", "size": 1234, "duration": 61.5}],
        studio_id=studio,
        tag_ids=[zebra, apple],
        performer_ids=[ana, ben],
        groups=[(group, 3)],
        stash_ids=[{"endpoint": "https://stashdb.org/graphql", "stash_id": "abc-1"}],
    )
    return {"scene": scene, "studio": studio, "network": network, "ana": ana, "ben": ben, "group": group}


# -- building a client -----------------------------------------------------------
def test_building_a_client_with_an_api_key_sends_three_requests(stash: StashEmulator) -> None:
    client = connect(stash, ApiKey=API_KEY)
    assert [(r.method, r.path, r.status) for r in stash.requests] == [("POST", "/graphql", 200)] * 3
    assert str(client.version) == "v0.30.1-0"
    # the introspection result became fragments for every object type served
    assert "Scene" in client.fragments and "VideoFile" in client.fragments


def test_building_a_client_with_a_session_cookie(stash: StashEmulator) -> None:
    cookie = stash.new_session()
    client = connect(stash, SessionCookie={"Name": "session", "Value": cookie})
    assert len(stash.requests_matching("POST", "^/graphql$")) == 3
    assert client.call_GQL("{ configuration { general { apiKey } } }")["configuration"]["general"]["apiKey"] == API_KEY


def test_building_a_client_without_credentials_fails_with_authentication_error(stash: StashEmulator) -> None:
    with pytest.raises(Exception, match="Authentication error"):
        connect(stash)
    assert [r.status for r in stash.requests] == [401]


def test_a_wrong_api_key_is_an_authentication_error(stash: StashEmulator) -> None:
    with pytest.raises(Exception, match="Authentication error"):
        connect(stash, ApiKey="wrong")


def test_an_expired_session_cookie_is_an_authentication_error(stash: StashEmulator) -> None:
    cookie = stash.new_session()
    stash.expire_session(cookie)
    with pytest.raises(Exception, match="Authentication error"):
        connect(stash, SessionCookie={"Name": "session", "Value": cookie})


def test_an_api_key_changed_at_runtime_locks_out_old_clients(stash: StashEmulator, client: StashInterface) -> None:
    stash.api_key = "rotated"
    with pytest.raises(Exception, match="Authentication error"):
        client.call_GQL("{ version { version } }")
    assert connect(stash, ApiKey="rotated").call_GQL("{ configuration { general { apiKey } } }") == {
        "configuration": {"general": {"apiKey": "rotated"}}
    }


def test_without_a_login_stash_serves_anyone_but_refuses_any_api_key() -> None:
    """Real Stash compares a sent key with its (empty) configured key: 401."""
    with StashEmulator() as open_stash:
        assert connect(open_stash).call_GQL("{ configuration { general { apiKey } } }") == {
            "configuration": {"general": {"apiKey": ""}}
        }
        with pytest.raises(Exception, match="Authentication error"):
            connect(open_stash, ApiKey="anything")


# -- reading scenes ------------------------------------------------------------------
def test_find_scene_with_an_explicit_fragment(
    stash: StashEmulator, client: StashInterface, library: dict[str, str]
) -> None:
    scene = client.find_scene(int(library["scene"]), fragment=SCENE_FRAGMENT)
    base = stash.url
    assert scene["title"] == "Harbour"
    assert (scene["code"], scene["director"], scene["date"], scene["rating100"]) == ("NW-1", "Dee", "2024-05-01", 80)
    assert scene["organized"] is True and scene["urls"] == ["https://example.org/1"]
    assert scene["files"] == [
        {"path": "/data/net/harbour.mp4", "basename": "harbour.mp4", "size": 1234, "duration": 61.5}
    ]
    unix = int(datetime.fromisoformat(scene["updated_at"]).timestamp())
    assert scene["paths"]["screenshot"] == f"{base}/scene/{library['scene']}/screenshot?t={unix}"
    assert scene["studio"]["name"] == "Label"
    assert scene["studio"]["parent_studio"] == {"name": "Network"}
    assert scene["studio"]["image_path"].endswith("&default=true")  # the label has no image of its own
    assert [t["name"] for t in scene["tags"]] == ["Apple", "Zebra"]  # Stash sorts scene tags by name
    assert scene["performers"][0]["gender"] == "FEMALE"
    assert scene["performers"][0]["image_path"].startswith(f"{base}/performer/{library['ana']}/image?t=")
    assert "default=true" not in scene["performers"][0]["image_path"]
    assert scene["performers"][1]["image_path"].endswith("&default=true")
    assert scene["groups"] == [{"group": {"name": "Series"}, "scene_index": 3}]
    assert scene["stash_ids"] == [{"endpoint": "https://stashdb.org/graphql", "stash_id": "abc-1"}]


def test_unset_text_fields_read_back_as_empty_strings(client: StashInterface, stash: StashEmulator) -> None:
    scene_id = stash.add_scene()
    scene = client.find_scene(int(scene_id), fragment="title code details director date rating100 studio { id }")
    assert scene == {
        "title": "",
        "code": "",
        "details": "",
        "director": "",
        "date": None,
        "rating100": None,
        "studio": None,
    }


def test_find_scene_of_an_unknown_id_is_none(client: StashInterface, stash: StashEmulator) -> None:
    assert client.find_scene(4242, fragment="id") is None
    assert stash.requests[-1].status == 200


def test_the_default_fragment_fails_as_against_real_stash(
    stash: StashEmulator, client: StashInterface, library: dict[str, str]
) -> None:
    """stashapi's generated Scene fragment asks for Folder.basename: 422, then AttributeError."""
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'keys'"):
        client.find_scene(int(library["scene"]))
    assert stash.requests[-1].status == 422


def test_the_default_fragment_with_raise_gql_errors_names_the_field(
    client: StashInterface, library: dict[str, str]
) -> None:
    client.RAISE_GQL_ERRORS = True
    with pytest.raises(GQLException, match='Cannot query field "basename" on type "Folder"'):
        client.find_scene(int(library["scene"]))


def test_a_resolver_error_reads_like_not_found_unless_errors_raise(client: StashInterface) -> None:
    """find_scene returns None for a failed lookup too: only RAISE_GQL_ERRORS tells them apart."""
    assert client.find_scene("abc", fragment="id") is None
    client.RAISE_GQL_ERRORS = True
    with pytest.raises(GQLException, match=r"\['findScene'\] strconv.Atoi: parsing \"abc\": invalid syntax"):
        client.find_scene("abc", fragment="id")


def test_find_scenes_pages_and_counts(stash: StashEmulator, client: StashInterface) -> None:
    ids = [stash.add_scene(title=f"Scene {n}") for n in range(1, 8)]
    count, first = client.find_scenes(filter={"page": 1, "per_page": 3, "sort": "id"}, fragment="id", get_count=True)
    _, last = client.find_scenes(filter={"page": 3, "per_page": 3, "sort": "id"}, fragment="id", get_count=True)
    everything = client.find_scenes(filter={"per_page": -1}, fragment="id")
    assert count == 7
    assert [s["id"] for s in first] == ids[:3]
    assert [s["id"] for s in last] == ids[6:]
    assert [s["id"] for s in everything] == ids
    assert client.find_scenes(fragment="id", filter={"page": 2}) == []  # per_page defaults to 25


def test_find_scenes_sorts_titles_naturally_and_by_direction(stash: StashEmulator, client: StashInterface) -> None:
    for title in ("Scene 10", "scene 2", "Scene 1"):
        stash.add_scene(title=title)
    ascending = client.find_scenes(filter={"per_page": -1, "sort": "title"}, fragment="title")
    descending = client.find_scenes(filter={"per_page": -1, "sort": "title", "direction": "DESC"}, fragment="title")
    assert [s["title"] for s in ascending] == ["Scene 1", "scene 2", "Scene 10"]
    assert [s["title"] for s in descending] == ["Scene 10", "scene 2", "Scene 1"]


def test_updated_at_filter_finds_changes_after_a_point(
    stash: StashEmulator, client: StashInterface, clock: FakeClock
) -> None:
    old, changed = stash.add_scene(title="old"), stash.add_scene(title="changed")
    since = client.find_scene(int(changed), fragment="updated_at")["updated_at"]
    clock.step()
    stash.update_scene(changed, title="changed again")
    newer = {"updated_at": {"value": since, "modifier": "GREATER_THAN"}}
    found = client.find_scenes(f=newer, filter={"per_page": -1, "sort": "updated_at"}, fragment="id title updated_at")
    assert [s["title"] for s in found] == ["changed again"]
    assert found[0]["updated_at"] == "2025-03-01T12:00:01Z"
    assert old not in {s["id"] for s in found}


def test_updated_at_has_whole_seconds_so_a_same_second_edit_is_invisible(
    stash: StashEmulator, client: StashInterface, clock: FakeClock
) -> None:
    """As in Stash: an edit in the same second as the last sync point is not GREATER_THAN it."""
    scene = stash.add_scene(title="first")
    since = client.find_scene(int(scene), fragment="updated_at")["updated_at"]
    stash.update_scene(scene, title="edited within the second")
    strictly_newer = {"updated_at": {"value": since, "modifier": "GREATER_THAN"}}
    assert client.find_scenes(f=strictly_newer, fragment="id") == []
    at_or_after = {"updated_at": {"value": since, "modifier": "BETWEEN", "value2": "2999-01-01T00:00:00Z"}}
    assert [s["title"] for s in client.find_scenes(f=at_or_after, fragment="title")] == ["edited within the second"]


def test_call_gql_with_ids_and_a_scene_filter(stash: StashEmulator, client: StashInterface) -> None:
    a, b, c = (stash.add_scene(title=t) for t in ("a", "b", "c"))
    by_ids = client.call_GQL("query($ids: [ID!]) { findScenes(ids: $ids) { count scenes { id } } }", {"ids": [c, a]})
    assert by_ids == {"findScenes": {"count": 2, "scenes": [{"id": c}, {"id": a}]}}
    by_filter = client.call_GQL(
        "query($f: SceneFilterType) { findScenes(scene_filter: $f) { count } }",
        {"f": {"id": {"value": int(b), "modifier": "GREATER_THAN"}}},
    )
    assert by_filter == {"findScenes": {"count": 1}}


def test_find_performer_studio_tag_and_their_lists(client: StashInterface, library: dict[str, str]) -> None:
    assert client.find_performer(int(library["ana"]), fragment="name gender scene_count") == {
        "name": "Ana",
        "gender": "FEMALE",
        "scene_count": 1,
    }
    assert client.find_studio(int(library["studio"]), fragment="name parent_studio { name }") == {
        "name": "Label",
        "parent_studio": {"name": "Network"},
    }
    network = client.find_studio(int(library["network"]), fragment="scene_count child_studios { name }")
    assert network == {"scene_count": 0, "child_studios": [{"name": "Label"}]}
    assert client.call_GQL("{ findStudio(id: 2) { scene_count(depth: -1) } }") == {"findStudio": {"scene_count": 1}}
    assert [t["name"] for t in client.find_tags(fragment="name")] == ["Apple", "Zebra"]
    assert [p["name"] for p in client.find_performers(q="an", fragment="name")] == ["Ana"]
    assert client.find_studios(f={"name": {"value": "net%", "modifier": "EQUALS"}}, fragment="name") == [
        {"name": "Network"}
    ]
    assert client.find_group(int(library["group"]), fragment="name scene_count") == {"name": "Series", "scene_count": 1}
    assert client.find_performer(999, fragment="name") is None


def test_plugin_configuration(stash: StashEmulator, client: StashInterface) -> None:
    assert client.find_plugins_config("plexsync") == {}
    stash.set_plugin_settings("plexsync", {"plexUrl": "http://plex:32400", "dryRun": True, "batch": 50})
    stash.set_plugin_settings("other", {"x": "y"})
    assert client.find_plugins_config("plexsync") == {"plexUrl": "http://plex:32400", "dryRun": True, "batch": 50}
    raw = client.call_GQL('{ configuration { plugins(include: ["plexsync", "missing"]) } }')
    assert raw == {
        "configuration": {"plugins": {"plexsync": {"plexUrl": "http://plex:32400", "dryRun": True, "batch": 50}}}
    }
    assert set(client.call_GQL("{ configuration { plugins } }")["configuration"]["plugins"]) == {"plexsync", "other"}


def test_version_and_system_status(client: StashInterface) -> None:
    result = client.call_GQL("{ version { version hash build_time } systemStatus { status appSchema } }")
    assert result["version"]["version"] == "v0.30.1"
    assert result["version"]["hash"] and result["version"]["build_time"]
    assert result["systemStatus"] == {"status": "OK", "appSchema": 75}
