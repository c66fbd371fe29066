"""Dead letters from the command line, and the periodic cleanup."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

from tests.integration.conftest import World
from tests.integration.test_state_schema import OLD_DEAD_LETTER, OLD_ROW
from tests.support import REPO, wait_until


def cli(world: World, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plexsync", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=world.env,
        timeout=60,
    )


def make_dead_letters(world: World, count: int) -> list[tuple[str, int]]:
    """Scenes whose files Plex does not know: each ends as a dead letter."""
    scenes = [world.add_scene(f"missing-{i}", title=f"missing {i}", scanned=False) for i in range(count)]
    world.start_consumer(PLEXSYNC_RETRIES="1")
    for scene_id, _ in scenes:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: len(world.dead_letters()) == count, timeout=60, message="dead letters")
    return scenes


def test_dlq_commands_list_show_retry_and_purge(world: World):
    scenes = make_dead_letters(world, 2)
    letters = world.dead_letters()
    assert {letter["error_class"] for letter in letters} == {"ItemNotInPlex"}
    assert all(letter["attempts"] == 2 for letter in letters)  # first try + 1 retry

    listing = cli(world, "dlq", "list")
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.strip().splitlines()) == 2
    assert "no Plex item has the file '/media/plex/movies/missing-0.mp4'" in listing.stdout

    first = letters[0]
    shown = cli(world, "dlq", "show", str(first["id"]))
    assert f"scene: {first['scene_id']}" in shown.stdout and "attempts: 2" in shown.stdout
    assert cli(world, "dlq", "show", "999").returncode != 0

    # Plex scans the first file; retrying its dead letter syncs it and removes the row.
    scene_id = first["scene_id"]
    index = [s for s, _ in scenes].index(scene_id)
    rating_key = world.plex.add_movie(world.section_id, files=[f"/media/plex/movies/missing-{index}.mp4"])
    retried = cli(world, "dlq", "retry", str(first["id"]))
    assert "re-queued 1 dead letter" in retried.stdout
    wait_until(lambda: world.plex.item(rating_key).title == f"missing {index}", timeout=60, message="retried sync")
    wait_until(
        lambda: [row["id"] for row in world.dead_letters()] == [letters[1]["id"]], timeout=30, message="row gone"
    )

    assert cli(world, "dlq", "retry").returncode != 0  # neither ids nor --all
    purged = cli(world, "dlq", "purge", "--yes")
    assert purged.stdout.strip() == "removed 1 dead letter(s)"
    assert world.dead_letters() == []


def test_a_retried_forced_sync_is_forced_again(world: World):
    """A forced sync writes everything, also over a title edited in Plex by
    hand. Its dead letter keeps the job's keyword arguments, so the retry
    forces too; as a plain sync it would send nothing Stash had not changed,
    and the hand edit would stay."""
    scene_id, rating_key = world.add_scene("forced", title="Stash title")
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    wait_until(lambda: world.plex.item(rating_key).title == "Stash title", timeout=60, message="first sync")
    wait_until(lambda: world.queued() == 0, timeout=30, message="queue drained")
    with world.plex.library.lock:
        world.plex.library.item(rating_key).title = "Renamed in Plex"
    files = tuple({"path": f["path"], "size": 1, "duration": 1.0} for f in world.stash.scene(scene_id)["files"])
    world.stash.destroy_scene(scene_id)
    enqueue = f"from plexsync.tasks import enqueue_scene; enqueue_scene({scene_id!r}, force=True)"
    subprocess.run([sys.executable, "-c", enqueue], cwd=REPO, env=world.env, check=True, timeout=60)
    wait_until(lambda: len(world.dead_letters()) == 1, timeout=60, message="the forced sync's dead letter")
    [letter] = world.dead_letters()
    assert (letter["error_class"], json.loads(letter["kwargs"])) == ("SceneNotFound", {"force": True})
    assert f"scene {scene_id} (forced sync): SceneNotFound" in cli(world, "dlq", "list").stdout

    world.stash.add_scene(id=scene_id, title="Stash title", files=files)  # restored as it was
    assert "re-queued 1 dead letter" in cli(world, "dlq", "retry", "--all").stdout
    wait_until(lambda: world.plex.item(rating_key).title == "Stash title", timeout=60, message="forced again")
    wait_until(lambda: world.dead_letters() == [], timeout=30, message="dead letter removed after success")


def test_a_state_database_from_before_a_new_column_is_brought_up_to_date(world: World):
    """A user upgrading keeps their state database: a column a table gained
    since (here the dead letters' keyword arguments) is added, old rows stay
    readable and retryable."""
    world.data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(world.data_dir / "plexsync.db"))
    conn.execute(OLD_DEAD_LETTER.format(serial="integer"))
    conn.execute(OLD_ROW)
    conn.commit()
    conn.close()

    listing = cli(world, "dlq", "list")
    assert listing.returncode == 0, listing.stderr
    assert "#1 scene 5: SceneNotFound" in listing.stdout
    [letter] = world.dead_letters()
    assert letter["kwargs"] is None  # the old row, with the new column
    assert "re-queued 1 dead letter" in cli(world, "dlq", "retry", "1").stdout


def test_periodic_cleanup_is_scheduled_hourly(world: World):
    """The consumer's scheduler asks huey which periodic tasks are due; ask it too."""
    probe = (
        "import datetime; from huey_config import huey;"
        "due = lambda h, m: [t.name for t in huey.read_periodic(datetime.datetime(2026, 1, 1, h, m))];"
        "print([due(0, 23), due(5, 23), due(5, 24)])"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=world.env)
    assert result.stdout.strip() == str([["cleanup"], ["cleanup"], []]), result.stderr


def test_cleanup_expires_old_dead_letters_and_compacts_the_queue_file(world: World):
    make_dead_letters(world, 2)
    for consumer in world.consumers:
        consumer.stop()
    state = sqlite3.connect(str(world.data_dir / "plexsync.db"))
    old_id = state.execute("select min(id) from dead_letter").fetchone()[0]
    with state:
        state.execute("update dead_letter set last_failed_at = ? where id = ?", (time.time() - 40 * 86400, old_id))
    state.close()

    # A burst of 3,000 jobs that were then handled leaves free pages behind.
    queue = sqlite3.connect(str(world.data_dir / "queue.db"))
    with queue:
        queue.executemany("insert into task (queue, data, priority) values ('plexsync', ?, 0)", [(b"x" * 2000,)] * 3000)
    with queue:
        queue.execute("delete from task")
    queue.execute("pragma wal_checkpoint(truncate)")
    queue.close()
    size_before = (world.data_dir / "queue.db").stat().st_size

    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, huey_config; from plexsync.worker import maintenance; "
            "print(json.dumps(maintenance.cleanup()))",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=world.env,
        timeout=60,
    )
    report = json.loads(run.stdout)
    assert report["dead_letters"] == 1 and report["vacuumed"] >= 1, report
    assert [row["id"] for row in world.dead_letters()] != [old_id]
    assert len(world.dead_letters()) == 1
    assert (world.data_dir / "queue.db").stat().st_size < size_before / 4
