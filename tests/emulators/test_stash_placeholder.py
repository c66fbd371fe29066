"""Scenes without a cover, as Stash serves them, through stashapi and plain HTTP.

../shared/stash-plugins.md ("No cover", read from stashapp/stash): a scene
without a cover still has ``paths.screenshot``; Stash answers it with its
built-in ``internal/static/scene/scene.svg`` (``static.DefaultSceneImage``),
status 200, ``Content-Type: image/svg+xml``. The real file (stashapp/stash,
read with the search tools) is a white Font Awesome "circle-play" on the view
box ``-384 -104 1280 720``; the emulator serves the same picture drawn anew.
A scene created over GraphQL has no file, so no screenshot either.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import requests
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator
from emulators.stash.images import SCENE_PLACEHOLDER_SVG, png

API_KEY = "placeholder-key"
PATHS = "query($id: ID) { findScene(id: $id) { paths { screenshot } } }"


def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"ApiKey": API_KEY}, timeout=5)


def screenshot_url(client: StashInterface, scene_id: str) -> str:
    return client.call_GQL(PATHS, {"id": scene_id})["findScene"]["paths"]["screenshot"]


def test_a_scene_without_a_screenshot_serves_the_svg_placeholder(stash: StashEmulator, client: StashInterface) -> None:
    scene_id = stash.add_scene(title="No cover", screenshot=False)

    url = screenshot_url(client, scene_id)
    answer = fetch(url)

    assert "default=true" not in url  # only performers, studios and tags get that marker
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "image/svg+xml")
    assert answer.content == SCENE_PLACEHOLDER_SVG
    svg = ET.fromstring(answer.content)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "-384 -104 1280 720"
    anonymous = requests.get(url, timeout=5)  # the same credentials as GraphQL: else the login page
    assert anonymous.headers["Content-Type"].startswith("text/html") and b"Login" in anonymous.content


def test_a_cover_set_later_replaces_the_placeholder(stash: StashEmulator, client: StashInterface) -> None:
    """sceneUpdate(cover_image: data URL), as Stash's UI sends it; the URL's ?t= moves with updated_at."""
    scene_id = stash.add_scene(title="No cover", screenshot=False)
    before = screenshot_url(client, scene_id)
    cover = png("a real cover")
    stash.clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)

    client.call_GQL(
        "mutation($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }",
        {"input": {"id": scene_id, "cover_image": "data:image/png;base64," + base64.b64encode(cover).decode()}},
    )

    after = screenshot_url(client, scene_id)
    assert after != before
    answer = fetch(after)
    assert (answer.headers["Content-Type"], answer.content) == ("image/png", cover)


def test_a_scene_created_over_graphql_has_no_screenshot(stash: StashEmulator, client: StashInterface) -> None:
    created = client.call_GQL('mutation { sceneCreate(input: {title: "Typed in"}) { id } }')["sceneCreate"]["id"]
    assert fetch(screenshot_url(client, created)).headers["Content-Type"] == "image/svg+xml"


def test_scanned_scenes_keep_their_screenshot(stash: StashEmulator, client: StashInterface) -> None:
    scene_id = stash.add_scene(title="Scanned")
    answer = fetch(screenshot_url(client, scene_id))
    assert answer.headers["Content-Type"] == "image/png" and answer.content == stash.screenshot(scene_id)
