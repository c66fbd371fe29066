"""The library's opt-in setups and extras: where a real Stash and a real Plex disagree about one file.

Each is checked through real HTTP, with stashapi and plexapi, because that is
where the product will meet it. What each copies:

- Windows Stash reports ``D:\\...``, UNC ``\\\\NAS\\share\\...`` and ``\\\\?\\``
  paths (../shared/stash-plugins.md "Windows"); a Windows Plex stores
  ``C:\\Media\\...`` in ``Part.file`` (../shared/plex-facts.md, and the
  emulator's ``split_path``), with the library folders as ``<Location path=>``;
- macOS and SMB hand out decomposed (NFD) names while Linux tools write
  composed (NFC) ones, and both servers keep the bytes they were given
  (plex-facts: "verify Part.file exactly");
- a Windows file system is case-insensitive, so Plex's ``Part.file`` can differ
  in case from the path a rule builds (a library folder typed ``c:\\media``);
- the same file has the same size on both sides: Stash ``files { size }``,
  Plex ``<Part size=>`` (both are the file's byte length).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import ntpath
import posixpath
import unicodedata
from collections.abc import Iterator

import pytest
import requests
from plexapi.server import PlexServer
from stashapi.stashapp import StashInterface

from emulators.library import EXTRAS, SETUPS, UNMAPPED_ROOTS, Library, generate_library
from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator
from emulators.stash.images import SCENE_PLACEHOLDER_SVG

TOKEN = "library-token"
ALL = ("nf_differs", "coverless", "twin", "unmapped", "ambiguous")


def _canon(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _canon(v) for k, v in sorted(dataclasses.asdict(value).items())}
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in sorted(value.items())}
    if isinstance(value, set | frozenset):
        return sorted(_canon(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value.hex() if isinstance(value, bytes) else value


def fingerprint(library: Library) -> str:
    parts = [library.scenes, library.plex_entries, library.studios, library.performers, library.tags, library.groups]
    return hashlib.sha256(json.dumps(_canon(parts), ensure_ascii=False).encode()).hexdigest()


def test_the_default_library_is_unchanged() -> None:
    """Existing tests rely on these exact libraries; new variety must stay opt-in."""
    assert fingerprint(generate_library(1000, seed=3)) == (
        "8a278ab81336c62b2e4cedaa389dba188428b515e09ffa4bc8c8fe3df3962a26"
    )
    assert fingerprint(generate_library(200, seed=1)) == (
        "265099c7c0ce3c32c1f58748fe40f8215b81cdbc7ce371668e7676c3673214b7"
    )


def test_setups_and_extras_are_deterministic_and_independent() -> None:
    first = generate_library(300, seed=4, setup="plex_windows", extras=(*ALL, "case_differs"))
    again = generate_library(300, seed=4, setup="plex_windows", extras=(*ALL, "case_differs"))
    assert fingerprint(first) == fingerprint(again)
    alone = generate_library(300, seed=4, extras=["coverless"])
    assert [s.index for s in alone.with_trait("coverless")] == [s.index for s in first.with_trait("coverless")]
    assert {t for s in first.scenes for t in s.traits} >= set(EXTRAS)


def test_bad_setups_and_extras_are_refused() -> None:
    with pytest.raises(ValueError, match="setup must be one of"):
        generate_library(10, setup="macos")
    with pytest.raises(ValueError, match="unknown extras"):
        generate_library(10, extras=["nfc_differs"])
    with pytest.raises(ValueError, match="case_differs needs setup='plex_windows'"):
        generate_library(10, extras=["case_differs"])
    with pytest.raises(ValueError, match="StashEmulator\\(windows=True\\)"):
        generate_library(10, setup="stash_windows").seed(StashEmulator(), PlexEmulator())


class World:
    def __init__(self, library: Library) -> None:
        self.library = library
        self.stash = StashEmulator(windows=library.stash_windows).start()
        self.plex = PlexEmulator(token=TOKEN).start()
        library.seed(self.stash, self.plex)
        self.stash_client = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": self.stash.port})
        self.plex_client = PlexServer(self.plex.url, TOKEN, timeout=10)

    def stash_files(self, scene_id: str) -> list[dict]:
        query = "query($id: ID) { findScene(id: $id) { files { path basename size parent_folder { path } } } }"
        return self.stash_client.call_GQL(query, {"id": scene_id})["findScene"]["files"]

    def plex_parts(self, rating_key: int) -> list:
        return [part for media in self.plex_client.fetchItem(rating_key).media for part in media.parts]

    def stop(self) -> None:
        self.stash.stop()
        self.plex.stop()


@pytest.fixture(scope="module", params=["linux", "stash_windows", "plex_windows"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    extras = (*ALL, "case_differs") if request.param == "plex_windows" else ALL
    built = World(generate_library(300, seed=9, setup=request.param, extras=extras))
    yield built
    built.stop()


def plain(world: World) -> list:
    """Scanned scenes with no disagreement beyond the setup's own."""
    odd = {"nf_differs", "case_differs", "unmapped", "twin", "ambiguous"}
    return [s for s in world.library.scenes if s.scanned and not s.traits & odd]


