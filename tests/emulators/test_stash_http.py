"""HTTP-level behaviour of the emulated Stash: status codes, bodies, images, auth.

These are the answers a client sees before any library interprets them; each
one mirrors what Stash's gqlgen server and authentication middleware send.
"""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import UTC, datetime

import requests

from emulators.stash import StashEmulator
from emulators.stash.images import png

API_KEY = "http-test-key"
KEY = {"ApiKey": API_KEY}


def gql(stash: StashEmulator, query: str, variables: dict | None = None, **kwargs: object) -> requests.Response:
    headers = kwargs.pop("headers", KEY)
    return requests.post(
        stash.graphql_url, json={"query": query, "variables": variables}, headers=headers, timeout=10, **kwargs
    )


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of a PNG, checking every chunk's CRC."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, idat, width, height = 8, b"", 0, 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    return width, height, zlib.decompress(idat)


# -- request errors ----------------------------------------------------------------------
def test_a_malformed_json_body_is_400_with_json_errors(stash: StashEmulator) -> None:
    response = requests.post(
        stash.graphql_url, data=b"{not json", headers={**KEY, "Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None and body["errors"][0]["message"].startswith("json request body could not be decoded")


def test_a_syntax_error_is_422(stash: StashEmulator) -> None:
    response = gql(stash, "{ findScene(id: 1) { id ")
    assert response.status_code == 422
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert body["errors"][0]["message"].startswith("Syntax Error")


def test_a_validation_error_is_422_in_gqlgen_wording(stash: StashEmulator) -> None:
    response = gql(stash, "{ findScene(id: 1) { files { parent_folder { basename } } } }")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["message"] == 'Cannot query field "basename" on type "Folder".'
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["locations"] == [{"line": 1, "column": 46}]


def test_bad_variables_are_422(stash: StashEmulator) -> None:
    response = gql(stash, "query($id: ID!) { findScene(id: $id) { id } }", {})
    assert response.status_code == 422
    assert response.json()["data"] is None


def test_a_resolver_error_is_200_with_errors_and_partial_data(stash: StashEmulator) -> None:
    scene = stash.add_scene(title="kept")
    response = gql(stash, f'{{ bad: findScene(id: "x1") {{ id }} good: findScene(id: {scene}) {{ title }} }}')
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"bad": None, "good": {"title": "kept"}}
    assert body["errors"] == [{"message": 'strconv.Atoi: parsing "x1": invalid syntax', "path": ["bad"]}]


def test_a_missing_id_in_find_scenes_ids_nulls_all_data(stash: StashEmulator) -> None:
    """findScenes is non-null, so Stash's "not found" error empties the whole answer."""
    scene = stash.add_scene()
    response = gql(stash, f"{{ findScenes(ids: [{scene}, 999]) {{ count }} }}")
    assert response.status_code == 200
    assert response.json() == {
        "errors": [{"message": "scene with id 999 not found", "path": ["findScenes"]}],
        "data": None,
    }


def test_an_unknown_scene_is_null_without_errors(stash: StashEmulator) -> None:
    assert gql(stash, "{ findScene(id: 77) { id } }").json() == {"data": {"findScene": None}}


def test_unknown_routes_and_objects_are_404(stash: StashEmulator) -> None:
    assert requests.get(stash.url + "/api/nothing", headers=KEY, timeout=10).status_code == 404
    assert requests.get(stash.url + "/scene/1/screenshot", headers=KEY, timeout=10).status_code == 404
    assert requests.get(stash.url + "/studio/x/image", headers=KEY, timeout=10).status_code == 404


def test_graphql_over_get_runs_queries_only(stash: StashEmulator) -> None:
    scene = stash.add_scene(title="by GET")
    query = requests.get(
        stash.graphql_url,
        params={"query": "query($id: ID) { findScene(id: $id) { title } }", "variables": f'{{"id": "{scene}"}}'},
        headers=KEY,
        timeout=10,
    )
    assert query.status_code == 200 and query.json() == {"data": {"findScene": {"title": "by GET"}}}
    mutation = requests.get(
        stash.graphql_url,
        params={"query": f'mutation {{ sceneDestroy(input: {{id: "{scene}"}}) }}'},
        headers=KEY,
        timeout=10,
    )
    assert mutation.status_code == 406
    assert stash.scene(scene)["title"] == "by GET"


def test_a_post_that_is_not_json_finds_no_transport(stash: StashEmulator) -> None:
    response = requests.post(stash.graphql_url, data={"query": "{ version { hash } }"}, headers=KEY, timeout=10)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "transport not supported"


# -- authentication ----------------------------------------------------------------------
def test_graphql_without_credentials_is_401_with_an_empty_body(stash: StashEmulator) -> None:
    response = gql(stash, "{ version { version } }", headers={})
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == "FormBased"


def test_the_api_key_may_be_a_query_parameter(stash: StashEmulator) -> None:
    response = requests.post(
        stash.graphql_url + f"?apikey={API_KEY}", json={"query": "{ version { hash } }"}, timeout=10
    )
    assert response.status_code == 200 and response.json()["data"]["version"]["hash"]


def test_a_session_cookie_authenticates_graphql_and_images(stash: StashEmulator) -> None:
    scene = stash.add_scene()
    cookies = {"session": stash.new_session()}
    assert gql(stash, "{ version { hash } }", headers={}, cookies=cookies).status_code == 200
    image = requests.get(f"{stash.url}/scene/{scene}/screenshot", cookies=cookies, timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"


def test_a_screenshot_without_credentials_redirects_to_the_login_page(stash: StashEmulator) -> None:
    """Stash answers 302 -> /login for non-GraphQL paths: requests then gets 200 HTML, not an image."""
    scene = stash.add_scene()
    url = f"{stash.url}/scene/{scene}/screenshot?t=5"
    followed = requests.get(url, timeout=10)
    assert followed.status_code == 200
    assert followed.headers["Content-Type"].startswith("text/html")
    assert [r.status_code for r in followed.history] == [302]
    unfollowed = requests.get(url, allow_redirects=False, timeout=10)
    assert unfollowed.headers["Location"] == f"/login?returnURL=%2Fscene%2F{scene}%2Fscreenshot%3Ft%3D5"


def test_a_wrong_api_key_is_401_on_images_too(stash: StashEmulator) -> None:
    scene = stash.add_scene()
    response = requests.get(f"{stash.url}/scene/{scene}/screenshot", headers={"ApiKey": "nope"}, timeout=10)
    assert response.status_code == 401


def test_no_login_configured_serves_everything_but_refuses_a_sent_key() -> None:
    with StashEmulator() as open_stash:
        scene = open_stash.add_scene()
        assert requests.get(f"{open_stash.url}/scene/{scene}/screenshot", timeout=10).status_code == 200
        response = requests.post(
            open_stash.graphql_url, json={"query": "{ version { hash } }"}, headers=KEY, timeout=10
        )
        assert response.status_code == 401


# -- images ------------------------------------------------------------------------------
def test_screenshots_are_real_pngs_distinct_per_scene(stash: StashEmulator) -> None:
    first, second = stash.add_scene(), stash.add_scene()
    one = requests.get(f"{stash.url}/scene/{first}/screenshot", headers=KEY, timeout=10).content
    two = requests.get(f"{stash.url}/scene/{second}/screenshot", headers=KEY, timeout=10).content
    width, height, pixels = decode_png(one)
    assert (width, height) == (160, 90) and len(pixels) == height * (1 + 3 * width)
    decode_png(two)
    assert one != two
    assert one == stash.screenshot(first)


def test_a_cover_change_changes_the_bytes_and_the_url(stash: StashEmulator) -> None:
    scene = stash.add_scene(cover=png("cover:a"))
    before = stash.scene(scene)["paths"]["screenshot"]
    stash.clock = lambda: datetime(2031, 1, 1, tzinfo=UTC)
    stash.update_scene(scene, cover=png("cover:b"))
    after = stash.scene(scene)["paths"]["screenshot"]
    assert before != after and after.endswith("?t=1924992000")
    assert requests.get(after, headers=KEY, timeout=10).content == png("cover:b")


def test_a_cover_set_through_sceneupdate_is_served(stash: StashEmulator) -> None:
    scene = stash.add_scene()
    cover = png("uploaded")
    data_url = "data:image/png;base64," + base64.b64encode(cover).decode()
    response = gql(
        stash,
        "mutation($in: SceneUpdateInput!) { sceneUpdate(input: $in) { paths { screenshot } } }",
        {"in": {"id": scene, "cover_image": data_url}},
    )
    url = response.json()["data"]["sceneUpdate"]["paths"]["screenshot"]
    assert requests.get(url, headers=KEY, timeout=10).content == cover


def test_performer_and_studio_images_and_their_defaults(stash: StashEmulator) -> None:
    portrait = png("portrait")
    with_image = stash.add_performer("A", gender="FEMALE", image=portrait)
    without = stash.add_performer("B", gender="MALE")
    studio = stash.add_studio("S")
    result = gql(
        stash,
        f"{{ a: findPerformer(id: {with_image}) {{ image_path }} b: findPerformer(id: {without}) {{ image_path }}"
        f" s: findStudio(id: {studio}) {{ image_path }} }}",
    ).json()["data"]
    assert requests.get(result["a"]["image_path"], headers=KEY, timeout=10).content == portrait
    default = requests.get(result["b"]["image_path"], headers=KEY, timeout=10)
    assert default.headers["Content-Type"] == "image/png" and decode_png(default.content)[:2] == (60, 90)
    svg = requests.get(result["s"]["image_path"], headers=KEY, timeout=10)
    assert svg.headers["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<svg")


def test_image_paths_use_the_host_the_client_called(stash: StashEmulator) -> None:
    scene = stash.add_scene()
    response = gql(
        stash,
        f"{{ findScene(id: {scene}) {{ paths {{ screenshot }} }} }}",
        headers={**KEY, "Host": f"localhost:{stash.port}"},
    )
    assert response.json()["data"]["findScene"]["paths"]["screenshot"].startswith(f"http://localhost:{stash.port}/")


def test_a_login_without_an_api_key_lets_only_sessions_in_and_tells_an_empty_key() -> None:
    """Stash's Settings > Security: a username and password may be saved with no API key generated
    (ui/v2.5 SettingsSecurityPanel.tsx: "Username must be saved before generating API key");
    ``configuration { general { apiKey username } }`` then answers "" and the username."""
    stash = StashEmulator(login=True).start()
    try:
        query = {"query": "{ configuration { general { apiKey username } } }"}
        assert requests.post(stash.graphql_url, json=query, timeout=5).status_code == 401
        session = stash.new_session()
        answer = requests.post(stash.graphql_url, json=query, cookies={"session": session}, timeout=5)
        assert answer.json()["data"]["configuration"]["general"] == {"apiKey": "", "username": "admin"}
        stash.api_key = "generated-key"  # the user presses "Generate API key"
        assert requests.post(stash.graphql_url, json=query, headers={"ApiKey": "generated-key"}, timeout=5).ok
        stash.api_key = None  # "Clear API key": the login stays
        assert requests.post(stash.graphql_url, json=query, timeout=5).status_code == 401
    finally:
        stash.stop()
