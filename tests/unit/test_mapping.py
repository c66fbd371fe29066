"""The pure mapping, field group by field group, with the odd input real Stash libraries hold."""

from __future__ import annotations

import pytest

from plexsync.config import SyncSettings
from plexsync.sync.mapping import (
    EPISODE,
    FIELDS,
    MAX_TAGS,
    MAX_TEXT,
    MOVIE,
    FieldPolicy,
    canonical_digest,
    desired_state,
    edit_params,
    field_policy,
    file_stem,
    parse_date,
    performer_photo_url,
    plex_rating,
    seen_in_plex,
)

FULL_SCENE = {
    "id": "12",
    "title": "  Sunset Walk ",
    "code": "GH-0042",
    "details": "Line one\nline two",
    "director": "Dee Rector",
    "date": "2021-06-15",
    "rating100": 85,
    "files": [{"path": "/data/stash/walks/sunset.mp4", "basename": "sunset.mp4"}],
    "studio": {"name": "Golden Hour", "parent_studio": {"name": "Sunrise Media"}},
    "tags": [{"id": "1", "name": "Outdoor"}, {"id": "2", "name": "outdoor"}, {"name": ""}, {"name": "Beach"}],
    "performers": [
        {"id": "7", "name": "Ann", "image_path": "http://stash:9999/performer/7/image?t=1700000000"},
        {"id": "8", "name": "Bo", "image_path": "http://stash:9999/performer/8/image?t=1700000001&default=true"},
    ],
    "groups": [{"group": {"name": "Walks, Vol. 1"}}],
}


def groups(scene, **policy):
    return desired_state(scene, FieldPolicy(**policy)).groups


def params(scene, **policy):
    return edit_params(groups(scene, **policy).values())


def test_the_full_scene_maps_into_every_group():
    state = desired_state(FULL_SCENE)
    assert set(state.groups) == {
        "title",
        "summary",
        "date",
        "studio",
        "code",
        "director",
        "genres",
        "actors",
        "collections",
        "rating",
    }
    sent = edit_params(state.groups.values())
    assert sent["title.value"] == "Sunset Walk" and sent["title.locked"] == "1"
    assert sent["summary.value"] == "Line one\nline two"
    assert (sent["originallyAvailableAt.value"], sent["year.value"]) == ("2021-06-15", "2021")
    assert sent["studio.value"] == "Golden Hour"
    assert sent["originalTitle.value"] == "GH-0042"
    assert sent["director[0].tag.tag"] == "Dee Rector"
    assert [sent["genre[0].tag.tag"], sent["genre[1].tag.tag"]] == ["Outdoor", "Beach"]
    assert "genre[2].tag.tag" not in sent
    assert [sent["actor[0].tag.tag"], sent["actor[1].tag.tag"]] == ["Ann", "Bo"]
    assert sent["collection[0].tag.tag"] == "Walks, Vol. 1"
    assert sent["collection[1].tag.tag"] == "Golden Hour"  # the studio collection, no prefix by default
    assert not [key for key in sent if key.startswith("label")]  # no tag chosen as a label: Plex's stay
    assert state.rating == 8.5 and state.groups["rating"].params == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-06-15", ("2021-06-15", 2021)),
        ("2021", (None, 2021)),
        ("2021-05", (None, 2021)),
        ("2020-02-29", ("2020-02-29", 2020)),
        ("2021-02-29", (None, None)),
        ("2021-04-31", (None, None)),
        ("2021-13-01", (None, None)),
        ("15/06/2021", (None, None)),
        ("0099-01-01", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
        (" 2021-06-15 ", ("2021-06-15", 2021)),
    ],
)
def test_dates_full_partial_and_invalid(raw, expected):
    assert parse_date(raw) == expected


def test_no_date_clears_both_fields_and_partial_dates_write_the_year():
    assert params({"id": "1", "title": "t"})["originallyAvailableAt.value"] == ""
    assert params({"id": "1", "title": "t"})["year.value"] == ""
    partial = params({"id": "1", "title": "t", "date": "2021-05"})
    assert (partial["originallyAvailableAt.value"], partial["year.value"]) == ("", "2021")


