"""Issue #18: the copy from Plex on real servers: every kind of history entry,
marks as played, Stash's own resume points, ratings changed on both sides, other
accounts' plays, and rating keys Plex gives to new items.

What the real servers do (sources in tests/emulators/test_plex_way_back.py):
history holds music, photo and clip plays beside movies and episodes, in one
paging; a mark as played writes history before PMS 1.40 (one entry per episode of
a show or season) and none since, and on every version raises ``viewCount``,
clears ``viewOffset`` and moves ``lastViewedAt``; view state is per account (the
token's is the owner's) and per guid; rating keys are SQLite rowids that a new
item can inherit. Stash (stashapp/stash ``ui/v2.5/src/components/ScenePlayer/
track-activity.ts``): its player saves the resume point and *adds* the time
played (``sceneSaveActivity``) every few seconds and adds a play
(``sceneAddPlay``) once a session passed the minimum play percent; neither
moves ``updated_at``, and Stash keeps no date for the resume point.
"""

from __future__ import annotations

import time

import requests

from tests.integration.conftest import PLEX_ROOT, STASH_API_KEY, STASH_ROOT, World
from tests.integration.test_playback import copy_from_plex, rate_in_stash, scene
from tests.support import wait_until


def stash_mutation(world: World, query: str, variables: dict) -> dict:
    answer = requests.post(
        world.stash.graphql_url,
        json={"query": query, "variables": variables},
        headers={"ApiKey": STASH_API_KEY},
        timeout=10,
    )
    assert "errors" not in answer.json(), answer.text
    return answer.json()["data"]


def watch_in_stash(world: World, scene_id: str, at: int, resume: float, played: float) -> None:
    """What Stash's own player sends: a play at the session's start, then the resume point and time played."""
    stash_mutation(
        world,
        "mutation($id: ID!, $t: [Timestamp!]) { sceneAddPlay(id: $id, times: $t) { count } }",
        {"id": scene_id, "t": [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))]},
    )
    stash_mutation(
        world,
        "mutation($id: ID!, $r: Float, $d: Float) { sceneSaveActivity(id: $id, resume_time: $r, playDuration: $d) }",
        {"id": scene_id, "r": resume, "d": played},
    )


def edit_title_in_stash(world: World, scene_id: str, title: str) -> None:
    stash_mutation(
        world,
        "mutation($in: SceneUpdateInput!) { sceneUpdate(input: $in) { id } }",
        {"in": {"id": scene_id, "title": title}},
    )


# -- part 2: every kind of history entry ------------------------------------------------
def test_600_recent_track_plays_in_front_of_3_video_views_give_3_plays(shared_world: World) -> None:
    """Newest first, the first page (500 entries) holds only ``<Track>`` entries: a
    reader that moves on by the ``<Video>`` entries of a page stops there. A clip
    (an extra in the movie section) is no movie: its view counts for no scene."""
    world = shared_world
    scenes = [world.add_scene(f"film-{n}") for n in range(3)]
    trailer_scene, trailer_rk = world.add_scene("film-0-trailer")
    world.plex.delete_item(trailer_rk)  # the trailer is an extra of film-0, not a movie of its own
    trailer = world.plex.add_clip(scenes[0][1], [f"{PLEX_ROOT}/movies/film-0-trailer.mp4"])
    music = world.plex.add_section("Music", "artist", [f"{PLEX_ROOT}/music"])
    tracks = [world.plex.add_track(music, "Band", "Album", n, [f"{PLEX_ROOT}/music/{n:03d}.flac"]) for n in range(20)]
    now = int(time.time())
    for n, (_, rating_key) in enumerate(scenes):
        world.plex.play(rating_key, at=now - 7200 + n)
    world.plex.play(trailer, at=now - 7000)
    for n in range(600):
        world.plex.play(tracks[n % 20], at=now - 3600 + n)
    world.start_consumer()

    copy_from_plex(world)

    assert [scene(world, scene_id)["play_count"] for scene_id, _ in scenes] == [1, 1, 1]
    assert scene(world, trailer_scene)["play_count"] == 0
    assert "map to no Stash scene" not in world.logs()

    # more music, then one more view: read, and the older ones stay counted once
    for n in range(600):
        world.plex.play(tracks[n % 20], at=now - 1200 + n)
    world.plex.play(scenes[1][1], at=now - 1300)
    copy_from_plex(world)
    assert [scene(world, scene_id)["play_count"] for scene_id, _ in scenes] == [1, 2, 1]


