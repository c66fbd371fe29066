import unicodedata

import pytest

from plexsync.matching.paths import (
    PathMap,
    PathMapError,
    Rule,
    is_under,
    is_windows,
    name_key,
    path_key,
    strip_long_prefix,
    suggest_rule,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_longest_prefix_wins_at_a_folder_boundary():
    rules = PathMap.parse("/data=/media; /data/tv=/shows ;")
    assert rules.to_plex("/data/tv/a.mkv") == "/shows/a.mkv"
    assert rules.to_plex("/data/film/a.mkv") == "/media/film/a.mkv"
    assert rules.to_plex("/database/a.mkv") == "/database/a.mkv"  # not a folder boundary
    assert rules.to_plex("/other/a.mkv") == "/other/a.mkv"


def test_longest_is_counted_in_folders_whatever_the_order_typed():
    rules = PathMap.parse(r"D:\Videos=/media/videos;D:\Videos\TV=/media/tv")
    assert rules.to_plex(r"D:\Videos\TV\Show\e1.mkv") == "/media/tv/Show/e1.mkv"
    assert rules.to_plex(r"D:\Videos\Film\a.mp4") == "/media/videos/Film/a.mp4"


def test_windows_prefixes_and_trailing_separators():
    rules = PathMap.parse("/mnt/media/=D:\\Media\\")
    assert rules.to_plex("/mnt/media/x.mp4") == "D:\\Media\\x.mp4"
    assert rules.to_plex("/mnt/media/sub/x.mp4") == "D:\\Media\\sub\\x.mp4"


def test_windows_stash_to_linux_plex_converts_every_separator():
    rules = PathMap.parse(r"D:\Videos=/media/videos")
    assert rules.to_plex(r"D:\Videos\Studio\a.mp4") == "/media/videos/Studio/a.mp4"
    # Stash on Windows also accepts forward slashes in its library paths
    assert rules.to_plex("D:/Videos/Studio/a.mp4") == "/media/videos/Studio/a.mp4"


@pytest.mark.parametrize("typed", [r"d:\videos", r"D:\VIDEOS\\", "d:/Videos/", r"\\?\D:\Videos"])
def test_windows_prefixes_match_whatever_the_case_or_separator_typed(typed):
    rules = PathMap.parse(f"{typed}=/media/videos/")
    assert rules.to_plex(r"D:\Videos\Studio\a.mp4") == "/media/videos/Studio/a.mp4"


def test_posix_prefixes_are_case_sensitive():
    rules = PathMap.parse("/Data=/media")
    assert rules.to_plex("/data/a.mp4") == "/data/a.mp4"
    assert rules.to_plex("/Data/a.mp4") == "/media/a.mp4"


def test_a_windows_rule_never_applies_to_a_posix_path_and_back():
    rules = PathMap.parse(r"C:\x=/a;/x=D:\b")
    assert rules.to_plex("/c/x/f.mp4") == "/c/x/f.mp4"
    assert rules.to_plex("/x/f.mp4") == r"D:\b\f.mp4"
    assert rules.to_plex(r"C:\x\f.mp4") == "/a/f.mp4"


def test_unc_shares_on_either_side():
    to_linux = PathMap.parse(r"\\NAS\Media=/volume1/media")
    assert to_linux.to_plex(r"\\NAS\Media\Studio\a.mp4") == "/volume1/media/Studio/a.mp4"
    assert to_linux.to_plex(r"\\nas\media\Studio\a.mp4") == "/volume1/media/Studio/a.mp4"
    assert to_linux.to_plex(r"\\NAS\Other\a.mp4") == r"\\NAS\Other\a.mp4"  # another share
    to_unc = PathMap.parse(r"/data=\\NAS\Media\\")
    assert to_unc.to_plex("/data/Studio/a.mp4") == r"\\NAS\Media\Studio\a.mp4"


def test_long_path_prefixes_are_ignored():
    assert strip_long_prefix(r"\\?\D:\Videos\a.mp4") == r"D:\Videos\a.mp4"
    assert strip_long_prefix(r"\\?\UNC\NAS\Media\a.mp4") == r"\\NAS\Media\a.mp4"
    rules = PathMap.parse(r"D:\Videos=/media")
    assert rules.to_plex(r"\\?\D:\Videos\a.mp4") == "/media/a.mp4"
    assert PathMap.parse(r"\\NAS\Media=/m").to_plex(r"\\?\UNC\NAS\Media\a.mp4") == "/m/a.mp4"


def test_prefixes_compare_in_nfc_but_the_rest_keeps_its_characters():
    rules = PathMap.parse("/data/Café=/media/Café")  # typed composed
    stash = nfd("/data/Café/Crème.mp4")  # reported decomposed (macOS, SMB)
    mapped = rules.to_plex(stash)
    assert mapped.startswith("/media/Café/")
    assert mapped.endswith(nfd("Crème.mp4"))  # an NFC twin beside it would be another file


def test_relative_and_root_prefixes():
    assert PathMap.parse("/=/mnt/").to_plex("/a/b.mp4") == "/mnt/a/b.mp4"
    assert PathMap.parse("D:=/d").to_plex(r"D:\a.mp4") == "/d/a.mp4"


def test_empty_map_changes_nothing():
    assert PathMap.parse("").to_plex("/a/b") == "/a/b"
    assert PathMap.parse("").rule_for("/a/b") is None


def test_rule_for_names_the_rule_that_applied():
    rules = PathMap.parse("/data=/media;/data/tv=/shows")
    assert str(rules.rule_for("/data/tv/x")) == "/data/tv=/shows"
    assert str(rules) == "/data/tv=/shows;/data=/media"


@pytest.mark.parametrize("bad", ["/data", "=/media", "/data=", "/a=/b;nonsense"])
def test_malformed_rules_are_refused_with_the_rule_named(bad):
    with pytest.raises(PathMapError, match="stash_prefix=plex_prefix"):
        PathMap.parse(bad)


def test_styles():
    assert is_windows(r"D:\x") and is_windows("d:/x") and is_windows(r"\\NAS\s") and is_windows(r"\\?\D:\x")
    assert not is_windows("/media/x") and not is_windows("relative/x") and not is_windows("/D:/x")


def test_keys_fold_case_only_for_windows_paths():
    assert path_key(r"D:\Videos\A.mp4") == path_key("d:/videos/a.MP4")
    assert path_key(r"\\NAS\Share\A.mp4") == path_key(r"\\?\UNC\nas\share\a.mp4")
    assert path_key("/media/A.mp4") != path_key("/media/a.mp4")
    assert path_key(nfd("/media/Café.mp4")) == path_key("/media/Café.mp4")
    assert path_key("/media//x/") == path_key("/media/x")
    assert name_key(r"D:\x\Café.MP4") == name_key(nfd("/y/café.mp4"))


def test_is_under():
    assert is_under("/media/movies/a.mp4", "/media/movies/")
    assert is_under("/media/movies", "/media/movies")
    assert not is_under("/media/movies2/a.mp4", "/media/movies")
    assert is_under(r"D:\Media\Movies\a.mp4", "d:/media/movies")
    assert not is_under("/media/Movies/a.mp4", "/media/movies")
    assert is_under(nfd("/media/Séries/a.mp4"), "/media/Séries")
    assert not is_under(r"D:\media\a.mp4", "/media")


def test_suggested_rule_replaces_the_differing_prefix():
    rule = suggest_rule(r"D:\Videos\Studio\a.mp4", "/media/videos/Studio/a.mp4")
    assert rule == Rule(r"D:\Videos", "/media/videos")
    assert PathMap.parse(str(rule)).to_plex(r"D:\Videos\Studio\b.mp4") == "/media/videos/Studio/b.mp4"
    assert suggest_rule("/data/X/A.mp4", r"\\NAS\Media\X\A.mp4") == Rule("/data", r"\\NAS\Media")
    assert suggest_rule("/data/a.mp4", "/media/b.mp4") is None
    assert suggest_rule("/a.mp4", "/media/a.mp4") == Rule("/", "/media")
    assert suggest_rule("a.mp4", "/media/a.mp4") is None  # nothing left to replace on the Stash side


def test_reaches_tells_whether_the_rules_could_lead_to_a_plex_path():
    rules = PathMap.parse(r"/data=/media;D:\Videos=/mnt/videos")
    assert rules.reaches("/media/x/a.mp4", "/data/y/a.mp4")
    assert rules.reaches("/mnt/videos/a.mp4", r"D:\Videos\a.mp4")
    assert not rules.reaches("/srv/old/a.mp4", "/data/y/a.mp4")
    assert PathMap.parse("").reaches("/srv/old/a.mp4", "/data/a.mp4")
    assert not PathMap.parse("").reaches("/srv/old/a.mp4", r"D:\a.mp4")
