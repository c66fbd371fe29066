"""The test world for end-to-end tests: Stash and Plex emulators, the real
plugin folder run by the plugin host, and real ``huey_consumer`` processes.

Everything a user would configure is configured the way a user would: Plex's
address, token and path rules on Stash's plugin page (``set_plugin_settings``),
Stash's address and API key and the data directory in the environment of the
worker and of Stash (the plugin host passes its environment to the hook).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emulators.plex import PlexEmulator
from emulators.plugin_host import PluginHost
from emulators.stash import StashEmulator
from plexsync.config import PLUGIN_ID
from tests.support import REPO, ConsumerProcess, dead_letters, queued_jobs

STASH_API_KEY = "stash-api-key-7f3a9c"
PLEX_TOKEN = "plex-token-4b2e8d"
STASH_ROOT = "/data/stash"
PLEX_ROOT = "/media/plex"
#: Database 13 unless PLEXSYNC_TEST_REDIS_DB names another (test runs side by side flush only their own).
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('PLEXSYNC_TEST_REDIS_DB', '13')}"


@dataclass
class World:
    stash: StashEmulator
    plex: PlexEmulator
    data_dir: Path
    tmp: Path
    env: dict[str, str]
    section_id: int
    consumers: list[ConsumerProcess] = field(default_factory=list)
    _host: PluginHost | None = None

    # -- library ------------------------------------------------------------
    def add_scene(self, name: str, *, scanned: bool = True, **stash_fields) -> tuple[str, int | None]:
        """A scene in Stash and, unless ``scanned=False``, its movie in Plex."""
        relative = f"movies/{name}.mp4"
        stash_fields.setdefault("files", ({"path": f"{STASH_ROOT}/{relative}", "size": 1000, "duration": 60.0},))
        scene_id = self.stash.add_scene(**stash_fields)
        if not scanned:
            return scene_id, None
        return scene_id, self.plex.add_movie(self.section_id, files=[f"{PLEX_ROOT}/{relative}"])

    def add_scenes(self, count: int, prefix: str = "scene") -> list[tuple[str, int]]:
        tag = self.stash.add_tag(f"{prefix}-tag")
        return [self.add_scene(f"{prefix}-{i:05d}", title=f"{prefix} title {i}", tag_ids=(tag,)) for i in range(count)]

    # -- Stash side ----------------------------------------------------------
    @property
    def host(self) -> PluginHost:
        if self._host is None:
            self._host = PluginHost(REPO, self.stash, env=self.hook_env(), stash_dir=self.tmp / "stash-config")
        return self._host

    def hook_env(self) -> dict[str, str]:
        """Stash's environment. Worker mode ``external``: these tests start their
        consumers themselves (tests/integration/test_worker_autostart.py tries ``auto``)."""
        keys = ("PLEXSYNC_DATA_DIR", "PLEXSYNC_REDIS_URL")
        return {"PLEXSYNC_WORKER_MODE": "external", **{key: self.env[key] for key in keys if key in self.env}}

    def configure_plugin(self, **overrides: str) -> None:
        settings = {"plex_url": self.plex.url, "plex_token": PLEX_TOKEN, "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        self.stash.set_plugin_settings(PLUGIN_ID, {**settings, **overrides})

    # -- worker --------------------------------------------------------------
    def start_consumer(self, workers: int = 2, **extra_env: str) -> ConsumerProcess:
        env = {**self.env, **extra_env}
        log_path = self.tmp / f"consumer-{len(self.consumers)}.log"
        consumer = ConsumerProcess(env, log_path, workers=workers).start()
        self.consumers.append(consumer)
        return consumer

    def stash_sessions(self) -> list[str]:
        """Session cookies the plugin host handed to plugin processes."""
        if self._host is None:
            return []
        return [inv.stdin["server_connection"]["SessionCookie"]["Value"] for inv in self._host.invocations]

    def logs(self) -> str:
        return "\n".join(consumer.log() for consumer in self.consumers)

    def queued(self) -> int:
        return queued_jobs(self.data_dir)

    def dead_letters(self) -> list[dict]:
        return dead_letters(self.data_dir)


def assert_no_secrets_leaked(world: World) -> None:
    """No token, API key or session cookie in logs, hook answers or state files."""
    secrets = [PLEX_TOKEN, STASH_API_KEY, *world.stash_sessions()]
    places = {"consumer logs": world.logs().encode()}
    for invocation in world.host.invocations if world._host else []:
        places[f"{invocation.kind} {invocation.name} answer"] = (
            invocation.stdout + "\n".join(line.message for line in invocation.logs)
        ).encode()
    for path in world.data_dir.glob("*"):
        places[path.name] = path.read_bytes()
    for place, content in places.items():
        for secret in secrets:
            assert secret.encode() not in content, f"a secret leaked into {place}"


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def require_redis() -> None:
    if not redis_available():
        if os.environ.get("PLEXSYNC_REQUIRE_REDIS") == "1":
            pytest.fail("Redis on 127.0.0.1:6379 is required (PLEXSYNC_REQUIRE_REDIS=1) but not reachable")
        pytest.skip("no Redis on 127.0.0.1:6379")


def flush_redis_db(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _make_world(tmp_path: Path, redis_url: str | None = None) -> Iterator[World]:
    stash = StashEmulator(api_key=STASH_API_KEY).start()
    plex = PlexEmulator(token=PLEX_TOKEN).start()
    section_id = plex.add_section(title="Movies", kind="movie", locations=[f"{PLEX_ROOT}/movies"])
    data_dir = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")},
        "PLEXSYNC_STASH_URL": stash.url,
        "PLEXSYNC_STASH_API_KEY": STASH_API_KEY,
        "PLEXSYNC_DATA_DIR": str(data_dir),
        # Short waits so that retries and outages play out within a test.
        "PLEXSYNC_RETRY_DELAY": "0.2",
        "PLEXSYNC_RETRY_BACKOFF": "2",
        "PLEXSYNC_RETRY_MAX_DELAY": "2",
        "PLEXSYNC_HTTP_TIMEOUT": "3",
    }
    if redis_url:
        env["PLEXSYNC_REDIS_URL"] = redis_url
        flush_redis_db(redis_url)
    world = World(stash, plex, data_dir, tmp_path, env, section_id)
    world.configure_plugin()
    try:
        yield world
        assert_no_secrets_leaked(world)
    finally:
        for consumer in world.consumers:
            consumer.kill()
            # pytest shows this only for a failed test
            print(f"--- {consumer.log_path.name} ---\n{consumer.log()}")
        stash.stop()
        plex.stop()
        if redis_url:
            flush_redis_db(redis_url)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _make_world(tmp_path)


@pytest.fixture
def redis_world(tmp_path: Path) -> Iterator[World]:
    require_redis()
    yield from _make_world(tmp_path, REDIS_URL)