# -- part 3: marks, resume points, durations -----------------------------------------------
def _marked(world: World, **settings: str) -> tuple[str, int]:
    """A scene whose Plex item the copy has seen (a resume point), then marked as played in Plex."""
    if settings:
        world.configure_plugin(**settings)
    scene_id, rating_key = world.add_scene("marked")
    world.start_consumer()
    world.plex.partial_play(rating_key, 30_000, at=int(time.time()) - 600)
    copy_from_plex(world)
    assert (scene(world, scene_id)["resume_time"], scene(world, scene_id)["play_duration"]) == (30.0, 30.0)
    world.plex.mark_played(rating_key)
    return scene_id, rating_key


def test_a_mark_as_played_counts_one_play_and_no_play_time(shared_world: World) -> None:
    world = shared_world
    scene_id, _ = _marked(world)
    copy_from_plex(world)
    read = scene(world, scene_id)
    assert (read["play_count"], read["resume_time"], read["play_duration"]) == (1, 0.0, 30.0)
    copy_from_plex(world)
    assert scene(world, scene_id)["play_count"] == 1


def test_a_mark_as_played_counts_no_play_when_set_so(world: World) -> None:
    scene_id, _ = _marked(world, playback_marks="none")
    copy_from_plex(world)
    read = scene(world, scene_id)
    assert (read["play_count"], read["resume_time"], read["play_duration"]) == (0, 0.0, 30.0)


def test_a_mark_on_a_server_before_1_40_counts_once_though_it_is_in_the_history(old_plex_world: World) -> None:
    """Before PMS 1.40 the mark writes a history entry too: one play, not one for the
    entry and one for the raised ``viewCount``. Nothing in that entry tells it from
    a view (the spec's history fields: accountID, deviceID, viewedAt, ...; plexapi
    keeps the same), so its time counts as a view's: the rest of the item."""
    world = old_plex_world
    scene_id, _ = _marked(world)
    assert len(world.plex.library.history) == 1
    copy_from_plex(world)
    read = scene(world, scene_id)
    assert (read["play_count"], read["resume_time"]) == (1, 0.0)
    copy_from_plex(world)
    assert scene(world, scene_id)["play_count"] == 1


def test_a_season_marked_on_a_server_before_1_40_counts_as_set(old_plex_world: World) -> None:
    """A season marked as played writes one history entry per episode, all at one
    second (before 1.40): no one watches three episodes to their end in one second,
    so PlexSync tells these marks from views, and "none" counts none of them."""
    world = old_plex_world
    world.configure_plugin(playback_marks="none")
    shows = world.plex.add_section("TV", "show", [f"{PLEX_ROOT}/shows"])
    episodes = []
    for n in (1, 2, 3):
        relative = f"shows/Show/Season 01/Show - S01E0{n}.mkv"
        scene_id = world.stash.add_scene(files=({"path": f"{STASH_ROOT}/{relative}", "size": 10, "duration": 60.0},))
        episodes.append((scene_id, world.plex.add_episode(shows, "Show", 1, n, [f"{PLEX_ROOT}/{relative}"])))
    world.start_consumer()
    copy_from_plex(world)  # the first copy: nothing played yet
    world.plex.play(episodes[0][1], at=int(time.time()) - 900)  # watched: a real view
    copy_from_plex(world)
    season = world.plex.library.item(episodes[0][1]).parent_key
    assert len(world.plex.mark_played(season)) == 3
    copy_from_plex(world)
    assert [scene(world, s)["play_count"] for s, _ in episodes] == [1, 0, 0]
    assert [scene(world, s)["play_duration"] for s, _ in episodes] == [3600.0, 0.0, 0.0]


