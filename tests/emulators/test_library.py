"""The generated library: deterministic, varied like a real one, and consistent across both emulators."""

from __future__ import annotations

import collections
import posixpath
import random
import re
import unicodedata

import pytest

from emulators.library import GeneratedScene, Library, generate_library
from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator


@pytest.fixture(scope="module")
def thousand() -> Library:
    return generate_library(1000, seed=3)


@pytest.fixture(scope="module")
def seeded() -> tuple[Library, StashEmulator, PlexEmulator]:
    library = generate_library(1000, seed=5)
    stash, plex = StashEmulator(), PlexEmulator()
    library.seed(stash, plex)
    return library, stash, plex


def basename(path: str) -> str:
    return posixpath.basename(path)


def test_the_same_seed_gives_the_same_library() -> None:
    first, again, other = generate_library(1000, seed=7), generate_library(1000, seed=7), generate_library(1000, 8)
    assert first.scenes == again.scenes
    assert first.plex_entries == again.plex_entries
    assert first.studios == again.studios and first.performers == again.performers
    assert first.scenes != other.scenes


def test_size_is_bounded() -> None:
    assert len(generate_library(10).scenes) == 10
    with pytest.raises(ValueError, match="between 10 and 100000"):
        generate_library(9)


def test_a_thousand_scenes_hold_every_variety_in_proportion(thousand: Library) -> None:
    counts = collections.Counter(trait for scene in thousand.scenes for trait in scene.traits)
    expected = {  # share of scenes, with room for the draw
        "episode": (0.05, 0.16),
        "bare": (0.02, 0.09),
        "unscanned": (0.01, 0.05),
        "outside_plex": (0.002, 0.03),
        "multifile": (0.01, 0.07),
        "multipart": (0.01, 0.07),
        "two_sections": (0.02, 0.07),
        "nfc": (0.02, 0.10),
        "nfd": (0.01, 0.07),
        "japanese": (0.01, 0.07),
        "emoji": (0.003, 0.03),
        "special_chars": (0.01, 0.05),
        "generic_name": (0.02, 0.08),
    }
    for trait, (low, high) in expected.items():
        assert low * 1000 <= counts[trait] <= high * 1000, (trait, counts[trait])


def test_bare_scenes_have_no_metadata_at_all(thousand: Library) -> None:
    bare = thousand.with_trait("bare")
    assert bare
    for scene in bare:
        assert (scene.title, scene.details, scene.date, scene.code, scene.director) == (None,) * 5
        assert (scene.studio, scene.group, scene.rating100) == (None, None, None)
        assert scene.performers == scene.tags == scene.urls == []
        assert not scene.organized


def test_paths_differ_by_prefix_and_the_path_map_converts_them(thousand: Library) -> None:
    assert thousand.path_map == "/data/stash=/media/plex"
    stash_prefix, plex_prefix = thousand.path_map.split("=")
    for scene in thousand.scenes:
        assert all(p.startswith(stash_prefix + "/") for p in scene.stash_paths)
        assert scene.plex_paths == [plex_prefix + p[len(stash_prefix) :] for p in scene.stash_paths]
    every_path = [p for scene in thousand.scenes for p in scene.stash_paths]
    assert len(every_path) == len(set(every_path))


def test_multi_file_scenes_and_multi_part_items(thousand: Library) -> None:
    two_files = [s for s in thousand.scenes if len(s.stash_paths) == 2]
    assert len(two_files) >= 10
    stacked = [e for e in thousand.plex_entries if len(e.files) == 2]
    assert stacked
    for entry in stacked:
        assert [re.sub(r".* - (cd\d)\.\w+$", r"\1", f) for f in entry.files] == ["cd1", "cd2"]
    # Stash scans cd1 and cd2 as two scenes sharing one Plex item
    sharing = collections.Counter(i for s in thousand.scenes if s.multipart for i in s.entries)
    assert 2 in sharing.values()


def test_episodes_are_laid_out_as_plex_expects(thousand: Library) -> None:
    pattern = re.compile(r"^/media/plex/shows/([^/]+)/Season (\d\d)/\1 - S\2E\d\d\.\w+$")
    episodes = thousand.with_trait("episode")
    assert episodes and all(scene.kind == "episode" for scene in episodes)
    for scene in episodes:
        assert pattern.match(scene.plex_paths[0]), scene.plex_paths[0]


