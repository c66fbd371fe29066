"""Issue #7: the right Plex item is found on real home setups, end to end.

Each test builds the setup a user has (Stash on Windows, Plex on a NAS or on
Windows, decomposed names, libraries that hold only part of Stash), configures
PlexSync on Stash's plugin page as the user would, fires the hooks Stash
fires through the plugin host, and lets a real ``huey_consumer`` sync.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator
from plexsync.config import PLUGIN_ID
from tests.integration.conftest import PLEX_TOKEN, STASH_API_KEY, World, assert_no_secrets_leaked
from tests.support import wait_until

EDIT = r"^/library/sections/\d+/all$"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def make_world(
    tmp_path: Path, sections: list[tuple[str, str, list[str]]], *, windows: bool = False, frozen: bool = False
) -> World:
    stash = StashEmulator(api_key=STASH_API_KEY, windows=windows).start()
    plex = PlexEmulator(token=PLEX_TOKEN, frozen_section_stamps=frozen).start()
    ids = [plex.add_section(title=title, kind=kind, locations=locations) for title, kind, locations in sections]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")},
        "PLEXSYNC_STASH_URL": stash.url,
        "PLEXSYNC_STASH_API_KEY": STASH_API_KEY,
        "PLEXSYNC_DATA_DIR": str(tmp_path / "data"),
        "PLEXSYNC_RETRY_DELAY": "0.2",
        "PLEXSYNC_RETRY_BACKOFF": "2",
        "PLEXSYNC_RETRY_MAX_DELAY": "1",
        "PLEXSYNC_HTTP_TIMEOUT": "3",
    }
    return World(stash, plex, tmp_path / "data", tmp_path, env, ids[0])


@pytest.fixture
def worlds(tmp_path: Path) -> Iterator[list[World]]:
    made: list[World] = []
    yield made
    for world in made:
        try:
            assert_no_secrets_leaked(world)
        finally:
            for consumer in world.consumers:
                consumer.kill()
                print(f"--- {consumer.log_path.name} ---\n{consumer.log()}")
            world.stash.stop()
            world.plex.stop()


def configure(world: World, path_map: str, **more: str) -> None:
    settings = {"plex_url": world.plex.url, "plex_token": PLEX_TOKEN, "path_map": path_map, **more}
    world.stash.set_plugin_settings(PLUGIN_ID, settings)


def scene(world: World, title: str, *paths: str, size: int = 1000) -> str:
    files = tuple({"path": path, "size": size + n, "duration": 60.0} for n, path in enumerate(paths))
    return world.stash.add_scene(title=title, files=files)


def fire(world: World, *scene_ids: str, hook: str = "Scene.Update.Post", null_input: bool = False) -> None:
    for scene_id in scene_ids:
        if null_input:  # as a Stash scan fires it
            world.host.fire_hook(hook, int(scene_id), None, None)
        else:
            world.host.fire_hook(hook, int(scene_id), {"id": scene_id}, ["id"])


def synced(world: World, rating_key: int, title: str) -> bool:
    return world.plex.item(rating_key).title == title


def test_windows_stash_to_linux_plex_with_unc_long_paths_and_decomposed_names(worlds, tmp_path):
    world = make_world(tmp_path, [("Movies", "movie", ["/media/videos", "/volume1/media"])], windows=True)
    worlds.append(world)
    movies = world.section_id
    plex_files = {
        "drive": "/media/videos/Studio/a.mp4",
        "unc": "/volume1/media/Studio/b.mp4",
        "long": "/media/videos/Long/c.mp4",
        "nfd": nfd("/media/videos/Café/Crème.mp4"),
    }
    keys = {name: world.plex.add_movie(movies, files=[path]) for name, path in plex_files.items()}
    stash_files = {
        "drive": r"D:\Videos\Studio\a.mp4",
        "unc": r"\\NAS\Media\Studio\b.mp4",
        "long": r"\\?\D:\Videos\Long\c.mp4",
        "nfd": r"D:\Videos\Café\Crème.mp4",  # Stash on Windows: composed
    }
    ids = {name: scene(world, f"{name} title", path) for name, path in stash_files.items()}
    # typed as users type them: other case, trailing separators
    configure(world, r"d:\videos\=/media/videos/; \\nas\media=/volume1/media")
    world.start_consumer()
    fire(world, *ids.values())
    for name, rating_key in keys.items():
        wait_until(lambda rk=rating_key, n=name: synced(world, rk, f"{n} title"), message=f"{name} synced")
    assert world.dead_letters() == []


def test_linux_stash_to_windows_plex_ignores_case_and_normal_form(worlds, tmp_path):
    world = make_world(tmp_path, [("Films", "movie", [r"D:\Media\Films"])])
    worlds.append(world)
    cased = world.plex.add_movie(world.section_id, files=[r"D:\Media\Films\STUDIO\Movie.MP4"])
    composed = world.plex.add_movie(world.section_id, files=[r"D:\Media\Films\Séance.mkv"])
    first = scene(world, "Cased", "/data/films/Studio/movie.mp4")
    second = scene(world, "Decomposed", nfd("/data/films/Séance.mkv"))  # Stash on macOS/SMB: decomposed
    configure(world, r"/data/films=D:\Media\Films")
    world.start_consumer()
    fire(world, first, second)
    wait_until(lambda: synced(world, cased, "Cased") and synced(world, composed, "Decomposed"), message="both synced")


def test_same_name_files_are_never_cross_matched(worlds, tmp_path):
    world = make_world(tmp_path, [("Movies", "movie", ["/media/plex/movies"])])
    worlds.append(world)
    scanned = world.plex.add_movie(world.section_id, files=["/media/plex/movies/a/video.mp4"])
    world.plex.library.items[scanned].media[0].parts[0].size = 1000  # the same size as the other one
    mine = scene(world, "Mine", "/data/stash/movies/a/video.mp4")
    other = scene(world, "Other", "/data/stash/movies/b/video.mp4")  # not in Plex at all
    configure(world, "/data/stash=/media/plex", retries="2")
    world.start_consumer()
    fire(world, other)
    wait_until(lambda: len(world.dead_letters()) == 1, message="the other scene's dead letter")
    assert world.plex.item(scanned).title != "Other"
    [letter] = world.dead_letters()
    assert letter["scene_id"] == other and "not in Plex" in letter["message"]
    fire(world, mine)
    wait_until(lambda: synced(world, scanned, "Mine"), message="mine synced")


def test_multi_part_items_episodes_and_a_file_in_two_sections_update_every_item(worlds, tmp_path):
    world = make_world(
        tmp_path,
        [
            ("Movies", "movie", ["/media/plex/movies"]),
            ("Favourites", "movie", ["/media/plex/movies/Favourites"]),
            ("TV Shows", "show", ["/media/plex/shows"]),
        ],
    )
    worlds.append(world)
    movies, favourites, shows = sorted(s.key for s in world.plex.library.sections.values())
    heat_files = ["/media/plex/movies/Heat - cd1.avi", "/media/plex/movies/Heat - cd2.avi"]
    heat = world.plex.add_movie(movies, files=heat_files)
    both = [world.plex.add_movie(s, files=["/media/plex/movies/Favourites/Fav.mkv"]) for s in (movies, favourites)]
    episode = world.plex.add_episode(
        shows, show_title="Show", season=1, episode=2, files=["/media/plex/shows/Show/Season 01/Show - S01E02.mp4"]
    )
    heat_scene = scene(world, "Heat", "/data/stash/movies/Heat - cd1.avi", "/data/stash/movies/Heat - cd2.avi")
    fav_scene = scene(world, "Favourite", "/data/stash/movies/Favourites/Fav.mkv")
    episode_scene = scene(world, "Pilot", "/data/stash/shows/Show/Season 01/Show - S01E02.mp4")
    configure(world, "/data/stash=/media/plex")
    world.start_consumer()
    world.plex.clear_requests()
    fire(world, heat_scene, fav_scene, episode_scene)
    wait_until(lambda: synced(world, heat, "Heat"), message="multi-part item")
    wait_until(lambda: all(synced(world, rk, "Favourite") for rk in both), message="both sections' items")
    wait_until(lambda: synced(world, episode, "Pilot"), message="episode")
    heat_edits = [r for r in world.plex.requests_matching("PUT", EDIT) if r.arg("id") == str(heat)]
    assert len(heat_edits) == 1  # one item, edited once for its two files


def test_a_new_file_is_synced_after_one_scan_of_its_folder_though_section_stamps_never_move(worlds, tmp_path):
    world = make_world(tmp_path, [("Movies", "movie", ["/media/plex/movies"])], frozen=True)
    worlds.append(world)
    world.plex.scan_delay = 1.0  # Plex takes a while to scan
    world.plex.add_movie(world.section_id, files=["/media/plex/movies/old.mp4"])
    configure(world, "/data/stash=/media/plex")
    world.start_consumer()
    old = scene(world, "Old", "/data/stash/movies/old.mp4")
    fire(world, old)
    wait_until(lambda: world.plex.requests_matching("PUT", EDIT), message="the index is built")
    # Stash scans three new files of one folder before Plex has seen them
    new_paths = [f"/media/plex/movies/New/n{i}.mp4" for i in range(3)]
    for path in new_paths:
        world.plex.add_unscanned_file(world.section_id, path)
    new_ids = [scene(world, f"New {i}", f"/data/stash/movies/New/n{i}.mp4") for i in range(3)]
    fire(world, *new_ids, hook="Scene.Create.Post", null_input=True)

    def all_synced() -> bool:
        keys = [world.plex.find_by_file(p) for p in new_paths]
        return all(k and synced(world, k[0], f"New {i}") for i, k in enumerate(keys))

    stamps = world.plex.library.sections[world.section_id]
    before = (stamps.updated_at, stamps.scanned_at)
    wait_until(all_synced, timeout=60, message="the new files synced")
    assert (stamps.updated_at, stamps.scanned_at) == before  # nothing told the index that Plex changed
    assert [(r.section_id, r.path) for r in world.plex.scan_requests] == [(world.section_id, "/media/plex/movies/New")]
    assert world.dead_letters() == []
    assert "Unhandled exception" not in world.logs()


def test_scenes_outside_plex_are_recorded_once_without_retries(worlds, tmp_path):
    world = make_world(tmp_path, [("Movies", "movie", ["/media/plex/movies"])])
    worlds.append(world)
    inside, outside = [], []
    for n in range(12):
        path = f"/data/stash/movies/in-{n}.mp4"
        rating_key = world.plex.add_movie(world.section_id, files=[f"/media/plex/movies/in-{n}.mp4"])
        inside.append((scene(world, f"In {n}", path), rating_key))
    for n in range(4):  # a quarter of the library is kept out of Plex on purpose
        outside.append(scene(world, f"Private {n}", f"/data/stash/private/p-{n}.mp4"))
    configure(world, "/data/stash=/media/plex")
    world.start_consumer()
    fire(world, *[s for s, _ in inside], *outside)
    wait_until(lambda: all(synced(world, rk, f"In {n}") for n, (_, rk) in enumerate(inside)), message="inside synced")
    wait_until(lambda: world.queued() == 0, message="queue drained")
    outside_lines = [line for line in world.logs().splitlines() if "outside your Plex libraries" in line]
    assert len(outside_lines) == len(outside)
    assert {re.search(r"scene (\d+) not synced", line).group(1) for line in outside_lines} == set(outside)

    # Syncing them again (another edit, a bulk sync) costs Plex nothing and logs nothing new.
    world.plex.clear_requests()
    fire(world, *outside)
    wait_until(lambda: world.queued() == 0, message="queue drained again")
    log = world.logs()
    assert [r.path for r in world.plex.requests] == []
    assert sum("outside your Plex libraries" in line for line in log.splitlines()) == len(outside)
    assert "Unhandled exception" not in log and "RetryTask" not in log
    assert world.dead_letters() == []


def test_threads_starting_together_share_one_index(worlds, tmp_path):
    world = make_world(tmp_path, [("Movies", "movie", ["/media/plex/movies"])])
    worlds.append(world)
    pairs = []
    for n in range(8):
        rating_key = world.plex.add_movie(world.section_id, files=[f"/media/plex/movies/m{n}.mp4"])
        pairs.append((scene(world, f"M {n}", f"/data/stash/movies/m{n}.mp4"), rating_key))
    configure(world, "/data/stash=/media/plex")
    # queue every job before the worker starts, so its four threads start together
    fire(world, *[s for s, _ in pairs])
    world.start_consumer(workers=4)
    wait_until(lambda: all(synced(world, rk, f"M {n}") for n, (_, rk) in enumerate(pairs)), message="all synced")
    listings = [r for r in world.plex.requests_matching("GET", r"/all$") if r.arg("sort") is None]
    assert len(listings) == 1
    assert len(world.plex.requests_matching("GET", r"^/library/sections$")) == 1


def move_stash_file(world: World, scene_id: str, new_path: str) -> None:
    """What a Stash scan records when it finds a scene's file under a new path."""
    from dataclasses import replace

    library = world.stash.library
    with library.lock:
        scene = library.scenes[int(scene_id)]
        moved = replace(scene.files[0], path=new_path, basename=new_path.rsplit("/", 1)[-1])
        library.scenes[int(scene_id)] = replace(scene, files=(moved,))


