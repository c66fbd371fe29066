"""Issue #8, item 5: changes made through performers, studios, tags and groups
reach every Plex item that shows them, and no other.

A rename, a destroy or a tag merge is a real GraphQL mutation on the Stash
emulator, which fires the hooks real Stash fires (with the input real Stash
sends, tests/emulators/test_stash_related_mutations.py) through the plugin
host; a real ``huey_consumer`` runs the fan-out job and the scene syncs it
queues. What fires no hook at all (Auto Tag, performerMerge) is caught by the
reconcile, queued here the way the consumer's every-minute clock queues it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.integration.conftest import STASH_API_KEY, World
from tests.support import REPO, wait_until

EDIT_PATH = r"/library/sections/{}/all"


class SteppedClock:
    """Stash's clock, moved on by the test only."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def step(self) -> None:
        self.now += timedelta(minutes=1)


def mutate(world: World, query: str, **variables: Any) -> dict[str, Any]:
    """What Stash's UI sends when a user saves, deletes or merges."""
    response = requests.post(
        world.stash.graphql_url,
        json={"query": query, "variables": variables},
        headers={"ApiKey": STASH_API_KEY},
        timeout=120,
    )
    response.raise_for_status()
    assert "errors" not in response.json(), response.json()
    return response.json()["data"]


def update(world: World, kind: str, object_id: str, **fields: Any) -> None:
    """What Stash's UI sends when a user saves a performer, studio, tag or group."""
    mutation = f"mutation($in: {kind.title()}UpdateInput!) {{ {kind}Update(input: $in) {{ id }} }}"
    mutate(world, mutation, **{"in": {"id": object_id, **fields}})


def run_in_worker_env(world: World, code: str, **extra_env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", f"import huey_config\n{code}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**world.env, **extra_env},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def queue_reconcile(world: World) -> None:
    """What the consumer's clock does once the interval has passed."""
    run_in_worker_env(world, "from plexsync import tasks; tasks.reconcile(priority=tasks.PRIORITY_EDIT)")


def edited_items(world: World, since: int) -> set[int]:
    """Plex items that got a metadata edit (PUT) after request number ``since``."""
    path = EDIT_PATH.format(world.section_id)
    return {int(r.arg("id")) for r in world.plex.requests[since:] if r.method == "PUT" and r.path == path}


def synced(world: World) -> None:
    """Wait for the queue to drain (and for what it queued to drain too)."""
    wait_until(lambda: world.queued() == 0, timeout=60, message="queue drained")
    assert world.dead_letters() == []


def first_sync(world: World) -> int:
    """Sync every scene once; the Plex request count afterwards."""
    world.start_consumer()
    world.host.attach()
    assert world.host.run_task("Sync all scenes").error is None
    synced(world)
    return len(world.plex.requests)


def test_renaming_a_performer_a_studio_or_a_tag_updates_every_affected_item_and_no_other(world: World):
    stash = world.stash
    ann, bo = stash.add_performer("Ann"), stash.add_performer("Bo")
    parent = stash.add_studio("Parent Co")
    child = stash.add_studio("Child Co", parent_id=parent)
    other_studio = stash.add_studio("Other Co")
    beach, night = stash.add_tag("Beach"), stash.add_tag("Night")
    _, one = world.add_scene("one", title="One", performer_ids=[ann], tag_ids=[beach], studio_id=child)
    _, two = world.add_scene("two", title="Two", performer_ids=[ann, bo], tag_ids=[beach, night])
    _, three = world.add_scene("three", title="Three", performer_ids=[bo], studio_id=other_studio)
    _, four = world.add_scene("four", title="Four", tag_ids=[night], studio_id=parent)
    count = first_sync(world)
    assert world.plex.item(two).actors == ["Ann", "Bo"]

    update(world, "performer", ann, name="Ann Renamed")
    hook = world.host.invocations[-1]
    assert hook.output == f"queued Plex sync of the scenes of performer {ann}", hook
    wait_until(lambda: world.plex.item(two).actors == ["Ann Renamed", "Bo"], message="performer rename")
    synced(world)
    assert world.plex.item(one).actors == ["Ann Renamed"]
    assert edited_items(world, count) == {one, two}

    count = len(world.plex.requests)
    update(world, "tag", beach, name="Seaside")
    wait_until(lambda: world.plex.item(two).genres == ["Night", "Seaside"], message="tag rename")
    synced(world)
    assert world.plex.item(one).genres == ["Seaside"]
    assert edited_items(world, count) == {one, two}

    # A studio's scenes include those of its sub-studios (a parent can be shown in Plex too).
    count = len(world.plex.requests)
    update(world, "studio", child, name="Child Renamed")
    wait_until(lambda: world.plex.item(one).studio == "Child Renamed", message="studio rename")
    synced(world)
    assert edited_items(world, count) == {one}
    count = len(world.plex.requests)
    update(world, "studio", parent, name="Parent Renamed")
    wait_until(lambda: world.plex.item(four).studio == "Parent Renamed", message="parent studio rename")
    synced(world)
    # Scene one (of the sub-studio) is synced too, but its Plex item shows no parent
    # name (no studio collection by default): what it would write is unchanged, so
    # nothing is sent.
    assert edited_items(world, count) == {four}
    assert world.plex.item(three).studio == "Other Co"


