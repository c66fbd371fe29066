"""Whole generated libraries where Stash and Plex disagree (Windows on either
side, drive/UNC/long-path roots, NFD vs NFC, case, same-name twins, a folder
no rule maps): every scene is matched to exactly the Plex items the generator
put its files in, or to none when Plex has not scanned them or holds them
nowhere. Stash and Plex are read over HTTP, as the worker reads them."""

from __future__ import annotations

from collections import Counter

import pytest

from emulators.library import SECTIONS, generate_library
from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator
from plexsync.matching.matcher import FALLBACK, OUTSIDE, PATH, WAITING
from plexsync.matching.paths import PathMap
from plexsync.plex.writer import PlexWriter
from plexsync.stash.reader import StashReader
from plexsync.tools import match_report

TOKEN = "library-match-token"
EXTRAS = ("nf_differs", "twin", "unmapped", "ambiguous")


def in_plex_folder(library, stash_path: str) -> bool:
    """By the generator's own mapping. (Its NFD names may join an NFC twin's folder,
    so an "outside_plex" scene can land in a folder Plex covers: then it waits.)"""
    try:
        plex_path = library.to_plex(stash_path)
    except ValueError:  # a Stash root with no Plex counterpart
        return False
    folders = [f for section in SECTIONS for f in library.plex_locations(section)]
    return any(plex_path.startswith(folder.rstrip("/\\") + sep) for folder in folders for sep in "/\\")


def expected_outcome(library, scene) -> str:
    if "ambiguous" in scene.traits:  # two Plex files of that name and size: no guess, it waits for its own
        return WAITING
    if "outside_plex" in scene.traits:
        return WAITING if in_plex_folder(library, scene.stash_paths[0]) else OUTSIDE
    if not scene.rating_keys:
        return WAITING
    return FALLBACK if "unmapped" in scene.traits else PATH


@pytest.mark.parametrize(
    ("setup", "extras"),
    [("linux", EXTRAS), ("stash_windows", EXTRAS), ("plex_windows", (*EXTRAS, "case_differs"))],
)
def test_every_scene_finds_exactly_its_own_items(setup, extras):
    library = generate_library(400, seed=7, setup=setup, extras=extras)
    stash = StashEmulator(windows=setup == "stash_windows").start()
    plex = PlexEmulator(token=TOKEN).start()
    try:
        library.seed(stash, plex)
        reader = StashReader({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port}, timeout=10)
        writer = PlexWriter(plex.url, TOKEN, timeout=10)
        rules = PathMap.parse(library.path_map)
        by_id = {scene.stash_id: scene for scene in library.scenes}
        wrong = []
        for page in reader.scene_files(100):
            for stash_scene in page:
                generated = by_id[stash_scene["id"]]
                found = writer.index.match(stash_scene["files"], rules, catch_up=False)
                keys = sorted(t.rating_key for t in found.targets)
                outcome = expected_outcome(library, generated)
                expected_keys = [] if outcome == WAITING else sorted(generated.rating_keys)
                if (found.outcome, keys) != (outcome, expected_keys):
                    wrong.append((sorted(generated.traits), generated.stash_paths, found.outcome, keys))
        assert wrong == []
        for trait in ("twin", "unmapped", "ambiguous", "outside_plex", "nf_differs"):
            assert library.with_trait(trait), trait

        report = match_report.build(reader.scene_files(1000), writer.index, rules)
        assert report.counts == Counter(expected_outcome(library, scene) for scene in library.scenes)
    finally:
        stash.stop()
        plex.stop()