def test_names_repeat_across_folders_and_unicode_comes_in_both_forms(thousand: Library) -> None:
    names = collections.Counter(basename(p) for s in thousand.scenes for p in s.stash_paths)
    assert sum(1 for n in names.values() if n > 1) >= 5
    nfd_names = {basename(p) for s in thousand.with_trait("nfd") for p in s.stash_paths}
    nfc_names = {basename(p) for s in thousand.with_trait("nfc") for p in s.stash_paths}
    assert nfd_names and nfc_names
    assert all(not unicodedata.is_normalized("NFC", name) for name in nfd_names)
    assert all(unicodedata.is_normalized("NFC", name) for name in nfc_names)
    twins = {unicodedata.normalize("NFC", name) for name in nfd_names} & nfc_names
    assert twins  # the same visible name, two different strings
    for scene in thousand.with_trait("nfd"):  # the title was typed, the file name came from macOS
        assert scene.title is not None and unicodedata.is_normalized("NFC", scene.title)


def test_entities_carry_parents_genders_images_and_groups(thousand: Library) -> None:
    assert any(studio.parent for studio in thousand.studios)
    assert len({p.gender for p in thousand.performers}) >= 4
    assert any(p.image for p in thousand.performers) and any(p.image is None for p in thousand.performers)
    assert any(p.image and p.image.startswith(b"\x89PNG") for p in thousand.performers)
    assert sum(1 for s in thousand.scenes if s.group) >= 20


def _mapped_keys(plex: PlexEmulator, library: Library, scene: GeneratedScene) -> list[int]:
    return [key for path in scene.stash_paths for key in plex.find_by_file(library.to_plex(path))]


def test_after_seeding_every_scanned_scene_is_found_by_its_mapped_paths(
    seeded: tuple[Library, StashEmulator, PlexEmulator],
) -> None:
    library, _, plex = seeded
    scanned = [s for s in library.scenes if s.scanned]
    assert len(scanned) > 900
    for scene in scanned:
        for path in scene.stash_paths:
            keys = plex.find_by_file(library.to_plex(path))
            assert keys and set(keys) <= set(scene.rating_keys), path
        assert sorted(set(_mapped_keys(plex, library, scene))) == sorted(scene.rating_keys)
    for scene in library.scenes:
        if not scene.scanned:
            assert scene.rating_keys == [] and _mapped_keys(plex, library, scene) == []


def test_seeded_items_have_the_shape_their_variety_promises(
    seeded: tuple[Library, StashEmulator, PlexEmulator],
) -> None:
    library, _, plex = seeded
    for scene in library.with_trait("two_sections"):
        sections = {plex.item(key).section_id for key in scene.rating_keys}
        assert sections == {library.section_ids["Movies"], library.section_ids["Favourites"]}
    for scene in library.scenes:
        if scene.multipart and scene.scanned:
            (key,) = scene.rating_keys
            assert len(plex.item(key).files) == 2
    for scene in library.with_trait("episode"):
        if scene.scanned:
            item = plex.item(scene.rating_keys[0])
            assert item.type == "episode" and item.show_title and item.season and item.episode


def test_nfd_and_nfc_paths_are_different_files_in_plex(seeded: tuple[Library, StashEmulator, PlexEmulator]) -> None:
    library, _, plex = seeded
    checked = 0
    for scene in library.with_trait("nfd"):
        if not scene.scanned:
            continue
        for path in scene.plex_paths:
            found = plex.find_by_file(path)
            assert found and set(found) <= set(scene.rating_keys)
            assert not set(plex.find_by_file(unicodedata.normalize("NFC", path))) & set(found)
            checked += 1
    assert checked


def test_stash_holds_the_generated_metadata(seeded: tuple[Library, StashEmulator, PlexEmulator]) -> None:
    library, stash, _ = seeded
    sample = random.Random(0).sample(library.scenes, 40)
    for scene in sample:
        found = stash.scene(scene.stash_id)
        assert [f["path"] for f in found["files"]] == scene.stash_paths
        assert found["title"] == (scene.title or "")
        assert (found["studio"] or {}).get("name") == scene.studio
        assert sorted(p["name"] for p in found["performers"]) == sorted(scene.performers)
        assert sorted(t["name"] for t in found["tags"]) == sorted(scene.tags)
    with_parent = [
        s for s in library.scenes if s.studio and any(st.name == s.studio and st.parent for st in library.studios)
    ]
    found = stash.scene(with_parent[0].stash_id)
    assert found["studio"]["parent_studio"]["name"]


def test_a_hundred_thousand_scenes_seed_both_emulators() -> None:
    library = generate_library(100_000, seed=11)
    stash, plex = StashEmulator(), PlexEmulator()
    library.seed(stash, plex)
    assert len(stash.library.scenes) == 100_000
    for scene in random.Random(1).sample(library.scenes, 200):
        assert sorted(set(_mapped_keys(plex, library, scene))) == sorted(scene.rating_keys)
        assert stash.library.scenes[int(scene.stash_id)].files[0].path == scene.stash_paths[0]
