"""The copy from Plex's requests, checked against the real APIs' descriptions in ../shared.

Stash: every document :mod:`plexsync.stash.writer` sends validates against the
real schema (``sceneAddPlay(id, times: [Timestamp!])``, ``sceneSaveActivity(id,
resume_time, playDuration)``, ``rating100`` through ``sceneUpdate``). Plex:
the paths :mod:`plexsync.playback.plex_state` reads are in the community spec,
whose history endpoint documents ``viewedAt`` as ``viewedAt>=12456789``.
"""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from plexsync.stash.writer import ALL_QUERIES
from tests.contract.test_requests_match_real_apis import PLEX_SPEC, spec_paths, spec_pattern
from tests.support import real_stash_schema


@pytest.mark.parametrize("document", ALL_QUERIES, ids=lambda doc: re.search(r"(query|mutation) (\w+)", doc).group(2))
def test_every_stash_document_of_the_copy_validates_against_real_stash(document: str) -> None:
    assert validate(real_stash_schema(), parse(document)) == []


def test_the_plex_paths_the_copy_reads_are_in_the_spec() -> None:
    patterns = [spec_pattern(path) for path in spec_paths()]
    for path in ("/status/sessions/history/all", "/library/sections/3/all", "/library/metadata/1,2"):
        assert any(p.match(path) for p in patterns), path
    text = PLEX_SPEC.read_text()
    assert "viewedAt>=12456789" in text
