import pytest

from plexsync.matching.paths import PathMap, PathMapError


def test_longest_prefix_wins_at_a_folder_boundary():
    rules = PathMap.parse("/data=/media; /data/tv=/shows ;")
    assert rules.to_plex("/data/tv/a.mkv") == "/shows/a.mkv"
    assert rules.to_plex("/data/film/a.mkv") == "/media/film/a.mkv"
    assert rules.to_plex("/database/a.mkv") == "/database/a.mkv"  # not a folder boundary
    assert rules.to_plex("/other/a.mkv") == "/other/a.mkv"


def test_windows_prefixes_and_trailing_separators():
    rules = PathMap.parse("/mnt/media/=D:\\Media\\")
    assert rules.to_plex("/mnt/media/x.mp4") == "D:\\Media\\x.mp4"


def test_empty_map_changes_nothing():
    assert PathMap.parse("").to_plex("/a/b") == "/a/b"


@pytest.mark.parametrize("bad", ["/data", "=/media", "/data=", "/a=/b;nonsense"])
def test_malformed_rules_are_refused_with_the_rule_named(bad):
    with pytest.raises(PathMapError, match="stash_prefix=plex_prefix"):
        PathMap.parse(bad)
