"""A library the size of a big real one: 100,000 scenes seeded, then paged through findScenes.

PlexSync's full sync pages through every scene and its incremental sync asks
for ``updated_at GREATER_THAN`` the last point seen; both must work at this size.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator

SCENES = 100_000
PAGE = """query($f: FindFilterType, $s: SceneFilterType) {
  findScenes(filter: $f, scene_filter: $s) { count scenes { id updated_at } }
}"""


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[StashEmulator, SteppingClock, list[str]]]:
    stash = StashEmulator().start()
    clock = SteppingClock()
    stash.clock = clock
    studio = stash.add_studio("Big Studio")
    tag = stash.add_tag("Everywhere")
    ids = []
    for number in range(SCENES):
        if number % 1000 == 0:
            clock.now += timedelta(seconds=1)
        ids.append(
            stash.add_scene(
                title=f"Scene {number}",
                files=[{"path": f"/data/big/{number:06d}.mp4", "size": number, "duration": 30.0}],
                studio_id=studio,
                tag_ids=[tag],
            )
        )
    yield stash, clock, ids
    stash.stop()


@pytest.mark.slow
def test_paging_through_every_scene_by_id(big: tuple[StashEmulator, SteppingClock, list[str]]) -> None:
    stash, _, ids = big
    client = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port})
    seen: list[str] = []
    page = 1
    while True:
        result = client.call_GQL(PAGE, {"f": {"page": page, "per_page": 5000, "sort": "id"}})["findScenes"]
        assert result["count"] == SCENES
        if not result["scenes"]:
            break
        seen.extend(s["id"] for s in result["scenes"])
        page += 1
    assert seen == ids
    assert page == SCENES // 5000 + 1


@pytest.mark.slow
def test_incremental_sync_finds_only_the_changed_scenes(big: tuple[StashEmulator, SteppingClock, list[str]]) -> None:
    stash, clock, ids = big
    client = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port})
    newest = client.call_GQL(PAGE, {"f": {"per_page": 1, "sort": "updated_at", "direction": "DESC"}})
    last_seen = newest["findScenes"]["scenes"][0]["updated_at"]
    clock.now += timedelta(seconds=1)
    changed = [ids[10], ids[50_000], ids[-1]]
    for scene_id in changed:
        stash.update_scene(scene_id, details="edited")
    since = {"updated_at": {"value": last_seen, "modifier": "GREATER_THAN"}}
    result = client.call_GQL(PAGE, {"f": {"per_page": -1, "sort": "id"}, "s": since})["findScenes"]
    assert result["count"] == 3
    assert [s["id"] for s in result["scenes"]] == changed
