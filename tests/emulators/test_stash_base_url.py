"""The address Stash builds its URLs on, as real Stash does.

stashapp/stash ``internal/api/server.go`` (cf3489e), ``BaseURLMiddleware``: the base
is ``scheme + "://" + r.Host + prefix`` where the scheme is ``https`` when the request
came over TLS or with ``X-Forwarded-Proto: https``, and ``prefix`` is
``X-Forwarded-Prefix`` with its trailing ``/`` trimmed; when the ``external_host``
setting is set the base is ``externalHost + prefix`` whatever the request's Host.
``internal/api/urlbuilders/scene.go`` builds ``paths.screenshot`` as
``BaseURL + "/scene/" + id + "/screenshot?t=" + updated_at`` (Unix seconds), and the
performer/studio builders ``BaseURL + "/<kind>/" + id + "/image?t=..."``
(../shared/stash-plugins.md, "Base URL").
"""

from __future__ import annotations

import requests

from emulators.stash import StashEmulator

API_KEY = "base-url-key"  # the stash fixture requires it
QUERY = "query($id: ID) { findScene(id: $id) { paths { screenshot } performers { image_path } } }"


def screenshot_and_photo(stash: StashEmulator, scene: str, **headers: str) -> tuple[str, str]:
    answer = requests.post(
        stash.graphql_url,
        json={"query": QUERY, "variables": {"id": scene}},
        headers={"ApiKey": API_KEY, **headers},
        timeout=10,
    ).json()["data"]["findScene"]
    return answer["paths"]["screenshot"], answer["performers"][0]["image_path"]


def test_urls_are_built_on_the_request_host_then_on_external_host(stash: StashEmulator) -> None:
    performer = stash.add_performer("Ann")
    scene = stash.add_scene(title="A", performer_ids=[performer])

    shot, photo = screenshot_and_photo(stash, scene)
    assert shot.startswith(f"{stash.url}/scene/{scene}/screenshot?t=")
    assert photo.startswith(f"{stash.url}/performer/{performer}/image?t=")

    shot, _ = screenshot_and_photo(stash, scene, **{"X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/stash/"})
    assert shot.startswith(f"https://127.0.0.1:{stash.port}/stash/scene/{scene}/screenshot?t=")

    stash.external_host = "https://stash.example.com"
    shot, photo = screenshot_and_photo(stash, scene)
    assert shot.startswith(f"https://stash.example.com/scene/{scene}/screenshot?t=")
    assert photo.startswith(f"https://stash.example.com/performer/{performer}/image?t=")
    shot, _ = screenshot_and_photo(stash, scene, **{"X-Forwarded-Prefix": "/media"})
    assert shot.startswith(f"https://stash.example.com/media/scene/{scene}/screenshot?t=")
    assert stash.scene(scene)["paths"]["screenshot"].startswith("https://stash.example.com/scene/")
