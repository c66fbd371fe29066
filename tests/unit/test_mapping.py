from plexsync.sync.mapping import MAX_TEXT, edit_params, file_stem, scene_to_metadata

FULL_SCENE = {
    "id": "12",
    "title": "  Sunset Walk ",
    "details": "Line one\nline two",
    "date": "2021-06-15",
    "files": [{"path": "/data/stash/walks/sunset.mp4", "basename": "sunset.mp4"}],
    "studio": {"name": "Golden Hour"},
    "tags": [{"name": "Outdoor"}, {"name": "outdoor"}, {"name": ""}, {"name": "Beach"}],
    "performers": [{"name": "Ann"}, {"name": "Bo"}],
}


def test_full_scene_maps_every_field():
    meta = scene_to_metadata(FULL_SCENE)
    assert meta.title == "Sunset Walk"
    assert meta.summary == "Line one\nline two"
    assert (meta.originally_available_at, meta.year) == ("2021-06-15", 2021)
    assert meta.studio == "Golden Hour"
    assert meta.genres == ("Outdoor", "Beach")  # case-insensitive duplicates and blanks dropped
    assert meta.actors == ("Ann", "Bo")


def test_title_falls_back_to_file_stem_for_posix_and_windows_paths():
    scene = {"id": "3", "title": "", "files": [{"path": "/x/My Clip.final.mkv"}]}
    assert scene_to_metadata(scene).title == "My Clip.final"
    assert file_stem("C:\\Media\\Films\\Heat - cd1.avi") == "Heat - cd1"


def test_scene_without_metadata_maps_to_empty_values():
    meta = scene_to_metadata({"id": "9", "files": [{"path": "/a/b.mp4"}]})
    assert meta.title == "b"
    assert (meta.summary, meta.studio, meta.genres, meta.actors) == ("", "", (), ())
    assert meta.originally_available_at is None and meta.year is None


def test_invalid_dates_are_dropped_not_sent():
    for bad in ("2021-13-01", "15/06/2021", "2021", "", None, "0099-01-01"):
        meta = scene_to_metadata({"id": "1", "title": "t", "date": bad})
        assert meta.originally_available_at is None, bad


def test_huge_and_control_character_text_is_bounded():
    scene = {
        "id": "1",
        "title": "a\x00b\x07c",
        "details": "x" * 100_000,
        "tags": [{"name": f"t{i}"} for i in range(500)],
    }
    meta = scene_to_metadata(scene)
    assert meta.title == "abc"
    assert len(meta.summary) == MAX_TEXT["summary"] and meta.summary.endswith("…")
    assert len(meta.genres) == 200


def test_unicode_is_kept_verbatim():
    meta = scene_to_metadata({"id": "1", "title": "Cafe\u0301 東京 🎬", "tags": [{"name": "Ünïcödé"}]})
    assert meta.title == "Cafe\u0301 東京 🎬"
    assert meta.genres == ("Ünïcödé",)


def test_edit_params_lock_every_written_field_and_send_whole_lists():
    params = edit_params(scene_to_metadata(FULL_SCENE), lock_poster=True)
    for field in ("title", "summary", "studio", "originallyAvailableAt", "year", "genre", "actor", "thumb"):
        assert params[f"{field}.locked"] == "1", field
    assert params["title.value"] == "Sunset Walk"
    assert params["genre[0].tag.tag"] == "Outdoor" and params["genre[1].tag.tag"] == "Beach"
    assert "genre[2].tag.tag" not in params
    assert params["actor[0].tag.tag"] == "Ann" and params["actor[1].tag.tag"] == "Bo"
    assert "genre[].tag" not in params


def test_empty_lists_are_cleared_explicitly():
    params = edit_params(scene_to_metadata({"id": "1", "title": "t"}), lock_poster=False)
    assert params["genre[].tag"] == "" and params["actor[].tag"] == ""
    assert params["originallyAvailableAt.value"] == "" and params["year.value"] == ""
    assert "thumb.locked" not in params