def test_an_update_of_what_plex_does_not_show_queues_nothing(world: World):
    """A favourite toggle fires Performer.Update.Post with ``inputFields``
    ``["id", "favorite"]``: no fan-out job (it would read every scene of the
    performer), no Plex request. The rename after it is synced as before."""
    ann = world.stash.add_performer("Ann")
    _, one = world.add_scene("one", title="One", performer_ids=[ann])
    _, two = world.add_scene("two", title="Two", performer_ids=[ann])
    count = first_sync(world)
    update(world, "performer", ann, favorite=True)
    hook = world.host.invocations[-1]
    assert hook.output == f"performer {ann}: favorite changed, which Plex does not show: no sync queued", hook
    assert world.queued() == 0
    update(world, "performer", ann, name="Ann B", favorite=False)
    assert world.host.invocations[-1].output == f"queued Plex sync of the scenes of performer {ann}"
    wait_until(lambda: world.plex.item(two).actors == ["Ann B"], message="performer rename")
    synced(world)
    assert world.logs().count(f"performer {ann} changed: queued") == 1  # the rename's fan-out only
    assert edited_items(world, count) == {one, two}


def test_renaming_a_group_syncs_the_scenes_in_it(world: World):
    """Groups become Plex collections (issue #8 item 1): their scenes are synced."""
    group, other = world.stash.add_group("Saga"), world.stash.add_group("Other")
    in_group, in_key = world.add_scene("in-group", title="In group", groups=[(group, 1)])
    outside, _ = world.add_scene("outside", title="Outside", groups=[(other, 1)])
    count = first_sync(world)
    update(world, "group", group, name="Saga II")
    assert world.host.invocations[-1].output == f"queued Plex sync of the scenes of group {group}"
    wait_until(lambda: f"group {group} changed: queued 1 scene(s)" in world.logs(), message="fan-out")
    synced(world)
    assert world.logs().count(f"scene {in_group} synced") == 1  # the first sync ran by pages
    assert f"scene {outside} synced" not in world.logs()
    assert "Saga II" in world.plex.item(in_key).collections
    assert edited_items(world, count) == {in_key}


def test_merging_two_tags_leaves_no_item_with_the_old_tags(shared_world: World):
    world = shared_world
    stash = world.stash
    old, older, new, other = (stash.add_tag(n) for n in ("Old", "Older", "New", "Other"))
    _, only_old = world.add_scene("only-old", title="Only old", tag_ids=[old])
    _, both = world.add_scene("both", title="Both", tag_ids=[older, new, other])
    _, only_new = world.add_scene("only-new", title="Only new", tag_ids=[new])
    _, untouched = world.add_scene("untouched", title="Untouched", tag_ids=[other])
    count = first_sync(world)

    mutate(world, "mutation($in: TagsMergeInput!) { tagsMerge(input: $in) { id } }",
           **{"in": {"source": [old, older], "destination": new}})  # fmt: skip

    hook = world.host.invocations[-1]
    assert hook.output == f"queued Plex sync of the scenes of tag {new} (merged from tag(s) {old}, {older})", hook
    wait_until(lambda: world.plex.item(only_old).genres == ["New"], message="merge")
    synced(world)
    assert world.plex.item(both).genres == ["New", "Other"]
    every_genre = {g for rk in (only_old, both, only_new, untouched) for g in world.plex.item(rk).genres}
    assert every_genre == {"New", "Other"}
    assert untouched not in edited_items(world, count)
    assert {only_old, both} <= edited_items(world, count)


