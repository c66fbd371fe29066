"""The GraphQL documents that read and write PlexSync's settings map validate against the real Stash schema."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from plexsync.stash.settings_store import ALL_QUERIES
from tests.support import real_stash_schema


@pytest.mark.parametrize("document", ALL_QUERIES, ids=("read", "configurePlugin"))
def test_the_settings_documents_validate_against_real_stash(document):
    assert validate(real_stash_schema(), parse(document)) == []