def test_each_setup_has_its_hosts_paths_and_rules(world: World) -> None:
    """Separators per host; every root kind (drive, UNC, \\\\?\\) present; the rules map plain scenes."""
    library = world.library
    if library.setup == "linux":
        assert library.path_map == "/data/stash=/media/plex"
    else:
        rules = [rule.split("=") for rule in library.path_map.split(";")]
        assert sorted(map(tuple, rules)) == sorted((s, p) for s, p in SETUPS[library.setup].values() if p)
    stash_side = "windows" if library.stash_windows else "posix"
    plex_side = "windows" if library.plex_windows else "posix"
    all_stash = [p for s in library.scenes for p in s.stash_paths]
    all_plex = [p for s in library.scenes for p in s.plex_paths]
    for paths, side in ((all_stash, stash_side), (all_plex, plex_side)):
        if side == "windows":
            assert all("/" not in p for p in paths)
            assert {p[:2] for p in paths} >= {"\\\\"} and any(p.startswith("\\\\?\\") for p in paths)
            assert any(p[1] == ":" for p in paths)
        else:
            assert all(p.startswith("/") and "\\" not in p for p in paths)
    for scene in plain(world):
        for stash_path, plex_path in zip(scene.stash_paths, scene.plex_paths, strict=True):
            assert library.to_plex(stash_path) == plex_path


def test_both_servers_report_the_same_size_and_their_own_paths(world: World) -> None:
    """Stash files { path basename size parent_folder } and Plex Part file/size, over HTTP."""
    library, checked = world.library, 0
    split = ntpath if library.stash_windows else posixpath
    for scene in [s for s in library.scenes if s.scanned][:60]:
        files = world.stash_files(scene.stash_id)
        assert [f["path"] for f in files] == scene.stash_paths
        for found in files:
            assert found["basename"] == split.basename(found["path"])
            assert found["parent_folder"]["path"] == split.dirname(found["path"])
        parts = {part.file: part.size for key in scene.rating_keys for part in world.plex_parts(key)}
        for found, plex_path in zip(files, scene.plex_paths, strict=True):
            assert parts[plex_path] == found["size"]
            checked += 1
    assert checked >= 60


def test_plex_sections_list_their_folders_as_locations(world: World) -> None:
    """plexapi reads <Location path=> children of each section Directory."""
    for section in world.plex_client.library.sections():
        assert section.locations == world.library.plex_locations(section.title)
    movies = world.library.plex_locations("Movies")
    root = UNMAPPED_ROOTS["windows" if world.library.plex_windows else "posix"]
    assert movies[-1] == root


def test_nf_differs_keeps_each_sides_own_bytes(world: World) -> None:
    """The rule's result and Part.file are the same name in different normal forms, so an exact lookup misses."""
    scenes = [s for s in world.library.with_trait("nf_differs") if not s.traits & {"unmapped", "case_differs"}]
    assert len(scenes) >= 5
    differing = 0
    for scene in scenes:
        for stash_path, plex_path in zip(scene.stash_paths, scene.plex_paths, strict=True):
            mapped = world.library.to_plex(stash_path)
            if mapped == plex_path:
                continue  # this file of the scene kept its form
            assert unicodedata.normalize("NFC", mapped) == unicodedata.normalize("NFC", plex_path)
            assert world.stash_files(scene.stash_id)[0]["path"] in scene.stash_paths
            if scene.scanned:
                assert world.plex.find_by_file(mapped) == []
                assert world.plex.find_by_file(plex_path)
                assert plex_path in {p.file for k in scene.rating_keys for p in world.plex_parts(k)}
            differing += 1
    assert differing >= 5