def test_title_falls_back_to_the_file_stem_for_posix_and_windows_paths():
    assert desired_state({"id": "3", "title": "", "files": [{"path": "/x/My Clip.final.mkv"}]}).title == "My Clip.final"
    assert desired_state({"id": "3", "files": [{"path": "D:\\Clips\\Heat - cd1.avi"}]}).title == "Heat - cd1"
    assert file_stem("C:\\Media\\Films\\Heat - cd1.avi") == "Heat - cd1"
    assert desired_state({"id": "4"}).title == "Scene 4"


def test_details_keep_html_and_line_breaks_verbatim_and_long_details_are_cut():
    html = "<p>First &amp; <b>bold</b></p>\r\n<br/>Second line"
    assert params({"id": "1", "details": html})["summary.value"] == html.replace("\r\n", "\r\n")
    long = params({"id": "1", "details": "x" * 10_000})["summary.value"]
    assert long == "x" * 10_000  # exactly the limit: kept whole
    longer = params({"id": "1", "details": "y" * 10_001})["summary.value"]
    assert len(longer) == MAX_TEXT["summary"] and longer.endswith("…")


def test_emoji_right_to_left_and_combining_text_is_kept_verbatim():
    scene = {"id": "1", "title": "Cafe\u0301 東京 🎬", "details": "שלום עולם ‏مرحبا", "tags": [{"name": "Ünïcödé"}]}
    sent = params(scene)
    assert sent["title.value"] == "Cafe\u0301 東京 🎬"
    assert sent["summary.value"] == "שלום עולם ‏مرحبا"
    assert sent["genre[0].tag.tag"] == "Ünïcödé"


def test_control_characters_are_removed():
    assert params({"id": "1", "title": "a\x00b\x07c\x1b"})["title.value"] == "abc"


def test_500_tags_are_capped_and_tags_differing_only_by_case_are_one():
    scene = {"id": "1", "tags": [{"name": f"t{i}"} for i in range(500)] + [{"name": "T1"}, {"name": "t1"}]}
    genres = groups(scene)["genres"].value["tags"]
    assert len(genres) == MAX_TAGS and genres[:2] == ["t0", "t1"]
    assert len(groups(scene, max_genres=5)["genres"].value["tags"]) == 5
    assert groups(scene, max_genres=0)["genres"].params == {"genre[].tag": "", "genre.locked": "1"}
    assert groups({"id": "1", "tags": [{"name": "Beach"}, {"name": "BEACH"}]})["genres"].value["tags"] == ["Beach"]


def test_tag_include_and_exclude_lists_ignore_case():
    scene = {"id": "1", "tags": [{"name": n} for n in ("Beach", "Outdoor", "Night", "4K")]}
    assert groups(scene, genre_include=("beach", "NIGHT"))["genres"].value["tags"] == ["Beach", "Night"]
    assert groups(scene, genre_exclude=("4k",))["genres"].value["tags"] == ["Beach", "Outdoor", "Night"]
    both = groups(scene, genre_include=("Beach", "Night"), genre_exclude=("night",))
    assert both["genres"].value["tags"] == ["Beach"]


def test_chosen_tags_become_labels_and_collections():
    scene = {"id": "1", "tags": [{"name": "Favourite"}, {"name": "Series A"}, {"name": "Beach"}]}
    chosen = groups(scene, label_tags=("favourite",), collection_tags=("series a",))
    assert chosen["labels"].value["tags"] == ["Favourite"]
    assert chosen["collections"].value["tags"] == ["Series A"]
    assert chosen["genres"].value["tags"] == ["Favourite", "Series A", "Beach"]


