"""The matching decision, without servers: lookups, the fallback and its refusals, outcomes."""

import unicodedata

from plexsync.matching.matcher import (
    FALLBACK,
    OUTSIDE,
    PATH,
    WAITING,
    FileIndex,
    SectionInfo,
    match_file,
    match_scene,
)
from plexsync.matching.paths import PathMap

MOVIES = SectionInfo(1, "movie", "Movies", ("/media/movies",))
WINDOWS = SectionInfo(2, "movie", "Films", (r"D:\Films",))
RULES = PathMap.parse("/data=/media")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def index(*items: tuple[str, list[tuple[str, int | None]]]) -> FileIndex[str]:
    built: FileIndex[str] = FileIndex()
    for target, files in items:
        built.add(target, files)
    return built


def test_exact_path_first():
    found = match_file(index(("a", [("/media/movies/a.mp4", 1)])), [MOVIES], RULES, "/data/movies/a.mp4", 1)
    assert (found.outcome, found.targets) == (PATH, ["a"])


def test_normal_form_differences_match_when_only_one_file_fits():
    plex = index(("cafe", [(nfd("/media/movies/Café.mp4"), 1)]))
    found = match_file(plex, [MOVIES], RULES, "/data/movies/Café.mp4", None)
    assert (found.outcome, found.targets) == (PATH, ["cafe"])


def test_nfc_and_nfd_twins_in_one_folder_stay_two_files():
    plex = index(("nfc", [("/media/movies/Café.mp4", 1)]), ("nfd", [(nfd("/media/movies/Café.mp4"), 2)]))
    assert match_file(plex, [MOVIES], RULES, "/data/movies/Café.mp4", None).targets == ["nfc"]
    assert match_file(plex, [MOVIES], RULES, nfd("/data/movies/Café.mp4"), None).targets == ["nfd"]


def test_windows_plex_paths_match_whatever_the_case():
    plex = index(("x", [(r"D:\Films\Studio\Movie.MP4", 5)]))
    rules = PathMap.parse(r"/data=D:\Films")
    found = match_file(plex, [WINDOWS], rules, "/data/studio/movie.mp4", None)
    assert (found.outcome, found.targets) == (PATH, ["x"])


def test_posix_plex_paths_are_case_sensitive():
    plex = index(("x", [("/media/movies/Movie.mp4", 5)]))
    found = match_file(plex, [MOVIES], RULES, "/data/movies/movie.mp4", None)
    assert (found.outcome, found.targets) == (WAITING, [])


def test_fallback_needs_a_unique_name_and_size():
    plex = index(("a", [("/media/movies/x/video.mp4", 100)]), ("b", [("/media/movies/y/video.mp4", 200)]))
    wrong_rules = PathMap.parse("/data=/elsewhere")
    assert match_file(plex, [MOVIES], wrong_rules, "/data/z/video.mp4", 200).targets == ["b"]
    assert match_file(plex, [MOVIES], wrong_rules, "/data/z/video.mp4", 200).outcome == FALLBACK
    assert match_file(plex, [MOVIES], wrong_rules, "/data/z/video.mp4", 300).targets == []
    assert match_file(plex, [MOVIES], wrong_rules, "/data/z/video.mp4", None).targets == []


def test_two_files_with_the_same_name_and_size_are_never_guessed():
    plex = index(("a", [("/media/movies/x/video.mp4", 100)]), ("b", [("/media/movies/y/video.mp4", 100)]))
    found = match_file(plex, [MOVIES], PathMap.parse("/data=/elsewhere"), "/data/z/video.mp4", 100)
    assert found.targets == []


def test_a_file_inside_a_library_never_takes_its_namesake_even_of_the_same_size():
    """The twin another Stash scene holds: the rules lead to it, so it is that scene's."""
    plex = index(("a", [("/media/movies/x/video.mp4", 100)]))
    found = match_file(plex, [MOVIES], RULES, "/data/movies/y/video.mp4", 100)
    assert (found.outcome, found.targets) == (WAITING, [])
    same = PathMap.parse("")  # no rules: both sides see the same paths
    found = match_file(plex, [MOVIES], same, "/media/movies/y/video.mp4", 100)
    assert (found.outcome, found.targets) == (WAITING, [])


def test_a_file_plex_keeps_where_no_rule_leads_is_found_by_name_and_size():
    """Plex also lists an old folder that no path rule maps to."""
    old = SectionInfo(1, "movie", "Movies", ("/media/movies", "/srv/old-plex"))
    plex = index(("a", [("/srv/old-plex/x/clip.mp4", 100)]))
    found = match_file(plex, [old], RULES, "/data/movies/x/clip.mp4", 100)
    assert (found.outcome, found.targets) == (FALLBACK, ["a"])


def test_waiting_inside_a_section_outside_otherwise():
    plex = index()
    waiting = match_file(plex, [MOVIES], RULES, "/data/movies/new.mp4", 1)
    assert waiting.outcome == WAITING and waiting.sections == (MOVIES,) and waiting.folder == "/media/movies"
    assert match_file(plex, [MOVIES], RULES, "/data/private/x.mp4", 1).outcome == OUTSIDE


def test_one_file_in_two_sections_and_multi_part_items_give_every_item():
    plex = index(("m1", [("/media/movies/shared.mkv", 1)]), ("m2", [("/media/movies/shared.mkv", 1)]))
    assert match_file(plex, [MOVIES], RULES, "/data/movies/shared.mkv", 1).targets == ["m1", "m2"]
    stacked = index(("heat", [("/media/movies/Heat - cd1.avi", 1), ("/media/movies/Heat - cd2.avi", 2)]))
    scene = match_scene(
        stacked, [MOVIES], RULES, [{"path": "/data/movies/Heat - cd1.avi"}, {"path": "/data/movies/Heat - cd2.avi"}]
    )
    assert scene.targets == ["heat"] and scene.outcome == PATH


def test_a_scene_takes_its_best_files_outcome():
    plex = index(("a", [("/media/movies/a.mp4", 1)]))
    scene = match_scene(plex, [MOVIES], RULES, [{"path": "/data/private/b.mp4"}, {"path": "/data/movies/a.mp4"}])
    assert scene.outcome == PATH and scene.targets == ["a"]
    scene = match_scene(plex, [MOVIES], RULES, [{"path": "/data/private/b.mp4"}, {"path": "/data/movies/c.mp4"}])
    assert scene.outcome == WAITING


def test_re_adding_an_item_replaces_its_files():
    plex = index(("a", [("/media/movies/old.mp4", 1)]))
    plex.add("a", [("/media/movies/new.mp4", 1)])
    assert plex.by_path("/media/movies/old.mp4") == []
    assert plex.by_path("/media/movies/new.mp4") == ["a"]
    assert plex.paths_named("/x/old.mp4") == []
    plex.remove("a")
    assert len(plex) == 0 and plex.by_name_and_size("/x/new.mp4", 1) is None
