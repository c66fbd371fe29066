"""The requests the index and the folder scan send, checked against the Plex
OpenAPI description in ../shared (skipped when it is absent)."""

from __future__ import annotations

import re

import pytest

from tests.support import SHARED

PLEX_SPEC = SHARED / "plex-api-spec" / "plex-api-spec.yaml"


def spec() -> str:
    if not PLEX_SPEC.is_file():
        pytest.skip("../shared/plex-api-spec is absent")
    return PLEX_SPEC.read_text()


def operation(text: str, path: str) -> str:
    """The spec's text for one path, up to the next path."""
    start = text.index(f"\n  {path}:\n")
    following = re.search(r"\n  /\S*:\n", text[start + 1 :])
    return text[start : start + 1 + following.start()] if following else text[start:]


def test_the_folder_scan_is_the_documented_refresh_with_a_path():
    refresh = operation(spec(), "/library/sections/{sectionId}/refresh")
    assert "- name: path" in refresh and "in: query" in refresh


def test_the_newest_items_page_is_a_documented_sort_of_the_listing():
    text = spec()
    listing = operation(text, "/library/sections/{sectionId}/all")
    assert "#/components/parameters/mediaQuery" in listing
    assert "X-Plex-Container-Start" in listing and "X-Plex-Container-Size" in listing
    media_query = text[text.index("      name: mediaQuery") :][:3000]
    assert "sort parameter with :desc" in media_query