@pytest.mark.parametrize("null_input", [True, False], ids=["stash-scan-hook", "edit-hook"])
def test_a_moved_file_is_matched_again_instead_of_trusting_the_index(worlds, tmp_path, null_input):
    """A scan hook (input null) relists at once; an ordinary edit finds the item
    after asking Plex to scan the new folder (once), by listing after that scan."""
    world = make_world(tmp_path, [("Movies", "movie", ["/media/plex/movies"])])
    worlds.append(world)
    target = world.plex.add_movie(world.section_id, files=["/media/plex/movies/old/clip.mp4"])
    for n in range(120):  # the moved item is far from the newest-items page
        world.plex.add_movie(world.section_id, files=[f"/media/plex/movies/other/o{n:03d}.mp4"])
    moved = scene(world, "Before the move", "/data/stash/movies/old/clip.mp4")
    configure(world, "/data/stash=/media/plex", retries="2")
    world.start_consumer()
    fire(world, moved)
    wait_until(lambda: synced(world, target, "Before the move"), message="first sync")

    # The user moves the file; Plex's scan keeps the item and updates its part; Stash's scan
    # updates the scene (and fires Scene.Update.Post with null input).
    part = world.plex.library.items[target].media[0].parts[0]
    part.file = "/media/plex/movies/new/clip.mp4"
    move_stash_file(world, moved, "/data/stash/movies/new/clip.mp4")
    world.stash.update_scene(moved, title="After the move")
    fire(world, moved, null_input=null_input)
    wait_until(lambda: synced(world, target, "After the move"), message="synced after the move")
    assert world.dead_letters() == []
    scans = [(r.section_id, r.path) for r in world.plex.scan_requests]
    assert scans == ([] if null_input else [(world.section_id, "/media/plex/movies/new")])


