"""The match report, from the command line and from Stash's Tasks page: its
counts, and a suggested path rule that, once set, makes the scenes sync."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.integration.conftest import PLEX_ROOT, STASH_ROOT, World
from tests.support import REPO, wait_until


def match_report(world: World) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "plexsync", "match-report"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=world.env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def count(report: str, label: str) -> int:
    match = re.search(rf"^\s+(\d+)\s+{re.escape(label)}", report, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{report}"
    return int(match.group(1))


def test_the_suggested_rule_fixes_a_wrong_rule(world: World):
    scanned = [world.add_scene(f"studio/film-{n}", title=f"Film {n}") for n in range(4)]
    world.add_scene("studio/unscanned", title="Unscanned", scanned=False)
    world.stash.add_scene(title="Private", files=({"path": f"{STASH_ROOT}/private/p.mp4", "size": 5, "duration": 1},))
    world.configure_plugin(path_map=f"{STASH_ROOT}=/srv/wrong")

    report = match_report(world)
    assert count(report, "matched by path") == 0
    assert count(report, "outside your Plex libraries") == 6
    suggested = re.search(r"^\s+(\S+=\S+)\s+\(would fix (\d+) scene", report, re.MULTILINE)
    assert suggested, report
    assert suggested.groups() == (f"{STASH_ROOT}={PLEX_ROOT}", "4")
    assert f"{STASH_ROOT}/private/p.mp4" in report  # unmatched paths are listed

    world.configure_plugin(path_map=suggested.group(1))
    report = match_report(world)
    assert count(report, "matched by path") == 4
    assert count(report, "waiting for a Plex scan") == 1
    assert count(report, "outside your Plex libraries") == 1

    world.start_consumer()
    for scene_id, _ in scanned:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    for n, (_, rating_key) in enumerate(scanned):
        wait_until(lambda rk=rating_key, n=n: world.plex.item(rk).title == f"Film {n}", message=f"film {n} synced")


def test_a_wrong_rule_is_matched_by_name_and_size_and_reported(world: World):
    scene_id, rating_key = world.add_scene("studio/exact-size", title="Sized")
    world.plex.library.items[rating_key].media[0].parts[0].size = 1000  # what Stash reports for it
    world.configure_plugin(path_map=f"{STASH_ROOT}=/srv/wrong")
    report = match_report(world)
    assert count(report, "matched by file name and size only") == 1
    assert f"{STASH_ROOT}={PLEX_ROOT}" in report

    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: world.plex.item(rating_key).title == "Sized", message="synced by the fallback")
    # the outcome line is written once the job is done, a moment after its edit reached Plex
    wait_until(lambda: "matched by fallback" in world.logs(), message="the outcome line naming the fallback")


def test_the_stash_task_prints_the_report(world: World):
    world.add_scene("one", title="One")
    invocation = world.host.run_task("Match report")
    assert invocation.error is None, invocation
    assert "1  matched by path" in invocation.output
    stash_queries = [r for r in world.stash.requests if r.path == "/graphql"]
    # the report: stashapi's 3 at connect, the settings, one page of scenes; before it, every task run's
    # settings check (plexsync.plugin.settings_page): stashapi's 3, the map, the defaults stored once
    assert len(stash_queries) <= 6 + 5
