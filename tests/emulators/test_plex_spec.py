"""Every route the Plex emulator serves is a path of Plex's documented API, named with
the spec's parameter names, except the few plexapi sends that the spec leaves out."""

from __future__ import annotations

import re

import pytest
import requests

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN
from tests.support import SHARED

SPEC = SHARED / "plex-api-spec" / "plex-api-spec.yaml"


def spec_paths() -> set[str]:
    """The keys under the top-level ``paths:`` mapping (two-space indented, ending in ':')."""
    if not SPEC.is_file():
        pytest.skip(f"the Plex OpenAPI spec is not at {SPEC}")
    paths: set[str] = set()
    inside = False
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            inside = line.rstrip() == "paths:"
            continue
        if inside and (match := re.match(r"^  (/\S*):\s*$", line)):
            paths.add(match.group(1).strip("'\""))
    assert paths, "no paths parsed from the spec"
    return paths


def test_every_route_is_a_spec_path() -> None:
    paths = spec_paths()
    assert "/library/metadata/{ids}" in paths  # the scan found the real mapping
    missing = [route for route in PlexEmulator.ROUTES if route not in paths]
    assert missing == []


def test_the_undocumented_routes_really_are_undocumented() -> None:
    paths = spec_paths()
    assert PlexEmulator.UNDOCUMENTED_ROUTES == [
        "/library",
        "/library/sections",
        "/library/sections/{sectionId}/recentlyAdded",
        "/library/recentlyAdded",
        "/accounts",
    ]
    assert [route for route in PlexEmulator.UNDOCUMENTED_ROUTES if route in paths] == []


def test_every_route_is_served() -> None:
    """Each template, filled with an existing item, answers something other than 404."""
    plex = PlexEmulator(token=TOKEN).start()
    try:
        sid = plex.add_section(title="TV", kind="show", locations=["/tv"])
        episode = plex.add_episode(sid, show_title="S", season=1, episode=1, files=["/tv/S/S - s01e01.mkv"])
        (show,) = [item.rating_key for item in plex.items() if item.type == "show"]
        headers = {"X-Plex-Token": TOKEN}
        url = f"{plex.url}/library/metadata/{show}"
        assert requests.post(url + "/posters", data=b"\xff\xd8", headers=headers, timeout=5).status_code == 200
        assert requests.put(url + "?thumb.locked=1", headers=headers, timeout=5).status_code == 200
        values = {"sectionId": str(sid), "ids": str(show), "element": "children", "timestamp": "1"}
        methods = {"/library/metadata/{ids}/refresh": "PUT", "/:/rate": "PUT"}
        for template in PlexEmulator.ROUTES + PlexEmulator.UNDOCUMENTED_ROUTES:
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
            if template.endswith("{timestamp}"):
                path = path.replace("/children/", "/thumb/")
            params = {"key": str(episode), "identifier": "com.plexapp.plugins.library", "rating": "5"}
            params |= {"ratingKey": str(episode), "time": "1000", "state": "stopped"}  # /:/timeline
            answer = requests.request(
                methods.get(template, "GET"),
                plex.url + path,
                params=params if template.startswith("/:/") else None,
                headers=headers,
                timeout=5,
            )
            assert answer.status_code == 200, (template, answer.status_code)
        assert plex.internal_errors == []
    finally:
        plex.stop()
