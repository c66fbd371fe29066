"""What PlexSync reads in Plex's notifications (plexsync.plex.notifications).

Message shapes as real Plex sends them (emulators/plex/notifications.py has the
sources): a ``playing`` capture from PlexKodiConnect issue #162, ``timeline`` entries
as Tautulli's ``TimelineHandler`` reads them, ``activity`` as in PlexTraktSync's
``tests/mock_data/events.json`` (``library.refresh.items`` there; a section scan is
``library.update.section`` with ``Context.librarySectionID``).
"""

from __future__ import annotations

import itertools

import pytest

from plexsync.plex import notifications
from plexsync.plex.notifications import LibraryScanned, PlaybackStopped, events_of

PLAYING = {
    "PlaySessionStateNotification": [
        {
            "viewOffset": 2119067,
            "url": "",
            "ratingKey": "2174",
            "state": "playing",
            "sessionKey": "7",
            "key": "/library/metadata/2174",
            "guid": "",
        }
    ],
    "type": "playing",
    "size": 1,
}


def _with_state(state: str) -> dict:
    entry = {**PLAYING["PlaySessionStateNotification"][0], "state": state}
    return {**PLAYING, "PlaySessionStateNotification": [entry]}


def test_a_stop_or_a_pause_is_a_playback_event_and_playing_is_not():
    assert events_of(PLAYING) == []
    assert events_of(_with_state("buffering")) == []
    assert events_of(_with_state("stopped")) == [PlaybackStopped(2174, "stopped", 2119067)]
    assert events_of(_with_state("paused")) == [PlaybackStopped(2174, "paused", 2119067)]


def _timeline(**entry) -> dict:
    base = {"identifier": "com.plexapp.plugins.library", "sectionID": "3", "itemID": "99", "type": 1, "state": 0}
    return {"type": "timeline", "size": 1, "TimelineEntry": [{**base, **entry}]}


def test_a_new_movie_or_episode_in_a_library_is_a_scan_event():
    assert events_of(_timeline(metadataState="created")) == [LibraryScanned(3)]
    assert events_of(_timeline(state=5, type=4)) == [LibraryScanned(3)]
    assert events_of(_timeline(state=9, metadataState="deleted")) == []
    assert events_of(_timeline(type=2)) == []  # a show Directory: its episodes follow
    assert events_of(_timeline(identifier="tv.plex.providers.epg.cloud")) == []  # DVR, other ids
    assert events_of(_timeline(sectionID="-1")) == []


def test_a_section_scan_ending_is_a_scan_event():
    def activity(event: str, kind: str = "library.update.section", context: dict | None = None) -> dict:
        found = {"uuid": "u", "type": kind, "progress": 100, "Context": context or {"librarySectionID": "5"}}
        entries = [{"event": event, "uuid": "u", "Activity": found}]
        return {"type": "activity", "size": 1, "ActivityNotification": entries}

    assert events_of(activity("ended")) == [LibraryScanned(5, ended=True)]
    assert events_of(activity("started")) == []
    assert events_of(activity("ended", "library.refresh.items", {"key": "/library/metadata/10123"})) == []


@pytest.mark.parametrize(
    "container",
    [
        {},
        {"type": "playing"},
        {"type": "playing", "PlaySessionStateNotification": [{"state": "stopped", "ratingKey": "x"}]},
        {"type": "timeline", "TimelineEntry": "nonsense"},
        {"type": "activity", "ActivityNotification": [{"event": "ended", "Activity": None}]},
        {"type": "status", "size": 1, "StatusNotification": [{"title": "Library scan complete"}]},
    ],
)
def test_anything_else_or_unreadable_is_no_event(container):
    assert events_of(container) == []


def test_the_socket_address_follows_the_plex_address():
    assert notifications.socket_url("http://10.0.0.2:32400") == "ws://10.0.0.2:32400/:/websockets/notifications"
    assert notifications.socket_url("https://x.plex.direct:32400/") == (
        "wss://x.plex.direct:32400/:/websockets/notifications"
    )


def test_reconnect_delays_grow_to_a_minute_and_start_over_after_a_lasting_connection():
    delay = None
    seen = []
    for _ in range(12):
        delay = notifications.next_delay(delay, lived=0.0)
        seen.append(delay)
    assert notifications.RECONNECT_MIN * 0.8 <= seen[0] <= notifications.RECONNECT_MIN * 1.2
    assert all(b >= a * 1.5 for a, b in itertools.pairwise(seen[:5]))  # doubling, give or take jitter
    assert max(seen) <= notifications.RECONNECT_MAX * 1.2
    assert notifications.next_delay(seen[-1], lived=notifications.STABLE_AFTER) <= notifications.RECONNECT_MIN * 1.2
