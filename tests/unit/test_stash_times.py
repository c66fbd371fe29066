"""Stash's times as instants, and the text windows that hold them (plexsync.stash.times).

Stash stores ``updated_at`` as Go's ``time.RFC3339`` in its local zone (stashapp/stash
``pkg/sqlite/timestamp.go``) and compares the stored text with the text a filter gives
(``pkg/sqlite/sql.go``): a bound is right when every instant wanted has a stored text
on the right side of it, whatever offset it was written with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from plexsync.stash import times

BERLIN = ZoneInfo("Europe/Berlin")


def stored(moment: datetime, zone=BERLIN) -> str:
    """As Stash writes it (the emulator's rfc3339, Go's time.RFC3339)."""
    from emulators.stash.model import rfc3339

    return rfc3339(moment, zone)


def test_instants_read_the_offset():
    assert times.instant("2026-10-25T02:30:00+02:00") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()
    assert times.instant("2026-10-25T02:10:00+01:00") > times.instant("2026-10-25T02:30:00+02:00")
    assert times.instant("2026-10-25T00:30:00Z") == times.instant("2026-10-25T02:30:00+02:00")
    assert times.instant("2026-10-25T00:30:00") == times.instant("2026-10-25T00:30:00Z")  # no offset: UTC


def test_a_widened_text_window_holds_every_instant_across_a_fall_back_and_a_spring_forward():
    for start in (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 0, 0, tzinfo=UTC)):
        moments = [start + timedelta(minutes=10 * n) for n in range(24)]  # four hours around the change
        texts = [stored(m) for m in moments]
        for low in range(len(moments)):
            for high in range(low, len(moments)):
                slack = times.slack(texts[low], texts[high])
                lower, upper = times.wall_bound(texts[low], -slack), times.wall_bound(texts[high], slack)
                inside = [t for t in texts if lower <= t <= upper]  # SQLite's BETWEEN on text
                wanted = texts[low : high + 1]
                assert set(wanted) <= set(inside), (texts[low], texts[high])


def test_a_zone_change_widens_the_slack():
    assert times.slack("2026-01-01T12:00:00Z", "2026-01-01T22:00:00+09:00") == times.OFFSET_SLACK + timedelta(hours=9)
    assert times.slack("2026-01-01T12:00:00+01:00") == times.OFFSET_SLACK
