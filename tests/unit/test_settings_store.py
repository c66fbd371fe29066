"""What a task stores on Stash's plugin page: the defaults the page lacks, typed as
the manifest declares them, never over a value the user set, never a secret."""

from __future__ import annotations

from plexsync.config import SYNC_SETTINGS, SyncSettings
from plexsync.stash.settings_store import merged, missing_defaults

USER = {"plex_url": "http://plex:32400", "plex_token": "t0ken-1", "retries": 3, "lock_fields": False}


def test_every_default_is_stored_typed_as_the_page_stores_it():
    defaults = missing_defaults({})
    assert set(defaults) == {s.key for s in SYNC_SETTINGS if s.default is not None}
    assert "plex_token" not in defaults and "plex_url" not in defaults  # a secret, and one with no default
    assert defaults["retries"] == 8 and defaults["retry_backoff"] == 2 and defaults["http_timeout"] == 30
    assert defaults["lock_fields"] is True and defaults["keep_plex_edits"] is False
    assert (defaults["poster_shape"], defaults["worker_mode"], defaults["path_map"]) == ("cover", "auto", "")


def test_a_users_value_stays_and_a_cleared_text_gets_its_default():
    result = merged({**USER, "poster_shape": "", "content_rating": "X", "unknown_key": 1}, {})
    assert (result["retries"], result["lock_fields"], result["content_rating"]) == (3, False, "X")
    assert result["poster_shape"] == "cover"
    assert result["unknown_key"] == 1  # whatever else the page holds is kept
    assert merged(result, {}) == result  # the second run changes nothing


def test_the_stored_map_means_what_was_in_force_before():
    """The page now shows what PlexSync does: resolving it gives the same settings."""
    for stored in (USER, {**USER, "poster_shape": "", "max_genres": None}):
        assert SyncSettings.resolve(merged(stored, {}), environ={}) == SyncSettings.resolve(stored, environ={})


def test_changes_are_merged_into_what_is_stored():
    result = merged({"path_map": "/a=/b", "retries": 3}, {"plex_url": "http://p:32400", "plex_token": "t0ken-2"})
    assert (result["path_map"], result["retries"], result["plex_token"]) == ("/a=/b", 3, "t0ken-2")
