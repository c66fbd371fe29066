"""The words of ``plexsync inspect`` and the scene page's panel: pure, from facts."""

from __future__ import annotations

import pytest

from plexsync.queue.lookup import SceneJob
from plexsync.state.servers import public_address
from plexsync.tools.inspect import (
    DeadLetterFact,
    FileFact,
    ItemFact,
    PlaybackFact,
    SceneFacts,
    WorkerFact,
    clock,
    web_url,
    when,
)

NOW = 1_800_000_000.0


def test_the_plex_web_link_is_plexapis_format_with_the_key_quoted():
    # plexapi 4.18 PlexServer._buildWebURL: f"{base}#!/server/{machineIdentifier}/details?key=..." (key quoted)
    assert web_url("http://plex:32400/web/index.html", "abc123", 42) == (
        "http://plex:32400/web/index.html#!/server/abc123/details?key=%2Flibrary%2Fmetadata%2F42"
    )


def test_a_plex_address_is_kept_without_credentials_query_or_fragment():
    assert public_address("https://user:pw@plex.local:32400/?X-Plex-Token=abc#x") == "https://plex.local:32400"
    assert public_address("http://[::1]:32400/") == "http://[::1]:32400"


def test_times_read_past_and_future():
    assert when(NOW - 120, NOW).endswith("(2 min ago)")
    assert when(NOW + 300, NOW).endswith("(in 5 min)")
    assert when(None, NOW) == "never"
    assert (clock(65.4), clock(3909)) == ("1:05", "1:05:09")


def facts(**given) -> SceneFacts:
    return SceneFacts(scene_id="7", now=NOW, **given)


ITEM = ItemFact(7, ("Movies",), "path", "/m/a.mp4", {"title": NOW - 60, "cover_source": NOW - 60}, "u", "a")
LETTER = DeadLetterFact(3, "ItemNotInPlex", "no Plex item has the file", 6, NOW - 10)


@pytest.mark.parametrize(
    ("given", "state", "headline"),
    [
        ({}, "unknown", "PlexSync has not synced this scene yet."),
        ({"outcome": "path", "items": [ITEM]}, "synced", "In Plex as Plex item 7, last written 60 s ago."),
        (
            {"outcome": "waiting", "files": [FileFact("/s/a.mp4", "/m/new/a.mp4", "waiting")]},
            "waiting",
            "Waiting for Plex to scan /m/new: Plex has no item for this file yet.",
        ),
        (
            {"outcome": "outside", "files": [FileFact("/s/x/a.mp4", "/m/x/a.mp4", "outside", rule="/s/x=/m")]},
            "outside",
            "Outside every Plex library (/m/x/a.mp4): nothing to sync. The path rule /s/x=/m would reach a Plex "
            "file of the same name.",
        ),
        ({"outcome": "path", "dead_letter": LETTER}, "failed", "The sync failed for good: no Plex item has the file"),
        ({"outcome": "path", "dead_letter": LETTER, "job": SceneJob(frozenset({"queued"}))}, "queued", None),
        ({"outcome": "waiting", "job": SceneJob(frozenset({"running", "held"}))}, "running", None),
        ({"outcome": "path", "job": SceneJob(frozenset({"scheduled"}), NOW + 60)}, "retrying", None),
    ],
)
def test_the_state_a_scene_is_shown_in(given, state, headline):
    found = facts(**given)
    assert found.state == state
    if headline:
        assert found.headline() == headline


def test_the_panel_answer_holds_the_same_words_and_hides_bookkeeping():
    found = facts(
        outcome="path",
        items=[ITEM],
        playback=PlaybackFact(plays=2, last_play_at=int(NOW - 30), resume_ms=65_000, viewed_at=int(NOW - 30)),
        worker=WorkerFact(alive=False, mode="external", note="the PlexSync worker is not running"),
    )
    panel = found.panel()
    assert panel["label"] == "In Plex" and panel["headline"] == found.headline()
    assert ["plays from Plex", "2 copied, the last viewed " + when(NOW - 30, NOW)] in panel["playback"]
    assert ["resume point", "1:05 (Plex, " + when(NOW - 30, NOW) + ")"] in panel["playback"]
    assert panel["worker"]["note"] == "the PlexSync worker is not running"
    assert "cover_source" not in panel["report"]
    assert all(label != "worker" for label, _ in panel["details"])  # shown apart