def test_the_first_copy_leaves_a_newer_stash_resume_point_alone(shared_world: World) -> None:
    """Stopped in Plex an hour ago, watched in Stash's own player since: Stash's
    resume point stays (the 300 s watched in Plex still add to the play time). A
    movie finished in Plex long ago does not reset a resume point Stash set later
    either."""
    world = shared_world
    (stopped, stopped_rk), (finished, finished_rk) = world.add_scene("stopped"), world.add_scene("finished")
    now = int(time.time())
    world.plex.partial_play(stopped_rk, 300_000, at=now - 3600)
    world.plex.play(finished_rk, at=now - 86400)
    watch_in_stash(world, stopped, now - 600, resume=500.0, played=120.0)
    watch_in_stash(world, finished, now - 600, resume=700.0, played=60.0)
    world.start_consumer()

    copy_from_plex(world)

    assert (scene(world, stopped)["resume_time"], scene(world, stopped)["play_duration"]) == (500.0, 420.0)
    assert (scene(world, finished)["resume_time"], scene(world, finished)["play_count"]) == (700.0, 2)

    # later copies: a newer stop in Plex wins again, an older one never
    later = int(time.time())
    world.plex.partial_play(stopped_rk, 900_000, at=later + 5)
    copy_from_plex(world)
    assert scene(world, stopped)["resume_time"] == 900.0
    watch_in_stash(world, stopped, later + 20, resume=950.0, played=50.0)
    world.plex.partial_play(stopped_rk, 920_000, at=later + 10)  # reported late: stopped before Stash's session
    copy_from_plex(world)
    assert scene(world, stopped)["resume_time"] == 950.0


# -- part 4: ratings --------------------------------------------------------------------
def _rated_world(world: World, policy: str | None) -> tuple[str, int]:
    """A scene rated 60 in Stash, synced into Plex (6.0), then the worker stops."""
    if policy is not None:
        world.configure_plugin(rating_policy=policy)
    scene_id, rating_key = world.add_scene("rated", title="Rated", rating100=60)
    consumer = world.start_consumer()
    world.host.attach()
    world.host.run_task("Sync all scenes")
    wait_until(lambda: world.plex.item(rating_key).user_rating == 6.0 and world.queued() == 0, message="synced")
    consumer.kill()
    return scene_id, rating_key


def _both_changed(world: World, scene_id: str, rating_key: int, plex_first: bool) -> None:
    """While no worker runs, Plex's rating becomes 8.0 and Stash's 30, in this order or the other."""
    if plex_first:
        world.plex.rate(rating_key, 8.0, at=int(time.time()) - 3600)
        rate_in_stash(world, scene_id, 30)
    else:
        rate_in_stash(world, scene_id, 30)
        world.plex.rate(rating_key, 8.0, at=int(time.time()) + 3600)
    world.start_consumer()
    copy_from_plex(world)


def test_a_stash_edit_that_leaves_the_rating_alone_is_no_rating_change(world: World) -> None:
    """``updated_at`` moves with every edit (and with scans, Identify, Auto Tag): it
    must not make Stash's unchanged rating look newer than Plex's."""
    scene_id, rating_key = _rated_world(world, None)
    world.plex.rate(rating_key, 8.0, at=int(time.time()) - 60)
    edit_title_in_stash(world, scene_id, "Renamed")
    world.start_consumer()
    copy_from_plex(world)
    assert scene(world, scene_id)["rating100"] == 80
    assert world.plex.item(rating_key).user_rating == 8.0


def test_newer_wins_both_ways(world: World) -> None:
    scene_id, rating_key = _rated_world(world, None)
    _both_changed(world, scene_id, rating_key, plex_first=True)
    assert (scene(world, scene_id)["rating100"], world.plex.item(rating_key).user_rating) == (30, 3.0)


