"""``plexsync sync``: in-process syncs with exact outcome counts."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import termios
import time

from plexsync.tools.exitcodes import ExitCode
from tests.integration.conftest import PLEX_ROOT, World
from tests.integration.test_cli_status_doctor import cli
from tests.support import REPO


def test_sync_all_counts_synced_failed_and_waiting_without_a_worker(world: World):
    scanned = [world.add_scene(f"bulk-{i}", title=f"bulk {i}") for i in range(6)]
    for i in range(2):
        world.add_scene(f"late-{i}", scanned=False)  # inside the Movies folder, not in Plex yet
    result = cli(world, "sync", "--all")
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    assert "syncing 8 scene(s) from Stash" in result.stdout
    assert result.stdout.rstrip().endswith("6 synced, 0 failed, 0 outside Plex, 2 waiting for a Plex scan")
    assert [request.path for request in world.plex.scan_requests] == [f"{PLEX_ROOT}/movies"]  # one folder, once
    for i, (_, rating_key) in enumerate(scanned):
        assert world.plex.item(rating_key).title == f"bulk {i}"
    assert world.queued() == 0  # nothing went through the queue


def test_sync_of_given_scenes_reports_each_and_exits_non_zero_on_failure(world: World):
    (scene_id, rating_key), _ = world.add_scene("one", title="one title"), world.add_scene("two")
    result = cli(world, "sync", scene_id, "424242")
    assert result.returncode == ExitCode.SYNC_FAILED
    assert f"scene {scene_id} synced: 'one title' -> Plex item(s) {rating_key}" in result.stdout
    assert "scene 424242 failed: SceneNotFound: scene 424242 does not exist in Stash (deleted?)" in result.stdout
    assert result.stdout.rstrip().endswith("1 synced, 1 failed, 0 outside Plex")
    assert world.plex.item(rating_key).title == "one title"


def test_sync_removes_the_dead_letter_of_a_scene_it_syncs(world: World):
    scene_id, _ = world.add_scene("fixed", title="fixed", scanned=False)
    world.start_consumer(PLEXSYNC_RETRIES="0")
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    from tests.support import wait_until

    wait_until(lambda: len(world.dead_letters()) == 1, timeout=60, message="dead letter")
    world.plex.add_movie(world.section_id, files=["/media/plex/movies/fixed.mp4"])  # Plex scanned it
    result = cli(world, "sync", scene_id)
    assert result.returncode == ExitCode.OK, result.stdout
    assert world.dead_letters() == []


def test_sync_stops_with_the_status_of_an_unavailable_server(world: World):
    scene_id, _ = world.add_scene("x")
    world.plex.down()
    down = cli(world, "sync", scene_id)
    assert down.returncode == ExitCode.PLEX_UNREACHABLE
    assert f"Error: Plex at {world.plex.url}: Plex is unreachable" in down.stderr
    world.plex.up()
    world.configure_plugin(plex_token="wrong-token-0000")
    refused = cli(world, "sync", "--all")
    assert refused.returncode == ExitCode.PLEX_AUTH
    assert "Plex rejected the token (HTTP 401); fix: 'Plex token' on Stash's plugin page" in refused.stderr
    assert "or PLEXSYNC_PLEX_TOKEN" in refused.stderr  # the command line keeps the variable's name
    no_key = cli(world, "sync", scene_id, env={k: v for k, v in world.env.items() if k != "PLEXSYNC_STASH_API_KEY"})
    assert no_key.returncode == ExitCode.STASH_AUTH
    assert f"Stash at {world.stash.url}: Stash rejected the API key" in no_key.stderr


def test_sync_of_scenes_none_of_which_is_in_plex_points_to_doctor(world: World):
    scene_id, _ = world.add_scene("y")
    world.configure_plugin(path_map="/data/stash=/media/wrong")
    result = cli(world, "sync", scene_id)
    assert result.returncode == ExitCode.PATH_RULES
    assert "0 synced, 0 failed, 1 outside Plex" in result.stdout
    assert "'plexsync doctor' checks the path rules" in result.stderr


def test_sync_usage_errors(world: World):
    assert cli(world, "sync").returncode == ExitCode.USAGE
    bad = cli(world, "sync", "12abc")
    assert bad.returncode == ExitCode.USAGE and "not a scene id: 12abc" in bad.stderr


def test_version_and_purge_confirmation(world: World):
    version = cli(world, "--version")
    assert version.returncode == 0 and version.stdout.startswith("plexsync, version ")
    scene_id, _ = world.add_scene("z", scanned=False)
    world.start_consumer(PLEXSYNC_RETRIES="0")
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    from tests.support import wait_until

    wait_until(lambda: len(world.dead_letters()) == 1, timeout=60, message="dead letter")
    for answer in ("", "n\n"):
        refused = cli(world, "dlq", "purge", answer=answer)
        assert refused.returncode == 1 and "remove 1 dead letter(s)?" in refused.stdout
        assert len(world.dead_letters()) == 1
    confirmed = cli(world, "dlq", "purge", answer="y\n")
    assert confirmed.returncode == 0 and confirmed.stdout.strip().endswith("removed 1 dead letter(s)")
    assert cli(world, "dlq", "purge", "--yes").stdout.strip() == "removed 0 dead letter(s)"
    conn = sqlite3.connect(str(world.data_dir / "plexsync.db"))
    assert conn.execute("select count(*) from dead_letter").fetchone()[0] == 0


def _run_in_terminal(command: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run ``command`` on a pseudo-terminal (100 columns), as a user at a shell; its output."""
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(command, stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env, cwd=REPO)
    os.close(child_fd)
    output, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=10)
    os.close(main_fd)
    return output.decode(errors="replace")


def test_sync_all_in_a_terminal_shows_a_progress_bar_with_rate_and_eta(world: World):
    world.add_scenes(30)
    world.plex.faults.add(r"^/library/sections/\d+/all$", method="PUT", delay=0.02)  # long enough to draw the bar
    out = _run_in_terminal([str(REPO / "bin" / "plexsync"), "sync", "--all", "--jobs", "2"], world.env)
    final = out.replace("\r", "\n")
    assert re.search(r"100%\|.*\| 30/30 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+scene/s, 0 failed, 0 outside Plex\]", final), out
    assert "30 synced, 0 failed, 0 outside Plex" in final
