"""Issue #8: every field arrives in Plex, under the field policy, and a sync that
would change nothing writes nothing.

Plex facts these tests rely on (../shared/plex-facts.md, plexapi 4.18.3's
source): an edit is ``PUT /library/sections/{id}/all`` with ``<field>.value``,
``<field>.locked``, indexed tag lists (``actor[i].tag.tag`` with
``actor[i].tagging.thumb`` for a photo URL) that replace the item's list; the
user rating is ``PUT /:/rate?key=..&identifier=com.plexapp.plugins.library
&rating=0..10`` (plexapi's ``rate()``); images are ``POST .../posters`` and
``POST .../arts``. A tag's thumb URL is stored in Plex and readable by every
Plex user. Stash facts (../shared/stash-plugins.md): a performer without a
photo has an ``image_path`` ending in ``default=true``.

Real GraphQL edits on the Stash emulator run the plugin's hook through the
plugin host; real ``huey_consumer`` processes write into the Plex emulator,
whose request log is what "writes" are counted on (every PUT and POST).
"""

from __future__ import annotations

import re

from emulators.stash import images
from tests.integration.conftest import PLEX_TOKEN, STASH_API_KEY, World
from tests.integration.test_sync_end_to_end import edit_scene
from tests.support import wait_until

PHOTOS = "http://photos.example.lan:8080/stash"


def writes(world: World, since: int = 0) -> list:
    return [r for r in world.plex.requests[since:] if r.method in ("PUT", "POST")]


def outcomes(world: World) -> list[str]:
    return re.findall(r"scene \d+ synced: .*", world.logs())


def synced(world: World, count: int) -> list[str]:
    """Wait for ``count`` job outcomes in the workers' logs and an empty queue."""
    wait_until(lambda: len(outcomes(world)) >= count and world.queued() == 0, timeout=120, message="syncs")
    return outcomes(world)


def full_scene(world: World, name: str = "full") -> tuple[str, int]:
    parent = world.stash.add_studio("Sunrise Media")
    studio = world.stash.add_studio("Golden Hour", parent_id=parent)
    tags = [world.stash.add_tag(n) for n in ("Beach", "Favourite", "Series A", "Hidden")]
    ann = world.stash.add_performer("Ann Example", image=images.png("ann", images.PORTRAIT_SIZE))
    bo = world.stash.add_performer("Bo Sample")  # no photo: Stash's placeholder
    group = world.stash.add_group("Walks, Vol. 1")
    return world.add_scene(
        name,
        title="Sunset Walk",
        code="GH-0042",
        details="<p>A walk</p>\nalong the beach 🌅",
        director="Dee Rector",
        date="2021-06-15",
        rating100=85,
        studio_id=studio,
        tag_ids=tags,
        performer_ids=(ann, bo),
        groups=((group, 1),),
    )


def test_every_field_arrives_in_plex_locked(world: World):
    world.configure_plugin(
        label_tags="favourite",
        collection_tags="Series A",
        genre_exclude="hidden",
        studio_collection_prefix="Studio:",
        studio_collection_parent="true",
        content_rating="X",
        sort_title="{studio} {date}",
        performer_photos=PHOTOS,
    )
    scene_id, rating_key = full_scene(world)
    ann = world.stash.library.scenes[int(scene_id)].performer_ids[0]
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)

    item = world.plex.item(rating_key)
    assert item.title == "Sunset Walk"
    assert item.summary == "<p>A walk</p>\nalong the beach 🌅"
    assert (item.originally_available_at, item.year) == ("2021-06-15", 2021)
    assert item.studio == "Golden Hour"
    assert item.original_title == "GH-0042"
    assert item.title_sort == "Golden Hour 2021-06-15"
    assert item.content_rating == "X"
    assert item.directors == ["Dee Rector"]
    assert item.genres == ["Beach", "Favourite", "Series A"]
    assert item.labels == ["Favourite"]
    assert item.collections == ["Walks, Vol. 1", "Series A", "Studio: Golden Hour", "Studio: Sunrise Media"]
    assert item.actors == ["Ann Example", "Bo Sample"]
    assert item.actor_thumbs[0].startswith(f"{PHOTOS}/performer/{ann}/image?t=")
    assert item.actor_thumbs[1] is None  # Stash has only its placeholder for Bo
    assert item.user_rating == 8.5
    assert item.poster == item.art == world.stash.screenshot(scene_id)
    locked = {"title", "titleSort", "summary", "originallyAvailableAt", "year", "studio", "originalTitle"}
    locked |= {"contentRating", "director", "genre", "label", "collection", "actor", "thumb", "art"}
    assert locked <= item.locked
    [rate] = [r for r in writes(world) if r.path == "/:/rate"]
    assert (rate.arg("key"), rate.arg("rating")) == (str(rating_key), "8.5")
    assert world.dead_letters() == []


