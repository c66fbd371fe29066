"""Issue #11 item 5: state shared by every consumer and by Stash.

The scenarios every user relies on, each run on one machine (SQLite in one
data directory) and on three machines sharing Redis and PostgreSQL
(``shared_world``: every consumer a separate process with a data directory of
its own, the plugin host, Stash's machine, with yet another). Three
consumers each time. Then what only a database server brings: its
connections dropped (a restart), and it being unreachable for a while.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.integration.conftest import PLEX_ROOT, REDIS_URL, World, _make_world, require_redis, terminate_connections
from tests.support import REPO, wait_until

EDIT = re.compile(r"^/library/sections/\d+/all$")
POSTER = re.compile(r"^/library/metadata/\d+/posters$")
KILLED = r"re-queued \d+ job\(s\) left running by a consumer that was killed"


def synced_count(world: World, scenes: list[tuple[str, int]], prefix: str) -> int:
    return sum(world.plex.item(rk).title == f"{prefix} title {i}" for i, (_, rk) in enumerate(scenes))


def wait_all_synced(world: World, scenes: list[tuple[str, int]], prefix: str, timeout: float = 180) -> None:
    """Every item right once no job is left (a title alone may come from a
    killed run's edit, before its re-run uploads the cover)."""
    wait_until(lambda: synced_count(world, scenes, prefix) == len(scenes), timeout=timeout, message="all synced")
    wait_until(lambda: world.queued() == 0, timeout=timeout, message="no job queued, scheduled or running")
    for i, (scene_id, rk) in enumerate(scenes):
        item = world.plex.item(rk)
        assert item.genres == [f"{prefix}-tag"] and item.poster == world.stash.screenshot(scene_id), i
        assert {"title", "genre", "thumb"} <= item.locked


def plex_requests(world: World, method: str, path: re.Pattern[str]) -> int:
    return sum(r.method == method and bool(path.match(r.path)) for r in world.plex.requests)


def log_lines(world: World, pattern: str) -> list[str]:
    return [line for line in world.logs().splitlines() if re.search(pattern, line)]


#: The outcome line of one bulk page (plexsync.sync.worker.run_sync_page).
PAGE = r"page of ids \S+: "


def paged_scenes(lines: list[str]) -> int:
    """Scenes the bulk pages in ``lines`` dealt with (synced, or left to their own newer sync)."""
    counts = (re.search(r": (\d+) synced(?:.*?, (\d+) left to their own newer sync)?", line) for line in lines)
    return sum(int(m.group(1)) + int(m.group(2) or 0) for m in counts if m)


def sync_all(world: World) -> None:
    """The task as Stash starts it; it follows the run, these tests do not wait for it."""
    world.host.start_task("Sync all scenes")


def hook(world: World, scene_id: str) -> None:
    [invocation] = world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    assert invocation.error is None, invocation


def assert_nothing_kept_locally(world: World) -> None:
    """On several machines no state may hide in one machine's data directory."""
    if world.separate_machines:
        local = [path for data_dir in world.data_dirs() for path in data_dir.glob("*.db")]
        assert local == [], local


# -- the shared scenarios, on one machine and on three ------------------------


def test_hooks_and_sync_all_through_three_consumers_each_cover_uploaded_once(shared_world: World):
    """What was last written to each item is shared: a second full sync, whichever
    consumer takes each scene, sends no edit and uploads no cover again (nor does
    the first one for the scene the hook synced)."""
    world = shared_world
    scenes = world.add_scenes(60, prefix="e2e")
    world.plex.faults.add(".*", delay=0.02)
    consumers = world.start_consumers(3)
    hook(world, scenes[0][0])
    wait_until(lambda: world.plex.item(scenes[0][1]).title == "e2e title 0", message="the hook's sync")
    sync_all(world)
    wait_all_synced(world, scenes, "e2e")
    first_pass = len(log_lines(world, PAGE))
    sync_all(world)  # again: nothing changed, nothing is sent
    wait_until(
        lambda: paged_scenes(log_lines(world, PAGE)[first_pass:]) == len(scenes), timeout=120, message="second pass"
    )
    wait_until(lambda: world.queued() == 0, message="queue drained")
    assert plex_requests(world, "PUT", EDIT) == len(scenes)  # the hook's scene too: once
    assert plex_requests(world, "POST", POSTER) == len(scenes)
    assert world.dead_letters() == []
    synced = r"scene \d+ synced|page of ids \S+: [1-9]\d* synced"  # a hook's job, a bulk page
    worked = [len(re.findall(synced, consumer.log())) for consumer in consumers]
    assert all(worked), worked  # every consumer took jobs
    assert not log_lines(world, "Error occurred in startup hook")  # three started at once
    assert_nothing_kept_locally(world)


def test_a_dead_letter_recorded_by_a_worker_is_listed_retried_and_purged_from_stash(shared_world: World):
    world = shared_world
    missing_id, _ = world.add_scene("missing", title="missing", scanned=False)
    gone_id, _ = world.add_scene("gone", title="gone")
    world.stash.destroy_scene(gone_id)
    world.start_consumers(3, PLEXSYNC_RETRIES="1")
    hook(world, missing_id)
    for failures in (1, 2):  # the same job failing twice (on any consumer) stays one dead letter
        hook(world, gone_id)
        wait_until(
            lambda f=failures: [row["failures"] for row in world.dead_letters() if row["scene_id"] == gone_id] == [f],
            message=f"dead letter failure {failures}",
        )
    wait_until(lambda: len(world.dead_letters()) == 2, message="both dead letters")
    assert log_lines(world, "dead letter #")  # recorded by a consumer...

    listing = world.host.run_task("List dead letters")  # ...listed by Stash, on its own machine
    assert listing.error is None, listing
    assert listing.output.startswith("2 dead letter(s)")
    assert f"scene {missing_id}: ItemNotInPlex" in listing.output
    assert f"scene {gone_id}: SceneNotFound" in listing.output

    rating_key = world.plex.add_movie(world.section_id, files=[f"{PLEX_ROOT}/movies/missing.mp4"])  # Plex scans it
    retry = world.host.run_task("Retry dead letters")
    assert "re-queued 2 dead letter(s)" in retry.output, retry
    wait_until(lambda: world.plex.item(rating_key).title == "missing", message="the retried sync")
    wait_until(lambda: [row["scene_id"] for row in world.dead_letters()] == [gone_id], message="its letter resolved")
    wait_until(lambda: world.dead_letters()[0]["failures"] == 3, message="the retry of the deleted scene failed again")

    purge = subprocess.run(  # the CLI on Stash's machine (no Stash task: a purge asks first)
        [sys.executable, "-m", "plexsync", "dlq", "purge", "--yes"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=world.env,
        timeout=60,
    )
    assert purge.stdout.strip() == "removed 1 dead letter(s)", purge
    assert world.dead_letters() == []
    assert_nothing_kept_locally(world)


def test_plex_outage_is_reported_once_by_three_consumers_and_the_backlog_drains(shared_world: World):
    world = shared_world
    scenes = world.add_scenes(60, prefix="outage")
    world.plex.down()
    world.start_consumers(3)
    sync_all(world)
    wait_until(lambda: log_lines(world, "Plex is unreachable"), timeout=60, message="outage noticed")
    wait_until(lambda: world.queued() >= 1, timeout=60, message="the bulk pages queued")
    wait_until(lambda: world.outage_failures("plex") >= 4, timeout=60, message="several probes while down")
    assert world.dead_letters() == []
    world.plex.up()
    wait_all_synced(world, scenes, "outage")
    assert world.dead_letters() == []
    reports = log_lines(world, "Plex is unreachable")
    assert len(reports) == 1, reports  # once, not once per consumer
    assert log_lines(world, "Plex is reachable again")
    assert world.outage_failures("plex") == 0  # closed for everyone


def test_one_of_three_consumers_sigkilled_mid_batch_loses_nothing(shared_world: World):
    world = shared_world
    scenes = world.add_scenes(120, prefix="kill")
    world.plex.faults.add(".*", delay=0.06)  # keep jobs in flight long enough to be killed in
    victim, *_ = world.start_consumers(3)
    sync_all(world)
    for _ in range(2):
        floor = synced_count(world, scenes, "kill")
        if floor > len(scenes) - 30:
            break
        wait_until(lambda f=floor: synced_count(world, scenes, "kill") >= f + 10, timeout=120, message="progress")
        victim.kill()
        victim = world.restart_consumer(victim)  # on its own machine, as its service manager would
    wait_all_synced(world, scenes, "kill", timeout=240)
    assert world.dead_letters() == []
    wait_until(lambda: world.queued() == 0, timeout=60, message="no claim left behind")
    assert log_lines(world, KILLED)


# -- what only a database server brings ----------------------------------------


def test_tables_are_created_once_by_processes_starting_together(postgres_url: str, tmp_path: Path):
    """Concurrent ``CREATE TABLE IF NOT EXISTS`` in PostgreSQL can fail with a
    duplicate key in ``pg_type``; the schema lock makes it wait instead."""
    script = (
        "import sys; from plexsync.config import Bootstrap; from plexsync.state import db, outage;"
        "db.open_state(Bootstrap.from_env()); outage.record_success('plex'); print('ready')"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")},
        "PLEXSYNC_DATABASE_URL": postgres_url,
    }
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={**env, "PLEXSYNC_DATA_DIR": str(tmp_path / f"machine-{i}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    results = [process.communicate(timeout=120) for process in starts]
    assert [out for out, _ in results] == ["ready\n"] * len(starts), [err for _, err in results]


def test_consumers_carry_on_when_the_database_drops_every_connection(machines_world: World):
    """``pg_terminate_backend`` on every connection is what a PostgreSQL restart
    looks like to its clients ("terminating connection due to administrator
    command", then "connection already closed" on the next use)."""
    world = machines_world
    scenes = world.add_scenes(90, prefix="drop")
    world.plex.faults.add(".*", delay=0.04)
    consumers = world.start_consumers(3)
    sync_all(world)
    dropped = 0
    for _ in range(3):
        floor = synced_count(world, scenes, "drop")
        if floor > len(scenes) - 15:
            break
        wait_until(lambda f=floor: synced_count(world, scenes, "drop") >= f + 8, timeout=120, message="progress")
        dropped += terminate_connections(world.env["PLEXSYNC_DATABASE_URL"])
    assert dropped >= 3
    wait_all_synced(world, scenes, "drop")
    assert world.dead_letters() == []
    assert all(consumer.alive() for consumer in consumers)
    assert not log_lines(world, r"Error occurred in (receiver|startup hook)")


class TcpProxy:
    """A TCP forwarder the test can cut: the database unreachable for a while."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()  # what a stopped server's clients see: closed at once
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_world(tmp_path: Path, postgres_url: str) -> Iterator[tuple[World, TcpProxy]]:
    require_redis()
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{proxy.port}"
    try:
        for world in _make_world(tmp_path, REDIS_URL, urlunsplit(parts._replace(netloc=netloc))):
            yield world, proxy
            proxy.restore()  # for the checks after the test
    finally:
        proxy.close()


def test_database_unreachable_for_a_while_every_job_retried_none_lost(proxied_world: tuple[World, TcpProxy]):
    """A job whose retries run out while the database is away is neither
    dropped for want of a dead letter nor dead-lettered for a fault that is not
    its own: it runs again, and succeeds once the database is back."""
    world, proxy = proxied_world
    scenes = world.add_scenes(40, prefix="dbdown")
    world.plex.faults.add(".*", delay=0.04)
    consumers = world.start_consumers(3, PLEXSYNC_RETRIES="1")
    sync_all(world)
    wait_until(lambda: synced_count(world, scenes, "dbdown") >= 5, timeout=60, message="progress")
    proxy.cut()
    wait_until(
        lambda: log_lines(world, "while the state database is unreachable"), timeout=60, message="a job out of retries"
    )
    assert synced_count(world, scenes, "dbdown") < len(scenes)
    proxy.restore()
    wait_all_synced(world, scenes, "dbdown")
    wait_until(lambda: world.queued() == 0, timeout=60, message="queue drained")
    assert world.dead_letters() == []
    assert all(consumer.alive() for consumer in consumers)


# -- Redis without a shared database --------------------------------------------


def test_redis_without_a_database_url_warns_in_the_worker_log_and_in_stash(redis_world: World):
    world = redis_world
    world.start_consumer()
    wait_until(lambda: log_lines(world, "PLEXSYNC_DATABASE_URL is not"), message="the worker's warning")
    [warning] = log_lines(world, "PLEXSYNC_DATABASE_URL is not")
    assert "WARNING" in warning and "stay on this machine" in warning
    listing = world.host.run_task("List dead letters")
    assert listing.output == "no dead letters"
    assert any("PLEXSYNC_DATABASE_URL is not" in line.message for line in listing.logs), listing.logs