def test_case_differs_only_on_a_windows_plex(world: World) -> None:
    scenes = [s for s in world.library.with_trait("case_differs") if "nf_differs" not in s.traits]
    if not world.library.plex_windows:
        assert scenes == []
        return
    assert len(scenes) >= 5
    for scene in scenes:
        diffs = [(world.library.to_plex(s), p) for s, p in zip(scene.stash_paths, scene.plex_paths, strict=True)]
        assert any(m != p and m.casefold() == p.casefold() for m, p in diffs)
        if scene.scanned:
            assert any(p in {part.file for k in scene.rating_keys for part in world.plex_parts(k)} for _, p in diffs)


def test_twins_share_name_and_size_and_only_one_is_in_plex(world: World) -> None:
    """A name+size guess would give B's metadata to A's item; a partial scan of B's folder brings B in."""
    library = world.library
    twins = library.with_trait("twin")
    assert len(twins) >= 4
    unscanned = [s for s in twins if not s.scanned]
    for b in unscanned:
        (a,) = [s for s in twins if s.scanned and s.files[0]["size"] == b.files[0]["size"] and s is not b]
        split = ntpath if library.stash_windows else posixpath
        assert split.basename(a.stash_paths[0]) == split.basename(b.stash_paths[0])
        assert split.dirname(a.stash_paths[0]) != split.dirname(b.stash_paths[0])
        assert b.rating_keys == [] and world.plex.find_by_file(b.plex_paths[0]) == []
        (a_part,) = world.plex_parts(a.rating_keys[0])
        assert a_part.size == world.stash_files(b.stash_id)[0]["size"]
    assert unscanned


def test_unmapped_files_are_in_plex_where_no_rule_leads(world: World) -> None:
    library = world.library
    scenes = [s for s in library.with_trait("unmapped") if "ambiguous" not in s.traits]
    assert len(scenes) >= 3
    root = UNMAPPED_ROOTS["windows" if library.plex_windows else "posix"]
    for scene in scenes:
        (stash_path,), (plex_path,) = scene.stash_paths, scene.plex_paths
        assert plex_path.startswith(root)
        assert world.plex.find_by_file(library.to_plex(stash_path)) == []
        (part,) = world.plex_parts(scene.rating_keys[0])
        assert part.file == plex_path and part.size == scene.files[0]["size"]


def test_coverless_scenes_serve_stashs_placeholder(world: World) -> None:
    scenes = world.library.with_trait("coverless")
    assert scenes
    for scene in scenes[:5]:
        query = "query($id: ID) { findScene(id: $id) { paths { screenshot } } }"
        url = world.stash_client.call_GQL(query, {"id": scene.stash_id})["findScene"]["paths"]["screenshot"]
        answer = requests.get(url, timeout=5)
        assert (answer.status_code, answer.headers["Content-Type"]) == (200, "image/svg+xml")
        assert answer.content == SCENE_PLACEHOLDER_SVG
    covered = next(s for s in world.library.scenes if "coverless" not in s.traits)
    assert world.stash.screenshot(covered.stash_id).startswith(b"\x89PNG")


def test_ambiguous_files_have_a_stray_copy_of_the_same_name_and_size(world: World) -> None:
    """Two Plex items fit a name+size guess for one scene; only the path (which no rule gives) decides."""
    library = world.library
    scenes = library.with_trait("ambiguous")
    assert scenes and all("unmapped" in s.traits for s in scenes)
    split = ntpath if library.plex_windows else posixpath
    for scene in scenes:
        (plex_path,), size = scene.plex_paths, scene.files[0]["size"]
        copies = [p for p, n in library.stray_plex_files if split.basename(p) == split.basename(plex_path)]
        assert len(copies) == 1 and copies[0] != plex_path
        (copy_key,) = world.plex.find_by_file(copies[0])
        assert copy_key not in scene.rating_keys
        sizes = {world.plex_parts(k)[0].size for k in (*scene.rating_keys, copy_key)}
        assert sizes == {size}
        assert world.plex.find_by_file(library.to_plex(scene.stash_paths[0])) == []