def test_a_coverless_scene_sends_no_image_and_no_rating_without_a_stash_rating(world: World):
    scene_id, rating_key = world.add_scene("bare", title="Bare", screenshot=False)
    with world.plex.library.lock:
        item = world.plex.library.item(rating_key)
        world.plex.library.upload_image(item, "poster", images.png("plex's own poster"))
        world.plex.library.upload_image(item, "art", images.png("plex's own background"))
        item.user_rating = 4.0
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)

    item = world.plex.item(rating_key)
    assert item.title == "Bare"
    assert (item.poster, item.art) == (images.png("plex's own poster"), images.png("plex's own background"))
    assert item.user_rating == 4.0
    assert not {"thumb", "art"} & item.locked
    assert [(r.method, r.path) for r in writes(world)] == [("PUT", f"/library/sections/{world.section_id}/all")]


def test_a_resync_of_an_unchanged_library_makes_no_plex_write(world: World):
    """1,000 scenes, each with a cover, tags and a rating: the second "Sync all
    scenes" reads everything again and writes nothing at all."""
    count = 1000
    tag = world.stash.add_tag("bulk-tag")
    performer = world.stash.add_performer("Bulk Performer")
    for i in range(count):
        world.add_scene(
            f"lib-{i:05d}", title=f"lib title {i}", tag_ids=(tag,), performer_ids=(performer,), rating100=i % 101
        )
    world.start_consumer(workers=4)
    first_run = world.host.run_task("Sync all scenes")  # follows the run until it is done
    assert first_run.output.startswith(f"sync all: {count} of {count} scenes done"), first_run
    wait_until(lambda: world.queued() == 0, message="queue drained")
    first = len(writes(world))
    assert first >= count * 3  # an edit, a poster and a background each (and most have a rating)
    before = len(world.plex.requests)
    covers = len(world.stash.requests_matching("GET", r"/scene/\d+/screenshot"))
    assert covers >= count

    second_run = world.host.run_task("Sync all scenes")
    assert second_run.output.startswith(f"sync all: {count} of {count} scenes done"), second_run
    wait_until(lambda: world.queued() == 0, message="queue drained")

    assert writes(world, before) == []
    # the screenshot URLs are those the images were made of: no cover is downloaded again
    assert len(world.stash.requests_matching("GET", r"/scene/\d+/screenshot")) == covers
    assert world.dead_letters() == []


