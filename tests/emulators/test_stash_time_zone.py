"""A Stash in a zone with daylight-saving time, as real Stash stores and compares times.

stashapp/stash (cf3489e) ``pkg/sqlite/timestamp.go``: ``Timestamp.Value`` stores
``t.Format(time.RFC3339)``, the time as Go's ``time.Now()`` gave it, in the server's
local zone with its offset; only ``UTCTimestamp`` (play and O dates) converts to UTC.
``pkg/sqlite/sql.go`` ``getTimestampWhereClause`` compares the column with the value
the client sent (``scenes.updated_at > ?``, ``BETWEEN ? AND ?``, the upper bound
defaulting to ``time.Now().AddDate(0, 0, 1).Format(time.RFC3339)``): SQLite compares
the two as text. Sorting by ``updated_at`` is ``ORDER BY scenes.updated_at``: text
order too. ../shared/stash-plugins.md, "Timestamps".

Europe/Berlin falls back on 2026-10-25 at 01:00 UTC (03:00 CEST -> 02:00 CET): a
change at 00:30 UTC is ``02:30:00+02:00``, one at 01:10 UTC ``02:10:00+01:00``, which
sorts before it although it is 40 minutes later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import requests

from emulators.stash import StashEmulator

BERLIN = ZoneInfo("Europe/Berlin")
IDS = (
    "query($f: FindFilterType, $s: SceneFilterType) "
    "{ findScenes(filter: $f, scene_filter: $s) { scenes { id updated_at } } }"
)


def find(stash: StashEmulator, scene_filter: dict | None = None, **find_filter) -> list[tuple[str, str]]:
    answer = requests.post(
        stash.graphql_url,
        json={"query": IDS, "variables": {"f": {"per_page": -1, **find_filter}, "s": scene_filter}},
        timeout=10,
    ).json()
    return [(s["id"], s["updated_at"]) for s in answer["data"]["findScenes"]["scenes"]]


def test_updated_at_is_local_time_with_its_offset_and_compared_as_text() -> None:
    stash = StashEmulator(zone=BERLIN).start()
    try:
        moments = iter(
            [
                datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST
                datetime(2026, 10, 25, 1, 10, tzinfo=UTC),  # 02:10 CET, 40 minutes later
                datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
            ]
        )
        stash.clock = lambda: next(moments)
        before = stash.add_scene(title="before the fall-back")
        after = stash.add_scene(title="after the fall-back")
        summer = stash.add_scene(title="summer")
    finally:
        stash.clock = None
    try:
        assert stash.scene(before)["updated_at"] == "2026-10-25T02:30:00+02:00"
        assert stash.scene(after)["updated_at"] == "2026-10-25T02:10:00+01:00"
        assert stash.scene(summer)["updated_at"] == "2026-07-01T14:00:00+02:00"

        newest_first = find(stash, sort="updated_at", direction="DESC")
        assert [scene_id for scene_id, _ in newest_first] == [before, after, summer]  # text order
        later = {"updated_at": {"value": "2026-10-25T02:30:00+02:00", "modifier": "GREATER_THAN"}}
        assert find(stash, later) == []  # the later change is not "greater" as text
        between = {"value": "2026-10-25T02:00:00", "value2": "2026-10-25T02:20:00", "modifier": "BETWEEN"}
        window = {"updated_at": between}
        assert [scene_id for scene_id, _ in find(stash, window)] == [after]
    finally:
        stash.stop()


def test_a_utc_stash_writes_z() -> None:
    stash = StashEmulator().start()
    try:
        stash.clock = lambda: datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
        assert stash.scene(stash.add_scene(title="utc"))["updated_at"] == "2026-10-25T00:30:00Z"
    finally:
        stash.stop()
