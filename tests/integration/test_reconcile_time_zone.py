"""Issue #18, part 9: the reconcile compares Stash's times as instants, whatever
Stash's zone.

Real Stash stores ``updated_at`` as RFC3339 text in its machine's local zone with the
offset then in force, and compares and sorts it as text (stashapp/stash
``pkg/sqlite/timestamp.go``, ``pkg/sqlite/sql.go`` ``getTimestampWhereClause``;
tests/emulators/test_stash_time_zone.py). In Europe/Berlin the clocks fall back on
2026-10-25 at 01:00 UTC: a scene changed at 00:40 UTC reads ``02:40:00+02:00``, one
changed at 01:10 UTC ``02:10:00+01:00``, which is later and sorts before it. A
reconcile that takes Stash's text order for time order sees nothing new after the
fall-back (its newest is still ``02:40+02:00``) for an hour, or until some other
scene changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.integration.conftest import World
from tests.integration.test_related_changes import edited_items, first_sync, queue_reconcile, synced
from tests.support import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 10, 25, 0, 20, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def reconciled(world: World, runs: int) -> None:
    wait_until(lambda: world.logs().count("reconcile: ") >= runs, message=f"reconcile run {runs}")
    synced(world)


def test_a_reconcile_across_a_daylight_saving_fall_back_catches_the_change(world: World):
    clock = Clock()
    world.stash.library.zone = ZoneInfo("Europe/Berlin")
    world.stash.clock = clock
    (before, before_item), (after, after_item), (later, later_item) = [
        world.add_scene(name, title=name) for name in ("before", "after", "later")
    ]
    assert world.stash.scene(before)["updated_at"] == "2026-10-25T02:20:00+02:00"
    first_sync(world)
    queue_reconcile(world)  # the first run records where the library is
    reconciled(world, 1)

    clock.now = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 summer time
    world.stash.update_scene(before, title="changed before the fall-back")  # no hook, as Auto Tag
    count = len(world.plex.requests)
    queue_reconcile(world)
    reconciled(world, 2)
    assert edited_items(world, count) == {before_item}

    clock.now = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)  # 02:10 winter time: 30 minutes later
    world.stash.update_scene(after, title="changed after the fall-back")
    assert world.stash.scene(after)["updated_at"] == "2026-10-25T02:10:00+01:00"
    count = len(world.plex.requests)
    queue_reconcile(world)
    reconciled(world, 3)
    assert world.plex.item(after_item).title == "changed after the fall-back"
    assert edited_items(world, count) == {after_item}
    assert world.logs().rsplit("reconcile: ", 1)[1].startswith("queued 1 scene(s) changed without a hook")

    clock.now = datetime(2026, 10, 25, 1, 50, tzinfo=UTC)  # 02:50 winter time
    world.stash.update_scene(later, title="changed an hour after")
    count = len(world.plex.requests)
    queue_reconcile(world)
    reconciled(world, 4)
    assert edited_items(world, count) == {later_item}  # nothing queued twice
    assert world.plex.item(later_item).title == "changed an hour after"