def test_a_changed_field_sends_only_its_group(world: World):
    scene_id, rating_key = full_scene(world)
    world.start_consumer()
    world.host.attach()
    edit_scene(world, scene_id, title="Sunset Walk")  # the first sync writes everything
    synced(world, 1)
    before = len(world.plex.requests)

    edit_scene(world, scene_id, details="New details")
    synced(world, 2)

    [edit] = writes(world, before)
    assert edit.method == "PUT"
    assert {k for k, _ in edit.query if k not in ("type", "id")} == {"summary.value", "summary.locked"}
    assert world.plex.item(rating_key).summary == "New details"

    before = len(world.plex.requests)
    edit_scene(world, scene_id, rating100=40)
    synced(world, 3)
    [rate] = writes(world, before)
    assert (rate.method, rate.path, rate.arg("rating")) == ("PUT", "/:/rate", "4.0")
    assert world.plex.item(rating_key).user_rating == 4.0

    before = len(world.plex.requests)
    edit_scene(world, scene_id, rating100=None)  # Stash's rating removed: a change like another (Rating conflicts)
    synced(world, 4)
    [clear] = writes(world, before)
    assert (clear.method, clear.path, clear.arg("rating")) == ("PUT", "/:/rate", "-1")  # plexapi's rate(None)
    assert world.plex.item(rating_key).user_rating is None

    before = len(world.plex.requests)
    edit_scene(world, scene_id, details="Other details")  # no rating again: nothing more to clear
    synced(world, 5)
    assert [r.path for r in writes(world, before)] == [f"/library/sections/{world.section_id}/all"]


def test_switching_a_field_off_stops_writing_it_and_does_not_clear_it(world: World):
    scene_id, rating_key = world.add_scene("switch", title="First title", details="First details", rating100=60)
    consumer = world.start_consumer()
    world.host.attach()
    edit_scene(world, scene_id, title="Second title")
    synced(world, 1)
    assert world.plex.item(rating_key).summary == "First details"
    consumer.kill()  # settings are re-read within a minute; a restart reads them at once

    world.configure_plugin(skip_fields="summary,rating,background")
    world.start_consumer()
    before = len(world.plex.requests)
    edit_scene(world, scene_id, title="Third title", details="Not written", rating100=20)
    synced(world, 2)

    item = world.plex.item(rating_key)
    assert (item.title, item.summary, item.user_rating) == ("Third title", "First details", 6.0)
    [edit] = writes(world, before)
    assert {k for k, _ in edit.query if k not in ("type", "id")} == {"title.value", "title.locked"}


def test_a_forced_sync_rewrites_what_was_edited_in_plex(world: World):
    scene_id, rating_key = world.add_scene("forced", title="Stash title", rating100=90)
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)
    with world.plex.library.lock:  # someone edits the item in Plex
        item = world.plex.library.item(rating_key)
        item.title, item.user_rating = "Edited in Plex", 2.0
        world.plex.library.upload_image(item, "poster", images.png("chosen in Plex"))
    before = len(world.plex.requests)

    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 2)
    assert writes(world, before) == []  # nothing changed in Stash: Plex's edit stays
    assert world.plex.item(rating_key).title == "Edited in Plex"

    assert world.host.run_task("Force full sync").error is None  # pages of forced syncs
    wait_until(lambda: world.plex.item(rating_key).title == "Stash title", message="the forced sync")
    wait_until(lambda: world.queued() == 0, message="queue drained")

    item = world.plex.item(rating_key)
    assert (item.title, item.user_rating) == ("Stash title", 9.0)
    assert item.poster == world.stash.screenshot(scene_id)
    assert sorted((r.method, r.path.rsplit("/", 1)[-1]) for r in writes(world, before)) == [
        ("POST", "arts"),
        ("POST", "posters"),
        ("PUT", "all"),
        ("PUT", "rate"),
    ]


def test_keep_manual_plex_edits_leaves_a_field_edited_in_plex_alone(world: World):
    scene_id, rating_key = world.add_scene("manual", title="Stash title", details="Stash details")
    world.configure_plugin(keep_plex_edits="true")
    world.start_consumer()
    world.host.attach()
    edit_scene(world, scene_id, date="2020-01-02")
    synced(world, 1)
    reads = len(world.plex.requests_matching("GET", rf"^/library/metadata/{rating_key}$"))
    with world.plex.library.lock:
        world.plex.library.item(rating_key).title = "Renamed in Plex"

    edit_scene(world, scene_id, title="New Stash title", details="New Stash details")
    lines = synced(world, 2)

    item = world.plex.item(rating_key)
    assert (item.title, item.summary) == ("Renamed in Plex", "New Stash details")
    assert lines[-1].endswith("kept Plex's own title")
    assert len(world.plex.requests_matching("GET", rf"^/library/metadata/{rating_key}$")) == reads + 1

    edit_scene(world, scene_id, date="2020-01-03")  # a field Plex did not change is written as ever
    synced(world, 3)
    assert world.plex.item(rating_key).originally_available_at == "2020-01-03"


