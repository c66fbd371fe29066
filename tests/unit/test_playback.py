"""The pure rules of the copy from Plex and its claims in the state database."""

from __future__ import annotations

import socket
import time

import pytest

from plexsync.config import Bootstrap, ConfigError, SyncSettings
from plexsync.matching.paths import PathMap
from plexsync.playback import mapping
from plexsync.playback.mapping import Applied, mark_batches, rating100, stash_paths, watched_ms
from plexsync.ratings import Side, rating_winner
from plexsync.state import db
from plexsync.state import playback as state


@pytest.fixture
def state_db(tmp_path):
    db.open_state(Bootstrap.from_env({"PLEXSYNC_DATA_DIR": str(tmp_path)}))
    yield tmp_path
    db._bound = None


@pytest.mark.parametrize(
    ("rules", "plex_path", "expected"),
    [
        ("", "/m/a.mp4", ["/m/a.mp4"]),
        ("/data=/media", "/media/movies/a.mp4", ["/data/movies/a.mp4"]),
        ("/data=/media;/data/tv=/media/tv", "/media/tv/s/e.mkv", ["/data/tv/s/e.mkv"]),
        ("D:\\Videos=/srv/videos", "/srv/videos/x/a.mp4", ["D:\\Videos\\x\\a.mp4"]),
        ("/mnt/media=D:\\Media", "d:\\media\\A.mp4", ["/mnt/media/A.mp4"]),
        ("/data=/media", "/elsewhere/a.mp4", []),
    ],
)
def test_the_path_rules_reversed(rules, plex_path, expected):
    path_map = PathMap.parse(rules)
    assert stash_paths(plex_path, path_map) == expected
    assert all(mapping.same_file(found, plex_path, path_map) for found in expected)


def test_a_path_with_accents_is_also_looked_up_in_its_other_unicode_form():
    import unicodedata

    path_map = PathMap.parse("/data=/media")
    composed = unicodedata.normalize("NFC", "/media/Café/Ünï.mp4")
    found = stash_paths(composed, path_map)
    assert found == [unicodedata.normalize(form, "/data/Café/Ünï.mp4") for form in ("NFC", "NFD")]
    assert stash_paths(unicodedata.normalize("NFD", composed), path_map)[1] == found[0]  # and the other way
    assert all(mapping.same_file(path, composed, path_map) for path in found)
    assert stash_paths("/media/plain.mp4", path_map) == ["/data/plain.mp4"]  # ASCII: one form


def test_a_like_match_of_another_file_is_not_the_same_file():
    assert not mapping.same_file("/data/a_b.mp4", "/media/aXb.mp4", PathMap.parse("/data=/media"))


def test_ratings_and_units():
    assert (rating100(8.0), rating100(7.5), rating100(0.0), rating100(10.0)) == (80, 75, 0, 100)
    assert mapping.seconds(125_500) == 125.5


@pytest.mark.parametrize(
    ("before", "views", "marked", "offset", "expected"),
    [
        (Applied(None, None), 0, False, 30_000, 30_000),  # first sight: the resume point only
        (Applied(0, 30_000), 0, False, 50_000, 20_000),  # watched on
        (Applied(0, 30_000), 0, False, 10_000, 10_000),  # started again
        (Applied(0, 30_000), 1, False, 0, 70_000),  # finished: the rest of the item
        (Applied(0, 30_000), 2, False, 5_000, 70_000 + 100_000 + 5_000),  # finished, once more, and started a third
        (Applied(0, 30_000), 0, True, 0, 0),  # marked as played: no time watched
        (Applied(0, 30_000), 0, True, 8_000, 8_000),  # marked, then watched from the beginning
    ],
)
def test_time_watched_since_the_last_copy(before, views, marked, offset, expected):
    assert watched_ms(before, views, marked, offset, duration_ms=100_000) == expected


def test_a_show_or_season_marked_before_1_40_is_entries_at_one_second_for_several_items():
    entries = [(1, 1, 500, 10), (2, 1, 600, 11), (3, 1, 600, 12), (4, 7, 600, 13), (5, 1, 700, 14), (6, 1, 700, 14)]
    # 2 and 3: one account, one second, two items; 4: another account alone; 5 and 6: one item twice
    assert mark_batches(entries) == {2, 3}


@pytest.mark.parametrize(
    ("policy", "plex", "stash", "winner"),
    [
        # only one side changed since PlexSync last saw them: that side's, whatever the policy
        ("newer", Side(8.0, True, 100), Side(5.0, False, 900), "plex"),
        ("stash", Side(8.0, True, 100), Side(5.0, False, 900), "plex"),
        ("plex", Side(8.0, False, 100), Side(5.0, True, 900), "stash"),
        # both changed
        ("newer", Side(8.0, True, 600), Side(6.0, True, 500), "plex"),
        ("newer", Side(8.0, True, 400), Side(6.0, True, 500), "stash"),
        ("plex", Side(8.0, True, 400), Side(6.0, True, 500), "plex"),
        ("stash", Side(8.0, True, 600), Side(6.0, True, 500), "stash"),
        ("fill", Side(8.0, True, 600), Side(6.0, True, 500), None),
        # a cleared rating is a change like another
        ("newer", Side(None, True, 600), Side(6.0, False, 500), "plex"),
        ("stash", Side(None, True, 600), Side(6.0, True, 500), "stash"),
        # fill only fills an empty side
        ("fill", Side(8.0, True, 600), Side(None, False, 500), "plex"),
        ("fill", Side(None, True, 600), Side(6.0, False, 500), "stash"),
        # the same value on both sides: nothing to write
        ("newer", Side(8.0, True, 600), Side(8.0, True, 500), None),
    ],
)
def test_which_rating_wins(policy, plex, stash, winner):
    assert rating_winner(policy, plex, stash) == winner


