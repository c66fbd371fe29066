"""What a user sees in Stash's log at its default level, Info (issue #17, parts 1-4).

Stash logs a task's ``output`` at Debug and its ``error`` at Error (the plugin host records the log as
Stash writes it: emulators/plugin_host/process.py), so every assertion here is on
:meth:`Invocation.shown`, the lines the log page shows at Info. A report the user must read is there, in
Stash's words: a fix names the setting as the plugin page shows it, the task to run, and the variable only
when one in Stash's environment overrides the page.
"""

from __future__ import annotations

import re

from emulators.plugin_host import Invocation, PluginHost
from plexsync.config import PLUGIN_ID
from tests.integration.conftest import PLEX_ROOT, STASH_ROOT, World
from tests.support import REPO, wait_until

#: What a Stash user cannot act on: shell commands, and variables nobody set (these tests' Stash has only
#: PLEXSYNC_DATA_DIR and PLEXSYNC_WORKER_MODE in its environment, which may be named as where a value comes from).
SHELL_WORDS = re.compile(r"plexsync (doctor|status|dlq|match-report)|run\.py|PLEXSYNC_(PLEX|STASH|PATH)_[A-Z_]+")


def _shown(invocation: Invocation) -> list[str]:
    assert invocation.error is None, invocation
    lines = [line.message for line in invocation.shown()]
    for line in lines:
        assert not SHELL_WORDS.search(line), line
    return lines


def _hook(world: World, scene_id: str) -> None:
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])


def test_every_tasks_report_is_visible_at_info_as_lines_a_user_reads(world: World):
    scenes = [world.add_scene(f"log-{i}", title=f"log {i}") for i in range(4)]
    # one scene in a folder no path rule covers
    fallback_id, _ = world.add_scene(
        "fallback", files=({"path": "/elsewhere/movies/fallback.mp4", "size": 1000, "duration": 60.0},)
    )
    world.plex.add_movie(world.section_id, files=[f"{PLEX_ROOT}/movies/fallback.mp4"])
    gone_id, _ = world.add_scene("gone", title="deleted before its sync")
    world.stash.destroy_scene(gone_id)
    world.start_consumer(PLEXSYNC_RETRIES="0")
    _hook(world, gone_id)
    wait_until(lambda: world.dead_letters(), message="the dead letter")

    sync_all = _shown(world.host.run_task("Sync all scenes"))
    assert re.fullmatch(r"PlexSync Sync all scenes: sync all: 5 of 5 scenes done by the worker .*", sync_all[-1])
    for _, rating_key in scenes:
        assert world.plex.item(rating_key).title.startswith("log ")

    status = _shown(world.host.run_task("Status"))
    assert any(re.match(r"PlexSync Status: worker: alive \(\S+ pid \d+, external mode", line) for line in status)
    assert any(line.startswith("PlexSync Status: queue: ") and "1 dead letter(s)" in line for line in status)
    assert (
        "PlexSync Status: 1 dead letter(s): the task 'List dead letters' shows them, 'Retry dead letters' "
        "retries them" in status
    )
    assert status[-1] == "PlexSync Status: 1 problem(s) (the lines below)"

    doctor = _shown(world.host.run_task("Doctor"))
    assert any(line.startswith("PlexSync Doctor: [ok] Stash: ") for line in doctor)
    assert any(line.startswith("PlexSync Doctor: [ok] Plex: ") for line in doctor)
    assert any(line.startswith("PlexSync Doctor: [ok] Path rules: ") for line in doctor)
    assert doctor[-1] == "PlexSync Doctor: Everything PlexSync needs works."

    report = world.host.run_task("Match report")
    [summary] = [line for line in report.shown() if line.message.startswith("PlexSync Match report: 5 scene(s)")]
    assert summary.level == "warning"
    assert summary.message.startswith("PlexSync Match report: 5 scene(s) in Stash: 4 matched by path, ")
    assert "fix: set 'Path rules' on Stash's plugin page (Settings > Plugins > Stash Plex Sync) to " in summary.message
    assert summary.message.endswith(" to /data/stash=/media/plex;/elsewhere=/media/plex")
    listed = f"PlexSync Match report: scene {fallback_id} [outside] /elsewhere/movies/fallback.mp4; Plex has "
    assert any(line.startswith(listed) for line in _shown(report))

    letters = world.host.run_task("List dead letters")
    shown = _shown(letters)
    assert any(re.match(rf"PlexSync List dead letters: #\d+ scene {gone_id}: ", line) for line in shown)
    [summary] = [line for line in letters.shown() if line.message.startswith("PlexSync List dead letters: 1 dead")]
    assert summary.level == "warning" and "the task 'Retry dead letters' queues them again" in summary.message

    for task, said in (
        ("Retry dead letters", "PlexSync Retry dead letters: re-queued 1 dead letter(s)"),
        ("Force full sync", "PlexSync Force full sync: queued a forced Plex sync of every scene"),
        ("Copy from Plex now", "PlexSync Copy from Plex now: queued a copy of the plays"),
    ):
        assert any(line.startswith(said) for line in _shown(world.host.run_task(task))), task