def test_no_stash_credential_is_written_into_plex(world: World):
    """Performer photos point at a credential-free address; every parameter of
    every write Plex received, every image it holds and every stored field is
    free of Stash's API key, the hook's session cookie and the Plex token."""
    world.configure_plugin(performer_photos=PHOTOS, label_tags="favourite", collection_tags="series a")
    scenes = [full_scene(world, "cred-a"), world.add_scene("cred-b", title="b", screenshot=False)]
    world.start_consumer()
    world.host.attach()
    for scene_id, _ in scenes:
        edit_scene(world, scene_id, details="credential check")
    synced(world, 2)
    assert any(thumb for thumb in world.plex.item(scenes[0][1]).actor_thumbs)

    secrets = [STASH_API_KEY, PLEX_TOKEN, *world.stash_sessions()]
    assert len(secrets) > 2
    sent = [value for record in writes(world) for pair in record.query for value in pair]
    stored = [repr(item) for item in world.plex.items()]
    uploaded = [data for kinds in world.plex.library.uploads.values() for data in kinds.values()]
    for secret in secrets:
        assert not any(secret in value for value in sent + stored)
        assert not any(secret.encode() in data for data in uploaded)
    assert not any("apikey" in value.lower() for value in sent + stored)


def test_a_write_holding_the_stash_api_key_is_refused(world: World):
    """The last net: a setting that would put the API key into Plex fails the
    sync (a dead letter with a clear reason) instead of storing it."""
    world.configure_plugin(performer_photos=f"http://photos.example.lan/{STASH_API_KEY}")
    ann = world.stash.add_performer("Ann", image=images.png("ann", images.PORTRAIT_SIZE))
    scene_id, _ = world.add_scene("leak", title="Leak", performer_ids=(ann,))
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])

    [letter] = wait_until(world.dead_letters, message="dead letter")
    assert "refusing to write a Stash or Plex credential into Plex" in letter["message"]
    assert STASH_API_KEY not in letter["message"]
    assert writes(world) == []


def test_plexsync_sync_force_rewrites_and_a_plain_sync_writes_nothing_new(world: World):
    from tests.integration.test_cli_status_doctor import cli

    scene_id, rating_key = world.add_scene("cli-force", title="Stash title")
    first = cli(world, "sync", scene_id)
    assert first.returncode == 0, first.stdout + first.stderr
    with world.plex.library.lock:
        world.plex.library.item(rating_key).title = "Edited in Plex"
    before = len(world.plex.requests)

    plain = cli(world, "sync", scene_id)
    assert f"scene {scene_id} synced: 'Stash title' -> Plex item(s) {rating_key}, nothing changed" in plain.stdout
    assert writes(world, before) == []

    forced = cli(world, "sync", "--force", scene_id)
    assert forced.returncode == 0 and "genres, poster, studio, summary, title" in forced.stdout
    assert world.plex.item(rating_key).title == "Stash title"


def test_a_portrait_poster_is_cut_from_the_cover_and_the_whole_cover_is_the_background(world: World):
    import io

    from PIL import Image

    world.configure_plugin(poster_shape="portrait")
    scene_id, rating_key = world.add_scene("portrait", title="Portrait")
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)

    item = world.plex.item(rating_key)
    assert item.art == world.stash.screenshot(scene_id)
    with Image.open(io.BytesIO(item.poster)) as poster:
        assert poster.size == (60, 90)  # the middle of the 160x90 cover
    before = len(world.plex.requests)
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 2)
    assert writes(world, before) == []