def test_studio_collection_with_prefix_parent_and_without_a_parent():
    assert groups(FULL_SCENE, studio_collection_prefix="Studio:")["collections"].value["tags"] == [
        "Walks, Vol. 1",
        "Studio: Golden Hour",
    ]
    with_parent = groups(FULL_SCENE, studio_collection_parent=True)["collections"].value["tags"]
    assert with_parent == ["Walks, Vol. 1", "Golden Hour", "Sunrise Media"]
    orphan = {"id": "1", "studio": {"name": "Lone", "parent_studio": None}}
    assert groups(orphan, studio_collection_parent=True)["collections"].value["tags"] == ["Lone"]
    assert groups({"id": "1", "studio": None})["studio"].params["studio.value"] == ""
    assert groups(FULL_SCENE, skip=frozenset({"studio_collection"}))["collections"].value["tags"] == ["Walks, Vol. 1"]
    only_studio = groups(FULL_SCENE, skip=frozenset({"collections"}))["collections"].value["tags"]
    assert only_studio == ["Golden Hour"]
    assert "collections" not in groups(FULL_SCENE, skip=frozenset({"collections", "studio_collection"}))


def test_a_switched_off_field_is_not_in_the_state_at_all():
    for name in FIELDS:
        state = desired_state(FULL_SCENE, FieldPolicy(skip=frozenset({name})))
        if name in ("poster", "background"):
            assert getattr(state, name) is False
        elif name not in ("collections", "studio_collection"):  # one Plex list: tested above
            assert name not in state.groups, name


def test_unlocked_policy_unlocks_what_it_writes():
    sent = params(FULL_SCENE, lock=False)
    assert {value for key, value in sent.items() if key.endswith(".locked")} == {"0"}
    assert edit_params([], lock_poster=True, lock_art=True) == {"thumb.locked": "1", "art.locked": "1"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(85, 8.5), (100, 10.0), (1, 0.1), (0, 0.0), (None, None), (150, 10.0), (-5, 0.0), ("x", None), (True, None)],
)
def test_rating100_becomes_plex_s_0_to_10(raw, expected):
    assert plex_rating(raw) == expected


def test_no_stash_rating_writes_no_rating():
    assert "rating" not in groups({"id": "1", "rating100": None})
    assert "rating" not in groups({"id": "1"})


def test_the_rating_digest_is_the_value_alone():
    """plexsync.state.written.note_rating relies on it."""
    group = groups({"id": "1", "rating100": 70})["rating"]
    assert group.digest == group.seen_digest == canonical_digest(7.0)


def test_director_empty_and_set():
    assert groups({"id": "1", "director": ""})["director"].params["director[].tag"] == ""
    assert groups({"id": "1", "director": " Ann "})["director"].params["director[0].tag.tag"] == "Ann"


def test_content_rating_and_sort_title_only_when_set():
    assert "content_rating" not in groups(FULL_SCENE) and "sort_title" not in groups(FULL_SCENE)
    assert params(FULL_SCENE, content_rating="X")["contentRating.value"] == "X"
    sent = params(FULL_SCENE, sort_title="{studio} {date} {code}")
    assert sent["titleSort.value"] == "Golden Hour 2021-06-15 GH-0042"
    assert params({"id": "1", "title": "t"}, sort_title="{code} {title}")["titleSort.value"] == "t"


def test_performers_without_images_get_no_photo_and_photos_never_carry_a_stash_address():
    assert "actor[0].tagging.thumb" not in params(FULL_SCENE)  # no photo address set: no photos
    sent = params(FULL_SCENE, performer_photos="https://photos.example.lan/stash")
    assert sent["actor[0].tagging.thumb"] == "https://photos.example.lan/stash/performer/7/image?t=1700000000"
    assert "actor[1].tagging.thumb" not in sent  # Bo has only Stash's placeholder
    assert performer_photo_url("http://p", {"id": "9", "name": "No path"}) is None
    assert performer_photo_url("http://p", {"id": "9", "image_path": "http://s/performer/9/image"}) == (
        "http://p/performer/9/image"
    )
    assert performer_photo_url("http://p", {"id": "../x", "image_path": "http://s/performer/9/image"}) is None


def test_the_digest_changes_with_the_value_and_only_with_it():
    first = groups(FULL_SCENE)
    again = groups(dict(FULL_SCENE))
    assert {n: g.digest for n, g in first.items()} == {n: g.digest for n, g in again.items()}
    changed = groups({**FULL_SCENE, "title": "Other"})
    assert [n for n in first if first[n].digest != changed[n].digest] == ["title"]
    unlocked = groups(FULL_SCENE, lock=False)
    assert first["title"].digest != unlocked["title"].digest  # the lock is part of what is sent


