"""Libraries for the command line: a small hand-made sample, or N plain scenes."""

from __future__ import annotations

from .images import png
from .server import StashEmulator


def seed_sample(stash: StashEmulator) -> None:
    """A few scenes touching every kind of object PlexSync maps to Plex."""
    network = stash.add_studio("Northwind Network", image=png("studio:northwind"))
    studio = stash.add_studio("Northwind Originals", parent_id=network)
    indie = stash.add_studio("Harbour Light")
    ana = stash.add_performer("Ana Example", gender="FEMALE", image=png("performer:ana"))
    ben = stash.add_performer("Ben Sample", gender="MALE")
    outdoor, interview, drama = (stash.add_tag(name) for name in ("Outdoor", "Interview", "Drama"))
    series = stash.add_group("Coastline Series")
    stash.add_scene(
        title="Morning at the Harbour",
        details="Boats leave before sunrise.",
        date="2024-05-01",
        code="NW-001",
        director="C. Director",
        urls=["https://example.org/scenes/1"],
        rating100=80,
        organized=True,
        files=[{"path": "/data/northwind/harbour.mp4", "size": 734_003_200, "duration": 1805.5}],
        studio_id=studio,
        tag_ids=[outdoor, drama],
        performer_ids=[ana, ben],
        groups=[(series, 1)],
        stash_ids=[{"endpoint": "https://stashdb.org/graphql", "stash_id": "0f6e8c2a-sample-0001"}],
    )
    stash.add_scene(
        title="Harbour Interview",
        date="2024-05-08",
        files=[{"path": "/data/northwind/interview.mkv", "size": 314_572_800, "duration": 912.0}],
        studio_id=studio,
        tag_ids=[interview],
        performer_ids=[ana],
        groups=[(series, 2)],
    )
    stash.add_scene(
        files=[{"path": "/data/harbour-light/untitled 03.mp4", "size": 52_428_800, "duration": 240.0}],
        studio_id=indie,
    )


def seed_generated(stash: StashEmulator, count: int) -> None:
    """``count`` plain scenes with distinct titles and files, one studio, no cover bytes."""
    studio = stash.add_studio("Generated Studio")
    for number in range(1, count + 1):
        stash.add_scene(
            title=f"Generated scene {number}",
            files=[{"path": f"/data/generated/{number:06d}.mp4", "size": 1_000_000 + number, "duration": 60.0}],
            studio_id=studio,
        )