def test_a_fresh_installs_doctor_lists_every_missing_setting_at_once(world: World):
    world.stash.set_plugin_settings(PLUGIN_ID, {})
    doctor = world.host.run_task("Doctor")
    warnings = [line.message for line in doctor.shown() if line.level == "warning"]
    page = "on Stash's plugin page (Settings > Plugins > Stash Plex Sync)"
    link = "run the task Link Plex account, or fill it in"
    assert f"PlexSync Doctor: [FAIL] Settings: 'Plex URL' is not set; fix: {link}: 'Plex URL' {page}" in warnings
    assert f"PlexSync Doctor: [FAIL] Settings: 'Plex token' is not set; fix: {link}: 'Plex token' {page}" in warnings
    assert "PlexSync Doctor: 2 problem(s) found, each with its fix (below)" in warnings
    assert any("Path rules: not tested (needs valid settings and Plex)" in line for line in _shown(doctor))


def test_a_token_set_by_an_environment_variable_gets_a_fix_that_names_the_variable(world: World):
    env = {**world.hook_env(), "PLEXSYNC_PLEX_TOKEN": "wrong-token-0000"}
    host = PluginHost(REPO, world.stash, env=env, stash_dir=world.tmp / "stash-env-token")
    doctor = host.run_task("Doctor")
    [failed] = [line.message for line in doctor.shown() if "[FAIL] Plex:" in line.message]
    assert "refused the Plex token (HTTP 401)" in failed
    assert (
        "fix: put a valid X-Plex-Token of a Plex admin account into PLEXSYNC_PLEX_TOKEN in Stash's environment "
        "(it overrides 'Plex token' on the plugin page)" in failed
    )
    assert "wrong-token-0000" not in doctor.stdout + "\n".join(line.message for line in doctor.stash_log)


def test_a_second_worker_started_by_hand_says_so_and_status_shows_both(world: World):
    first = world.start_consumer()
    second = world.start_consumer()
    pids = (first.process.pid, second.process.pid)
    said = wait_until(
        lambda: re.search(r"1 other worker\(s\) already take jobs from this queue: pid (\d+)", second.log())
    )
    assert int(said.group(1)) == pids[0]
    status = _shown(world.host.run_task("Status"))
    [worker] = [line for line in status if line.startswith("PlexSync Status: worker: ")]
    assert worker.startswith("PlexSync Status: worker: 2 alive on this queue: ")
    assert all(f"pid {pid} on " in worker for pid in pids) and worker.count("started by hand") == 2

    scene_id, rating_key = world.add_scene("two-workers", title="Synced by either")
    _hook(world, scene_id)
    wait_until(lambda: world.plex.item(rating_key).title == "Synced by either", message="the sync")
    assert f"{STASH_ROOT}" not in worker