def test_a_stash_scan_of_many_files_relists_the_plex_library_a_few_times_not_once_a_scene(worlds, tmp_path):
    """A Stash scan fires Scene.Update.Post with null input for every file it
    found changed, hundreds in a row; each job wants a Plex listing newer than
    the scan saw its file (the file may have moved). One listing serves every
    job whose hook came before it started: the jobs' "newer than" is their
    hook's time, not the moment a worker takes them (then every job of the
    burst listed the whole library again: 120 listings for 120 scenes)."""
    world = make_world(tmp_path, [("Movies", "movie", ["/media/plex/movies"])])
    worlds.append(world)
    scenes = []
    for n in range(120):
        world.plex.add_movie(world.section_id, files=[f"/media/plex/movies/s{n:03d}.mp4"])
        scenes.append(scene(world, f"scene {n}", f"/data/stash/movies/s{n:03d}.mp4"))
    configure(world, "/data/stash=/media/plex")
    world.start_consumer()
    fire(world, scenes[0])
    wait_until(lambda: world.queued() == 0, message="first sync")
    listings = r"^/library/sections/\d+/all$"
    before = len([r for r in world.plex.requests_matching("GET", listings) if r.arg("sort") is None])
    fire(world, *scenes, null_input=True)
    wait_until(lambda: world.queued() == 0, timeout=120, message="the scan's syncs")
    after = len([r for r in world.plex.requests_matching("GET", listings) if r.arg("sort") is None])
    assert world.dead_letters() == []
    assert after - before <= 120 // 6, after - before  # about one a second of the burst; was one a scene
