"""plexsync.state.written: what was last written into each Plex item, per group."""

from __future__ import annotations

from pathlib import Path

import pytest

from plexsync.config import Bootstrap
from plexsync.state import db, written
from plexsync.state.written import Written
from plexsync.sync.mapping import desired_state


@pytest.fixture
def state(tmp_path: Path) -> None:
    db.open_state(Bootstrap.from_env({"PLEXSYNC_DATA_DIR": str(tmp_path)}))


def test_groups_are_remembered_per_item_and_replaced_by_newer_writes(state):
    written.remember(5, {"title": Written("a", "b"), "genres": Written("c", "d")})
    written.remember(6, {"title": Written("x", "y")})
    written.remember(5, {"title": Written("a2", "b2")})
    assert written.of(5) == {"title": Written("a2", "b2"), "genres": Written("c", "d")}
    assert written.of(6) == {"title": Written("x", "y")}
    written.forget(5, ("genres",))
    assert set(written.of(5)) == {"title"}
    written.forget(6)
    assert written.of(6) == {} and written.of(7) == {}


@pytest.mark.parametrize(("rating100", "plex"), [(85, 8.5), (80, 8), (100, 10.0), (1, 0.1)])
def test_note_rating_records_what_the_scene_sync_would_write(state, rating100, plex):
    """The Plex -> Stash direction copies Plex's rating into Stash, then notes it:
    the scene hook that follows must find the rating group unchanged."""
    written.note_rating(9, plex)
    group = desired_state({"id": "1", "rating100": rating100}).groups["rating"]
    assert written.of(9)["rating"] == Written(group.digest, group.seen_digest)


def test_note_rating_of_none_differs_from_every_rating(state):
    written.note_rating(9, None)
    group = desired_state({"id": "1", "rating100": 0}).groups["rating"]
    assert written.of(9)["rating"].sent != group.digest