def test_newer_wins_when_plex_changed_last(world: World) -> None:
    scene_id, rating_key = _rated_world(world, "newer")
    _both_changed(world, scene_id, rating_key, plex_first=False)
    assert (scene(world, scene_id)["rating100"], world.plex.item(rating_key).user_rating) == (80, 8.0)


def test_plex_wins(world: World) -> None:
    scene_id, rating_key = _rated_world(world, "plex")
    _both_changed(world, scene_id, rating_key, plex_first=True)
    assert (scene(world, scene_id)["rating100"], world.plex.item(rating_key).user_rating) == (80, 8.0)


def test_stash_wins(world: World) -> None:
    scene_id, rating_key = _rated_world(world, "stash")
    _both_changed(world, scene_id, rating_key, plex_first=False)
    assert (scene(world, scene_id)["rating100"], world.plex.item(rating_key).user_rating) == (30, 3.0)


def test_fill_only_keeps_both_and_fills_an_empty_side(world: World) -> None:
    scene_id, rating_key = _rated_world(world, "fill")
    _both_changed(world, scene_id, rating_key, plex_first=False)
    assert (scene(world, scene_id)["rating100"], world.plex.item(rating_key).user_rating) == (30, 8.0)
    unrated, unrated_rk = world.add_scene("unrated")
    world.plex.rate(unrated_rk, 4.0, at=int(time.time()) + 7200)  # after the other's (dated an hour ahead)
    copy_from_plex(world)
    assert scene(world, unrated)["rating100"] == 40


def test_a_rating_cleared_in_plex_follows_the_policy(world: World) -> None:
    scene_id, rating_key = _rated_world(world, None)
    world.plex.rate(rating_key, None)
    world.start_consumer()
    copy_from_plex(world)
    assert scene(world, scene_id)["rating100"] is None
    wait_until(lambda: world.queued() == 0, message="the hook's sync ran")
    assert world.plex.item(rating_key).user_rating is None


# -- part 5: accounts -------------------------------------------------------------------
def test_a_managed_users_views_count_only_when_chosen_and_once(shared_world: World) -> None:
    world = shared_world
    kid = world.plex.add_account("Kid")
    (owners, owners_rk), (kids, kids_rk) = world.add_scene("owners"), world.add_scene("kids")
    now = int(time.time())
    world.plex.play(owners_rk, at=now - 500)
    world.plex.play(kids_rk, at=now - 400, account_id=kid)
    world.plex.partial_play(kids_rk, 50_000, at=now - 300, account_id=kid)
    world.start_consumer()

    copy_from_plex(world)
    assert (scene(world, owners)["play_count"], scene(world, kids)["play_count"]) == (1, 0)
    assert scene(world, kids)["resume_time"] == 0.0  # the owner's token does not see the kid's resume point

    world.consumers[0].kill()  # a worker reads the plugin page's settings again when it starts
    world.configure_plugin(playback_accounts="owner, kid")  # names as /accounts lists them, any case
    world.start_consumer()
    copy_from_plex(world)
    copy_from_plex(world)
    assert (scene(world, owners)["play_count"], scene(world, kids)["play_count"]) == (1, 1)

    world.consumers[-1].kill()
    world.configure_plugin(playback_accounts="Kid")
    world.start_consumer()
    world.plex.play(owners_rk, at=now - 100)
    world.plex.play(kids_rk, at=now - 50, account_id=kid)
    copy_from_plex(world)
    assert (scene(world, owners)["play_count"], scene(world, kids)["play_count"]) == (1, 2)


def test_an_account_plex_does_not_have_is_a_clear_error(world: World) -> None:
    world.configure_plugin(playback_accounts="Nobody")
    world.start_consumer()
    assert world.host.run_task("Copy from Plex now").error is None
    wait_until(lambda: "no account named 'Nobody'" in world.logs(), message="the error")
    status = world.host.run_task("Status")
    assert "no account named 'Nobody'" in status.stdout