def test_the_copy_is_off_by_default_and_each_kind_switches():
    settings = SyncSettings.resolve({"plex_url": "http://plex:32400", "plex_token": "t"}, environ={})
    assert settings.playback_interval == 0
    assert (settings.playback_plays, settings.playback_resume, settings.playback_ratings) == (True, True, True)
    stash_page = {"plex_url": "http://plex:32400", "plex_token": "t", "playback_plays": False, "playback_interval": 5}
    settings = SyncSettings.resolve(stash_page, environ={})
    assert (settings.playback_plays, settings.playback_interval) == (False, 5.0)
    with pytest.raises(ConfigError, match="'Copy ratings from Plex' on Stash's plugin page: 'maybe' is not on or off"):
        SyncSettings.resolve({**stash_page, "playback_ratings": "maybe"}, environ={})


def test_a_history_entry_is_claimed_once_and_a_dead_owners_claim_is_recovered(state_db):
    assert state.claim_view("srv", 7, 1, 1000) == "new"
    assert state.claim_view("srv", 7, 1, 1000) == "recover"  # ours, left over: runs of one process never overlap
    state.settle_view("srv", 7, state.DONE, "12")
    assert state.claim_view("srv", 7, 1, 1000) is None
    assert state.plays_done_at("srv", "12", 1000) == 1
    # a claim by a process of this host that no longer exists
    state.PlaybackView.insert(
        key="srv:8",
        server="srv",
        rating_key=1,
        viewed_at=1001,
        state=state.CLAIMED,
        owner=f"{socket.gethostname()}:999999999:ab",
        claimed_at=time.time(),
    ).execute()
    assert state.in_flight_since("srv") == 1001
    assert state.claim_view("srv", 8, 1, 1001) == "recover"


def test_the_periodic_turn_is_claimed_once_per_interval(state_db):
    assert state.claim_due("srv", 60, now=1000.0)
    assert not state.claim_due("srv", 60, now=1030.0)
    assert state.claim_due("srv", 60, now=1061.0)


def test_watermarks_only_move_forward(state_db):
    state.started("srv")
    state.finished("srv", state.Watermarks(100, 50, None), 1, 0, 0, 0)
    state.finished("srv", state.Watermarks(90, None, 20), 0, 0, 0, 0)
    row = state.PlaybackRun.get_by_id("srv")
    assert (row.history_since, row.viewed_since, row.rated_since) == (100, 50, 20)


def test_a_resume_write_is_claimed_against_the_state_it_was_computed_from(state_db):
    seen = state.remember_item("srv", 5, "12", "/m/a.mp4", "a")
    other = state.PlaybackItem.get_by_id(seen.key)
    assert state.claim_resume(seen, 30.0, 30.0, 0.0, "0,30000,100")
    state.update_item("srv", 5, view_count=0, view_offset=30_000, viewed_at=100, pending_owner=None)
    assert not state.claim_resume(other, 30.0, 30.0, 0.0, "0,30000,100")  # computed before it was applied
    fresh = state.item("srv", 5)
    assert state.claim_resume(fresh, 40.0, 10.0, 30.0, "0,40000,110")


def test_a_rating_conflict_is_logged_by_one_consumer(state_db):
    state.remember_item("srv", 5, "12", "/m/a.mp4", "a")
    assert state.claim_conflict_note("srv", 5, 100)
    assert not state.claim_conflict_note("srv", 5, 100)
    assert state.claim_conflict_note("srv", 5, 101)


def test_status_shows_the_last_copy_and_the_items_not_in_stash():
    from plexsync.tools.status import Status

    run = {
        "server": "srv",
        "finished_at": 1000.0,
        "plays": 3,
        "resumes": 1,
        "ratings": 2,
        "error": None,
        "unmapped_count": 6,
        "unmapped": [{"rating_key": 57, "path": "/media/x.mp4"}],
    }
    values = dict(queued=0, scheduled=0, in_flight=0, dead_letters=0, newest_letter=None, outages=[])
    report = Status(**values, last_success=None, worker=None, worker_alive=False, playback=[run], now=1012.0)
    text = report.text()
    assert "    from Plex: " in text and "(12 s ago): 3 play(s), 1 resume point(s), 2 rating(s)" in text
    assert " not in Stash: 6 Plex item(s) (not copied): 57 /media/x.mp4 ..." in text
    assert report.exit_code == 0  # reported, not a problem to act on