def test_destroying_a_tag_or_performers_removes_them_from_every_affected_item(world: World):
    stash = world.stash
    doomed, kept = stash.add_tag("Doomed"), stash.add_tag("Kept")
    ann, bo, cy = stash.add_performer("Ann"), stash.add_performer("Bo"), stash.add_performer("Cy")
    _, one = world.add_scene("one", title="One", tag_ids=[doomed, kept], performer_ids=[ann, cy])
    _, two = world.add_scene("two", title="Two", tag_ids=[doomed], performer_ids=[bo])
    _, three = world.add_scene("three", title="Three", tag_ids=[kept], performer_ids=[cy])
    count = first_sync(world)

    mutate(world, "mutation($in: TagDestroyInput!) { tagDestroy(input: $in) }", **{"in": {"id": doomed}})
    wait_until(lambda: world.plex.item(two).genres == [], message="tag destroy")
    synced(world)
    assert world.plex.item(one).genres == ["Kept"]
    assert edited_items(world, count) == {one, two}

    # The bulk delete fires one hook per performer, whose input is the id list itself.
    count = len(world.plex.requests)
    mutate(world, "mutation($ids: [ID!]!) { performersDestroy(ids: $ids) }", ids=[ann, bo])
    wait_until(lambda: world.plex.item(two).actors == [], message="performers destroy")
    synced(world)
    assert world.plex.item(one).actors == ["Cy"]
    assert edited_items(world, count) == {one, two}
    assert world.plex.item(three).actors == ["Cy"]


def test_a_scene_deleted_since_its_sync_is_one_dead_letter_and_is_not_queued_again(world: World):
    """Destroy fan-outs find scenes by what their last sync showed, deleted ones too: like any
    sync of a deleted scene (tests/integration/test_reliability.py) it is one readable dead
    letter, and its rows go, so the next change it showed does not queue it again."""
    doomed, also_doomed = world.stash.add_tag("Doomed"), world.stash.add_tag("Also doomed")
    gone, _ = world.add_scene("gone", title="Gone", tag_ids=[doomed, also_doomed])
    _, stays = world.add_scene("stays", title="Stays", tag_ids=[doomed])
    first_sync(world)
    mutate(world, "mutation($in: SceneDestroyInput!) { sceneDestroy(input: $in) }", **{"in": {"id": gone}})
    mutate(world, "mutation($in: TagDestroyInput!) { tagDestroy(input: $in) }", **{"in": {"id": doomed}})
    wait_until(lambda: world.plex.item(stays).genres == [], message="tag destroy")
    [letter] = wait_until(world.dead_letters, message="dead letter")
    assert letter["message"] == f"scene {gone} does not exist in Stash (deleted?)"
    wait_until(lambda: world.queued() == 0, message="queue drained")
    assert world.state_rows("scene_relation") == []

    mutate(world, "mutation($in: TagDestroyInput!) { tagDestroy(input: $in) }", **{"in": {"id": also_doomed}})
    wait_until(lambda: f"tag {also_doomed} deleted: queued 0 scene(s)" in world.logs(), message="second fan-out")
    assert [row["failures"] for row in world.dead_letters()] == [1]