def test_what_plex_shows_reads_back_as_what_was_written():
    state = desired_state(FULL_SCENE, FieldPolicy(sort_title="{code}", content_rating="X"))
    shown = {
        "title": "Sunset Walk",
        "titleSort": "GH-0042",
        "summary": "Line one\nline two",
        "studio": "Golden Hour",
        "originalTitle": "GH-0042",
        "contentRating": "X",
        "originallyAvailableAt": "2021-06-15",
        "year": "2021",
        "userRating": "8.5",
        "director": ["Dee Rector"],
        "genre": ["Beach", "Outdoor"],  # Plex's own order
        "actor": ["Ann", "Bo"],
        "collection": ["Golden Hour", "Walks, Vol. 1"],
    }
    for name, group in state.groups.items():
        assert canonical_digest(seen_in_plex(name, shown)) == group.seen_digest, name
    assert seen_in_plex("title", {**shown, "title": "Edited in Plex"}) != state.groups["title"].seen


def test_the_policy_comes_from_the_settings():
    settings = SyncSettings.resolve(
        {
            "plex_url": "http://plex:32400",
            "plex_token": "t0k3n",
            "skip_fields": "rating, Poster",
            "lock_fields": False,
            "genre_exclude": "a,b",
            "max_genres": 3,
            "performer_photos": "http://photos:8080",
        },
        environ={},
    )
    policy = field_policy(settings)
    assert policy.skip == {"rating", "poster"} and policy.lock is False
    assert policy.genre_exclude == ("a", "b") and policy.max_genres == 3
    assert policy.performer_photos == "http://photos:8080"


def test_an_episode_gets_its_own_fields_with_tags_and_code_as_labels_and_studio_as_collection():
    """A Plex episode has no genre, studio or original title (plexapi's EpisodeEditMixins)."""
    state = desired_state(FULL_SCENE, FieldPolicy(), EPISODE)
    assert not {"genres", "studio", "code"} & set(state.groups)
    sent = edit_params(state.groups.values())
    assert not [k for k in sent if k.startswith(("genre", "studio", "originalTitle"))]
    assert state.groups["labels"].value["tags"] == ["Outdoor", "Beach", "GH-0042"]
    assert state.groups["collections"].value["tags"] == ["Walks, Vol. 1", "Golden Hour"]
    assert {"title", "summary", "date", "director", "actors", "rating"} <= set(state.groups)
    assert desired_state(FULL_SCENE, FieldPolicy(), MOVIE).groups == desired_state(FULL_SCENE).groups


def test_an_episodes_labels_and_collections_follow_the_switches_and_settings():
    def labels(**policy):
        group = desired_state(FULL_SCENE, FieldPolicy(**policy), EPISODE).groups.get("labels")
        return None if group is None else group.value["tags"]

    def collections(**policy):
        group = desired_state(FULL_SCENE, FieldPolicy(**policy), EPISODE).groups.get("collections")
        return None if group is None else group.value["tags"]

    assert labels(skip=frozenset({"code"})) == ["Outdoor", "Beach"]
    assert labels(skip=frozenset({"genres"})) == ["GH-0042"]
    assert labels(skip=frozenset({"genres", "code"})) is None  # labels left alone
    assert labels(skip=frozenset({"genres", "code"}), label_tags=("beach",)) == ["Beach"]
    assert labels(genre_exclude=("outdoor",), label_tags=("outdoor",)) == ["Beach", "GH-0042", "Outdoor"]
    assert collections(skip=frozenset({"studio"})) == ["Walks, Vol. 1", "Golden Hour"]  # studio_collection still
    assert collections(skip=frozenset({"studio", "studio_collection"})) == ["Walks, Vol. 1"]
    assert collections(skip=frozenset({"studio_collection", "collections"})) == ["Golden Hour"]
    assert collections(skip=frozenset({"studio", "studio_collection", "collections"})) is None
    prefixed = collections(studio_collection_prefix="Studio:", studio_collection_parent=True)
    assert prefixed == ["Walks, Vol. 1", "Studio: Golden Hour", "Studio: Sunrise Media"]
