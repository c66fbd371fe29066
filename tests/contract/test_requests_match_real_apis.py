"""Our requests checked against the real APIs' descriptions in ../shared.

Skipped only when ../shared is absent (a fresh clone outside CI).
"""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from plexsync.stash.reader import ALL_QUERIES
from plexsync.sync.mapping import FieldPolicy, desired_state, edit_params
from plexsync.worker import credential
from tests.support import SHARED, real_stash_schema

PLEX_SPEC = SHARED / "plex-api-spec" / "plex-api-spec.yaml"


@pytest.mark.parametrize(
    "document", [*ALL_QUERIES, credential.QUERY], ids=lambda doc: re.search(r"query (\w+)", doc).group(1)
)
def test_every_graphql_document_we_send_validates_against_real_stash(document):
    errors = validate(real_stash_schema(), parse(document))
    assert errors == []


def spec_paths() -> list[str]:
    if not PLEX_SPEC.is_file():
        pytest.skip("../shared/plex-api-spec is absent")
    return [line.strip()[:-1] for line in PLEX_SPEC.read_text().splitlines() if re.match(r"^  /\S*:$", line)]


def spec_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$")


def test_every_plex_path_we_write_to_is_in_the_spec():
    patterns = [spec_pattern(path) for path in spec_paths()]
    for path in ("/library/sections/3/all", "/library/metadata/42/posters", "/library/metadata/42/arts", "/:/rate"):
        assert any(p.match(path) for p in patterns), path


def test_every_edit_parameter_we_send_is_documented_for_the_edit_endpoint():
    text = PLEX_SPEC.read_text() if PLEX_SPEC.is_file() else pytest.skip("../shared/plex-api-spec is absent")
    documented = set(re.findall(r"- name: (\S+)", text))
    assert {"field.value", "field.locked", "tagtype[idx].tag.tag", "tagtype[].tag"} <= documented
    scene = {
        "id": "1",
        "title": "t",
        "code": "c-1",
        "details": "d",
        "director": "dir",
        "date": "2020-01-02",
        "rating100": 40,
        "studio": {"name": "s", "parent_studio": {"name": "p"}},
        "tags": [{"name": "a"}],
        "performers": [{"id": "3", "name": "n", "image_path": "http://stash/performer/3/image?t=1"}],
        "groups": [{"group": {"name": "g"}}],
    }
    policy = FieldPolicy(label_tags=("a",), content_rating="X", sort_title="{title}", performer_photos="http://photos")
    sent = edit_params(desired_state(scene, policy).groups.values(), lock_poster=True, lock_art=True)
    assert "actor[0].tagging.thumb" in sent
    for name in sent:
        generic = re.sub(r"^\w+\.(value|locked)$", r"field.\1", name)
        generic = re.sub(r"^\w+\[\d+\]\.tag\.tag$", "tagtype[idx].tag.tag", generic)
        generic = re.sub(r"^\w+\[\d+\]\.tagging\.\w+$", "tagtype[idx].tagging.object", generic)
        generic = re.sub(r"^\w+\[\]\.tag$", "tagtype[].tag", generic)
        assert generic in documented, name
