"""Issue #18, part 7: a scene in a TV library, written as Plex shows an episode.

A Plex episode has title, sort title, summary, date, content rating, rating,
collections, directors, writers, labels and cast, and no genre, studio or original
title (plexapi 4.18 ``mixins/__init__.py`` ``EpisodeEditMixins``; ``video.py``
``Episode``; ../shared/plex-facts.md). The Plex emulator drops what an episode does
not hold, answering 200, and lists it in ``ignored_edits`` (tests/emulators/
test_plex_episodes.py). PlexSync sends an episode its own fields only, and puts the
scene's tags and studio code into its labels and its studio into its collections
(docs/fields.md, "Episodes").
"""

from __future__ import annotations

from emulators.stash import images
from tests.integration.conftest import World
from tests.integration.test_metadata import synced, writes
from tests.support import wait_until

SHOW_FILE = "shows/Walks/Season 01/Walks - S01E02.mp4"


def _tv_scene(world: World, *also: str, **fields) -> tuple[str, int]:
    """A scene whose file is an episode in Plex (``also``: more files, relative to the roots)."""
    shows = world.plex.add_section(title="TV Shows", kind="show", locations=["/media/plex/shows"])
    episode = world.plex.add_episode(shows, "Walks", 1, 2, [f"/media/plex/{SHOW_FILE}"])
    files = [{"path": f"/data/stash/{path}", "size": 1000, "duration": 60.0} for path in (SHOW_FILE, *also)]
    return world.stash.add_scene(files=files, **fields), episode


def _full_fields(world: World) -> dict:
    studio = world.stash.add_studio("Golden Hour", parent_id=world.stash.add_studio("Sunrise Media"))
    return {
        "title": "Sunset Walk",
        "code": "GH-0042",
        "details": "A walk along the beach.",
        "director": "Dee Rector",
        "date": "2021-06-15",
        "rating100": 85,
        "studio_id": studio,
        "tag_ids": [world.stash.add_tag(n) for n in ("Beach", "Favourite")],
        "performer_ids": [world.stash.add_performer("Ann Example", image=images.png("ann", images.PORTRAIT_SIZE))],
        "groups": ((world.stash.add_group("Walks, Vol. 1"), 1),),
    }


def test_an_episode_shows_the_scene_with_tags_and_code_as_labels_and_studio_as_collection(world: World):
    scene_id, episode = _tv_scene(world, **_full_fields(world))
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)

    item = world.plex.item(episode)
    assert (item.type, item.title, item.summary) == ("episode", "Sunset Walk", "A walk along the beach.")
    assert (item.originally_available_at, item.year) == ("2021-06-15", 2021)
    assert item.labels == ["Beach", "Favourite", "GH-0042"]
    assert item.collections == ["Walks, Vol. 1", "Golden Hour"]
    assert (item.directors, item.actors, item.user_rating) == (["Dee Rector"], ["Ann Example"], 8.5)
    assert item.poster == world.stash.screenshot(scene_id)
    assert {"title", "summary", "originallyAvailableAt", "label", "collection", "director", "actor"} <= item.locked
    assert world.plex.ignored_edits == []  # nothing sent that an episode cannot hold
    edit = next(r for r in writes(world) if r.method == "PUT" and r.path.endswith("/all"))
    assert edit.arg("type") == "4"
    assert world.dead_letters() == []


def test_one_scene_in_a_movie_and_a_tv_library_gets_each_its_own_fields(world: World):
    scene_id, episode = _tv_scene(world, "movies/Sunset Walk.mp4", **_full_fields(world))
    movie = world.plex.add_movie(world.section_id, files=["/media/plex/movies/Sunset Walk.mp4"])
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)

    film, show = world.plex.item(movie), world.plex.item(episode)
    assert (film.genres, film.studio, film.original_title) == (["Beach", "Favourite"], "Golden Hour", "GH-0042")
    assert film.labels == [] and show.labels == ["Beach", "Favourite", "GH-0042"]
    assert (show.genres, show.studio, show.original_title) == ([], "", "")
    assert film.title == show.title == "Sunset Walk"
    assert world.plex.ignored_edits == []


def test_switched_off_genres_studio_and_code_leave_an_episodes_labels_and_collections_alone(world: World):
    world.configure_plugin(skip_fields="genres,studio,code,studio_collection,collections")
    scene_id, episode = _tv_scene(world, **_full_fields(world))
    with world.plex.library.lock:
        item = world.plex.library.item(episode)
        item.tags["label"] = [world.plex.library._tag_from_spec("label", "Kids OK")]
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: world.plex.item(episode).title == "Sunset Walk", message="the episode synced")
    synced(world, 1)

    item = world.plex.item(episode)
    assert (item.labels, item.collections) == (["Kids OK"], [])
    edit = next(r for r in writes(world) if r.method == "PUT" and r.path.endswith("/all"))
    assert not [k for k, _ in edit.query if k.startswith(("label", "collection", "genre", "studio", "originalTitle"))]


def test_an_episodes_resume_point_and_rating_are_copied_from_plex(world: World):
    """The copy from Plex finds items whose view state or rating moved with a
    filtered listing; on a show section's episodes the field carries the
    ``episode.`` prefix, as plexapi sends it (../shared/plex-facts.md). Without it
    the emulator reads the show's fields, which no play moves."""
    from tests.integration.test_playback import copy_from_plex

    scene_id, episode = _tv_scene(world, title="Sunset Walk")
    world.start_consumer()
    world.plex.partial_play(episode, 125_500)
    world.plex.rate(episode, 8.0)

    copy_from_plex(world)

    found = world.stash.scene(scene_id)
    assert (found["resume_time"], found["rating100"]) == (125.5, 80)
