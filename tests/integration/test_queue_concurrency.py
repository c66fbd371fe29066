"""8 hook processes firing 500 scene events each, against a running consumer:
no "database is locked", no lost edit; the burst is coalesced."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.integration.conftest import World
from tests.support import REPO, wait_until

PROCESSES = 8
EVENTS = 500
SCENES = 50

# Each process runs the plugin's real entry point 500 times, as 500 hook
# firings would, and reports any error reply it got.
FIRE = """
import io, json, sys
sys.path.insert(0, {repo!r})
from plexsync.plugin.protocol import main
scene_ids, errors = {scene_ids!r}, []
for n in range({events}):
    event = {{"args": {{"hookContext": {{"id": int(scene_ids[n % len(scene_ids)]), "type": "Scene.Update.Post"}}}}}}
    out = io.StringIO()
    main(io.StringIO(json.dumps(event)), out)
    reply = json.loads(out.getvalue())
    if "output" not in reply:
        errors.append(reply)
print(json.dumps(errors))
"""


@pytest.mark.slow
def test_eight_hook_processes_with_500_events_each_lose_nothing(world: World):
    scenes = world.add_scenes(SCENES, prefix="burst")
    consumer = world.start_consumer(workers=4)
    script = FIRE.format(repo=str(REPO), scene_ids=[s for s, _ in scenes], events=EVENTS)
    env = {**world.env, **world.hook_env()}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
        assert stdout.strip() == "[]", stdout[:2000]
        assert "locked" not in stderr

    # Coalesced: far fewer syncs than events, yet every scene synced.
    def executed() -> int:
        return len(re.findall(r"scene \d+ synced: ", consumer.log()))  # one line per job outcome

    wait_until(lambda: world.queued() == 0, timeout=600, interval=0.5, message="queue drained")
    assert len(scenes) <= executed() < PROCESSES * EVENTS
    assert "database is locked" not in world.logs()
    assert world.dead_letters() == []
    assert all(world.plex.item(rk).title == f"burst title {i}" for i, (_, rk) in enumerate(scenes))

    # An edit after the burst is never swallowed by it.
    for i, (scene_id, _) in enumerate(scenes):
        world.stash.update_scene(scene_id, title=f"after burst {i}")
    script = FIRE.format(repo=str(REPO), scene_ids=[s for s, _ in scenes], events=len(scenes))
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, env=env, timeout=600)
    wait_until(
        lambda: all(world.plex.item(rk).title == f"after burst {i}" for i, (_, rk) in enumerate(scenes)),
        timeout=120,
        message="the newest edits synced",
    )