def test_changes_without_a_hook_reach_plex_through_the_reconcile(shared_world: World):
    """Auto Tag adds tags through Stash's scene store (its updated_at moves, no hook
    fires); performerMerge rewrites the join table and deletes the merged
    performers (no hook, no updated_at): tests/emulators/test_stash_related_mutations.py."""
    world = shared_world
    stash = world.stash
    clock = SteppedClock()
    stash.clock = clock  # Stash keeps whole seconds: the changes below must come in a later one
    alias, real = stash.add_performer("Alias"), stash.add_performer("Real Name")
    outdoor = stash.add_tag("Outdoor")
    auto_tagged, auto_item = world.add_scene("auto", title="Auto")
    _, merged_item = world.add_scene("merged", title="Merged", performer_ids=[alias])
    _, quiet_item = world.add_scene("quiet", title="Quiet", performer_ids=[real])
    first_sync(world)
    queue_reconcile(world)  # the first run only records where the library is
    wait_until(lambda: "reconcile: first run" in world.logs(), message="first reconcile")
    count = len(world.plex.requests)
    clock.step()

    stash.update_scene(auto_tagged, tag_ids=[int(outdoor)])  # as Auto Tag does: no hook
    mutate(world, "mutation($in: PerformerMergeInput!) { performerMerge(input: $in) { id } }",
           **{"in": {"source": [alias], "destination": real}})  # fmt: skip
    assert not [i for i in world.host.invocations if i.kind == "hook"]  # neither fired a hook
    queue_reconcile(world)

    wait_until(lambda: world.plex.item(auto_item).genres == ["Outdoor"], message="auto tag reached Plex")
    wait_until(lambda: world.plex.item(merged_item).actors == ["Real Name"], message="performer merge reached Plex")
    synced(world)
    assert edited_items(world, count) == {auto_item, merged_item}
    assert world.plex.item(quiet_item).actors == ["Real Name"]
    assert "reconcile: queued 1 scene(s) changed without a hook and 1 showing something deleted" in world.logs()

    # Nothing changed since: the next run queues nothing.
    count = len(world.plex.requests)
    queue_reconcile(world)
    wait_until(lambda: world.logs().count("reconcile: queued") == 2, message="second reconcile")
    synced(world)
    assert "reconcile: queued 0 scene(s) changed without a hook and 0" in world.logs()
    assert edited_items(world, count) == set()
    assert "    reconcile: last run " in world.host.run_task("Status").output


def test_a_reconcile_is_queued_once_per_interval_and_never_when_switched_off(shared_world: World):
    """What the consumer's clock (plexsync.worker.clock) asks every minute."""
    world = shared_world
    claims = (
        "from plexsync.queue.instance import bootstrap\n"
        "from plexsync.state import db, reconcile\n"
        "db.open_state(bootstrap)\n"
        "print([reconcile.claim_due(3600, now=t) for t in (1000.0, 1001.0, 4599.0, 4600.0, 4601.0)])"
    )
    assert run_in_worker_env(world, claims) == str([True, False, False, True, False])
    check = (
        "from plexsync.queue.instance import bootstrap\n"
        "from plexsync.state import db\n"
        "from plexsync.sync import worker\n"
        "db.open_state(bootstrap)\n"  # as the consumer's startup does
        "print(worker.queue_reconcile_if_due(), worker.queue_reconcile_if_due())"
    )
    assert run_in_worker_env(world, check, PLEXSYNC_RECONCILE_INTERVAL="0") == "False False"
    assert world.queued() == 0
    assert run_in_worker_env(world, check) == "True False"  # the last one started long ago
    assert world.queued() == 1


def test_a_running_consumer_starts_the_reconcile_by_itself(world: World):
    """The clock's first look comes a minute after the consumer starts (no waiting job meanwhile).

    The hourly cleanup (minute 23) is the one job a consumer may queue at its start: huey's
    scheduler enqueues a periodic task whose minute it starts in (CI once started at 02:23:04).
    """
    world.start_consumer()
    waiting = world.queued()  # queued, scheduled or claimed
    cleanup = "Enqueueing periodic task plexsync.tasks.cleanup" in world.logs()  # huey logs it, then queues it
    assert waiting <= (1 if cleanup else 0), waiting
    wait_until(lambda: "reconcile: first run" in world.logs(), timeout=120, message="the clock's first reconcile")
    synced(world)
    assert world.logs().count("reconcile:") == 1
