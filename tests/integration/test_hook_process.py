"""The hook process as Stash runs it: bad input never drops a job, never
shows a traceback, never exits non-zero, and good input only enqueues."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import World
from tests.support import REPO

HEAVY_MODULES = ("plexapi", "stashapi", "requests", "redis", "peewee")


def run_entry_script(world: World, stdin: str) -> subprocess.CompletedProcess:
    """Start the plugin's entry script the way Stash's exec line does."""
    return subprocess.run(
        [sys.executable, str(REPO / "stash_plugin.py")],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=world.tmp,
        env={**world.env, **world.hook_env()},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("stdin", "reason"),
    [
        ("", "no input on stdin"),
        ("{not json", "input is not JSON"),
        ('"just a string"', "no 'args' object"),
        ('{"server_connection": {}}', "no 'args' object"),
        ('{"args": {}}', "unknown task mode"),
        ('{"args": {"hookContext": null}}', "hookContext is not an object"),
        ('{"args": {"hookContext": {"id": 5, "type": "Performer.Update.Post"}}}', "is not handled"),
        ('{"args": {"hookContext": {"id": "DROP TABLE", "type": "Scene.Update.Post"}}}', "is not a scene id"),
        ('{"args": {"hookContext": {"id": "\\ud83c\\udfac", "type": "Scene.Update.Post"}}}', "is not a scene id"),
    ],
)
def test_bad_input_gets_a_one_line_error_exit_zero_and_enqueues_nothing(world: World, stdin: str, reason: str):
    result = run_entry_script(world, stdin)
    assert result.returncode == 0
    assert result.stderr == ""  # no traceback reaches Stash's log
    reply = json.loads(result.stdout)
    assert set(reply) == {"error"}
    assert reason in reply["error"] and "\n" not in reply["error"]
    assert world.queued() == 0


def test_scene_hooks_enqueue_one_job_each_and_the_manifest_subscribes_to_them(world: World):
    assert world.host.fire_hook("Scene.Create.Post", 7, {"title": "new"}, ["title"])[0].output == (
        "queued Plex sync of scene 7"
    )
    [update] = world.host.fire_hook("Scene.Update.Post", 8, {"id": "8", "title": "x"}, ["id", "title"])
    assert update.error is None and update.returncode == 0
    assert update.stdin["args"]["hookContext"]["input"]["details"] is None  # fields not set are null
    assert world.queued() == 2
    # Stash only starts the plugin for the triggers its manifest lists.
    assert world.host.fire_hook("Performer.Update.Post", 3, {"id": "3"}, ["id"]) == []
    assert world.queued() == 2


def test_the_hook_process_imports_nothing_heavy(world: World):
    probe = (
        f"import io, json, sys; sys.path.insert(0, {str(REPO)!r});"
        "sys.stdin = io.StringIO(json.dumps({'args': {'hookContext': {'id': 9, 'type': 'Scene.Update.Post'}}}));"
        "from plexsync.ops.plugin import main; main();"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules and sys.modules[m] is not None))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**world.env}, timeout=60, cwd=world.tmp
    )
    lines = result.stdout.strip().splitlines()
    assert json.loads(lines[0]) == {"output": "queued Plex sync of scene 9"}
    assert lines[1] == "[]", result.stdout
    assert world.queued() == 1


def test_a_setup_error_is_reported_in_one_line(world: World):
    env = {**world.env, "PLEXSYNC_REDIS_URL": "not-a-url"}
    result = subprocess.run(
        [sys.executable, str(REPO / "stash_plugin.py")],
        input=json.dumps({"args": {"hookContext": {"id": 1, "type": "Scene.Update.Post"}}}),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "PLEXSYNC_REDIS_URL" in json.loads(result.stdout)["error"]