def test_the_same_file_in_two_sections_gives_one_play(shared_world: World) -> None:
    """An HD and a 4K library holding the same file, matched to one movie (one guid):
    one view, one history entry, and both items show the view state."""
    world = shared_world
    guid = "plex://movie/5d776b59ad5437001f79c6f8"
    scene_id = world.stash.add_scene(files=({"path": f"{STASH_ROOT}/movies/both.mp4", "size": 10, "duration": 60.0},))
    first = world.plex.add_movie(world.section_id, [f"{PLEX_ROOT}/movies/both.mp4"], guid=guid)
    other = world.plex.add_section("Movies 4K", "movie", [f"{PLEX_ROOT}/movies"])
    world.plex.add_movie(other, [f"{PLEX_ROOT}/movies/both.mp4"], guid=guid)
    world.start_consumer()
    world.plex.partial_play(first, 20_000, at=int(time.time()) - 900)
    copy_from_plex(world)
    world.plex.play(first, at=int(time.time()) - 60)
    copy_from_plex(world)
    read = scene(world, scene_id)
    assert (read["play_count"], read["resume_time"], read["play_duration"]) == (1, 0.0, 3600.0)


# -- part 6: rating keys reused ---------------------------------------------------------
def test_a_reused_rating_key_copies_no_play_to_the_wrong_scene(shared_world: World) -> None:
    """A movie watched and deleted before the copy; a new file's item gets its rating
    key. The old view is no view of the new item; the new item's own plays and
    rating reach its own scene (not the old one's)."""
    world = shared_world
    (old_scene, old_rk) = world.add_scene("old")
    world.start_consumer()
    rated_at = int(time.time()) - 600
    world.plex.rate(old_rk, 9.0, at=rated_at)
    copy_from_plex(world)
    assert scene(world, old_scene)["rating100"] == 90
    world.plex.play(old_rk, at=int(time.time()) - 30)
    world.plex.delete_item(old_rk)
    time.sleep(1)  # the new item is added a second after the old one's last view
    new_scene, new_rk = world.add_scene("new")
    assert new_rk == old_rk

    copy_from_plex(world)
    assert (scene(world, old_scene)["play_count"], scene(world, new_scene)["play_count"]) == (0, 0)
    world.plex.play(new_rk, at=int(time.time()) + 5)
    world.plex.rate(new_rk, 4.0, at=rated_at)  # in the same second as the old item's: no newer than it
    copy_from_plex(world)
    assert (scene(world, old_scene)["play_count"], scene(world, new_scene)["play_count"]) == (0, 1)
    assert (scene(world, old_scene)["rating100"], scene(world, new_scene)["rating100"]) == (90, 40)


def test_the_old_scenes_next_edit_is_not_written_into_the_new_item(world: World) -> None:
    """The scene's movie is deleted from Plex and an unrelated file's item inherits its
    rating key; the worker's index still says the key holds the scene's file."""
    world.add_scene("kept", title="Kept")
    scene_id, rating_key = world.add_scene("gone", title="Gone")  # the newest item: its key is reused
    world.start_consumer()
    world.host.attach()
    world.host.run_task("Sync all scenes")
    wait_until(lambda: world.plex.item(rating_key).title == "Gone" and world.queued() == 0, message="synced")
    world.plex.delete_item(rating_key)
    unrelated = world.plex.add_movie(world.section_id, [f"{PLEX_ROOT}/movies/unrelated.mp4"], title="Unrelated")
    assert unrelated == rating_key

    edit_title_in_stash(world, scene_id, "Gone, renamed")
    wait_until(lambda: world.queued() == 0 and f"scene {scene_id}" in world.logs(), message="the edit's sync")
    wait_until(lambda: "no Plex item has the file" in world.logs(), message="the sync saw the item gone")
    assert world.plex.item(unrelated).title == "Unrelated"
