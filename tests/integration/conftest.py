"""The test world for end-to-end tests: Stash and Plex emulators, the real
plugin folder run by the plugin host, and real ``huey_consumer`` processes.

Everything a user would configure is configured the way a user would: Plex's
address, token and path rules on Stash's plugin page (``set_plugin_settings``),
Stash's address and API key and the data directory in the environment of the
worker and of Stash (the plugin host passes its environment to the hook).

``shared_world`` runs a test twice: on one machine (SQLite queue and state in
one data directory, as by default) and as several machines sharing Redis and
a PostgreSQL database (each consumer and the plugin host with a data
directory of its own). PostgreSQL is the server on 127.0.0.1:5432 (or
``PLEXSYNC_TEST_POSTGRES_URL``); each test gets a new database named
``PLEXSYNC_TEST_DATABASE_PREFIX`` + a random suffix, dropped afterwards.

``source_dir`` and ``bare_python`` are the plugin as a Stash user gets it: the
plugin source ``python3 run.py package`` builds, and a Python with the standard
library only; built once per session for every module that installs the package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
import venv
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from emulators.plex import PlexEmulator
from emulators.plugin_host import PluginHost
from emulators.stash import StashEmulator
from plexsync.config import PLUGIN_ID
from tests.support import REPO, ConsumerProcess, dead_letters, queued_jobs, sqlite_rows

STASH_API_KEY = "stash-api-key-7f3a9c"
PLEX_TOKEN = "plex-token-4b2e8d"
STASH_ROOT = "/data/stash"
PLEX_ROOT = "/media/plex"
#: Database 13 unless PLEXSYNC_TEST_REDIS_DB names another (test runs side by side flush only their own).
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('PLEXSYNC_TEST_REDIS_DB', '13')}"
#: Where the test databases are created (the maintenance database of the server).
POSTGRES_ADMIN_URL = os.environ.get("PLEXSYNC_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = os.environ.get("PLEXSYNC_TEST_DATABASE_PREFIX") or "plexsync_test_"
#: Put into the workers' database URL so that the tests see it never leaks
#: (a server with trust authentication, like the test one, ignores it).
DATABASE_PASSWORD = "db-password-5d1c9e"


@dataclass
class World:
    stash: StashEmulator
    plex: PlexEmulator
    data_dir: Path
    tmp: Path
    env: dict[str, str]
    section_id: int
    consumers: list[ConsumerProcess] = field(default_factory=list)
    #: Each consumer on a machine of its own (a data directory of its own);
    #: ``data_dir`` is then the plugin host's, Stash's machine.
    separate_machines: bool = False
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
        keys = ("PLEXSYNC_DATA_DIR", "PLEXSYNC_REDIS_URL", "PLEXSYNC_DATABASE_URL")
        return {"PLEXSYNC_WORKER_MODE": "external", **{key: self.env[key] for key in keys if key in self.env}}

    def configure_plugin(self, **overrides: str) -> None:
        settings = {"plex_url": self.plex.url, "plex_token": PLEX_TOKEN, "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        self.stash.set_plugin_settings(PLUGIN_ID, {**settings, **overrides})

    # -- worker --------------------------------------------------------------
    def start_consumer(self, workers: int = 2, machine: int | None = None, **extra_env: str) -> ConsumerProcess:
        """A consumer; with ``separate_machines`` on machine ``machine`` (a new one by default)."""
        return self._new_consumer(workers, machine, extra_env).start()

    def start_consumers(self, count: int, workers: int = 2, **extra_env: str) -> list[ConsumerProcess]:
        """``count`` consumers started at the same instant (as after a reboot), one per machine."""
        consumers = [self._new_consumer(workers, None, extra_env) for _ in range(count)]
        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(ConsumerProcess.start, consumers))

    def restart_consumer(self, consumer: ConsumerProcess) -> ConsumerProcess:
        """A killed consumer started again on its machine, as a service manager does."""
        workers = int(consumer.command[consumer.command.index("-w") + 1])
        replacement = ConsumerProcess(consumer.env, self._log_path(), workers=workers)
        self.consumers.append(replacement)
        return replacement.start()

    def _new_consumer(self, workers: int, machine: int | None, extra_env: dict[str, str]) -> ConsumerProcess:
        env = {**self.env, **extra_env}
        if self.separate_machines:
            machine = len(self.consumers) if machine is None else machine
            env["PLEXSYNC_DATA_DIR"] = str(self.tmp / f"machine-{machine}" / "data")
        consumer = ConsumerProcess(env, self._log_path(), workers=workers)
        self.consumers.append(consumer)
        return consumer

    def _log_path(self) -> Path:
        return self.tmp / f"consumer-{len(self.consumers)}.log"

    def stash_sessions(self) -> list[str]:
        """Session cookies the plugin host handed to plugin processes."""
        if self._host is None:
            return []
        return [inv.stdin["server_connection"]["SessionCookie"]["Value"] for inv in self._host.invocations]

    def logs(self) -> str:
        return "\n".join(consumer.log() for consumer in self.consumers)

    def queued(self) -> int:
        """Jobs queued, scheduled or claimed, wherever the queue is."""
        if "PLEXSYNC_REDIS_URL" in self.env:
            from plexsync.queue.instance import QUEUE_NAME
            from plexsync.queue.reliable import ReliablePriorityRedisStorage

            storage = ReliablePriorityRedisStorage(QUEUE_NAME, url=self.env["PLEXSYNC_REDIS_URL"])
            return storage.queue_size() + storage.schedule_size() + storage.claims()
        return queued_jobs(self.data_dir)

    def dead_letters(self) -> list[dict]:
        return self.state_rows("dead_letter")

    def outage_failures(self, service: str = "plex") -> int:
        rows = [row for row in self.state_rows("outage") if row["service"] == service]
        return rows[0]["failures"] if rows else 0

    def state_rows(self, table: str) -> list[dict]:
        """The rows of a state table, from wherever the workers keep it."""
        url = self.env.get("PLEXSYNC_DATABASE_URL")
        if url is None:
            return dead_letters(self.data_dir) if table == "dead_letter" else sqlite_rows(self.data_dir, table)
        import psycopg2
        import psycopg2.extras

        with psycopg2.connect(url) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute("select to_regclass(%s) is not null as present", (table,))
            if not cursor.fetchone()["present"]:
                return []
            cursor.execute(f"select * from {table} order by 1")
            rows = [dict(row) for row in cursor.fetchall()]
        conn.close()
        return rows

    def data_dirs(self) -> list[Path]:
        """Every data directory of the test: Stash's and each machine's."""
        return [self.data_dir, *sorted(self.tmp.glob("machine-*/data"))]


def assert_no_secrets_leaked(world: World) -> None:
    """No token, API key or session cookie in logs, hook answers or state files."""
    database_password = urlsplit(world.env.get("PLEXSYNC_DATABASE_URL", "")).password
    secrets = [PLEX_TOKEN, STASH_API_KEY, *filter(None, [database_password]), *world.stash_sessions()]
    places = {"consumer logs": world.logs().encode()}
    for invocation in world.host.invocations if world._host else []:
        places[f"{invocation.kind} {invocation.name} answer"] = (
            invocation.stdout + "\n".join(line.message for line in invocation.logs)
        ).encode()
    for data_dir in world.data_dirs():
        for path in data_dir.rglob("*"):
            if path.is_file():
                places[str(path.relative_to(world.tmp))] = path.read_bytes()
    if "PLEXSYNC_DATABASE_URL" in world.env:
        tables = ("dead_letter", "outage", "job_attempts", "written_group", "playback_run", "playback_item")
        for table in (*tables, "scene_match", "plex_server_seen"):
            places[f"table {table}"] = repr(world.state_rows(table)).encode()
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


def require_postgres() -> None:
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        if os.environ.get("PLEXSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (PLEXSYNC_REQUIRE_POSTGRES=1) but not reachable: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}")


def _admin(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(POSTGRES_ADMIN_URL)
    try:
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new empty database for the test, as the workers' URL (with a password to keep secret)."""
    require_postgres()
    name = f"{DATABASE_PREFIX}{uuid.uuid4().hex[:10]}"
    _admin(f'create database "{name}"')
    admin = urlsplit(POSTGRES_ADMIN_URL)
    user = admin.username or "postgres"
    password = admin.password or DATABASE_PASSWORD
    netloc = f"{user}:{password}@{admin.hostname or '127.0.0.1'}:{admin.port or 5432}"
    try:
        yield urlunsplit((admin.scheme, netloc, f"/{name}", admin.query, ""))
    finally:
        _admin(f'drop database if exists "{name}" with (force)')


def terminate_connections(database_url: str) -> int:
    """What a database restart looks like to its clients: every connection dropped."""
    import psycopg2

    name = urlsplit(database_url).path.lstrip("/")
    conn = psycopg2.connect(POSTGRES_ADMIN_URL)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = %s",
                (name,),
            )
            return cursor.fetchone()[0]
    finally:
        conn.close()


def flush_redis_db(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _make_world(
    tmp_path: Path, redis_url: str | None = None, database_url: str | None = None, plex_version: str | None = None
) -> Iterator[World]:
    stash = StashEmulator(api_key=STASH_API_KEY).start()
    plex = PlexEmulator(token=PLEX_TOKEN, **({"version": plex_version} if plex_version else {})).start()
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
    if database_url:
        env["PLEXSYNC_DATABASE_URL"] = database_url
    world = World(stash, plex, data_dir, tmp_path, env, section_id, separate_machines=database_url is not None)
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


#: A Plex Media Server from before 1.40, whose "mark as played" writes history.
OLD_PLEX_VERSION = "1.32.8.7639-fb6452ebf"


@pytest.fixture
def old_plex_world(tmp_path: Path) -> Iterator[World]:
    yield from _make_world(tmp_path, plex_version=OLD_PLEX_VERSION)


#: The two homes of shared state: one machine, and several machines on Redis + PostgreSQL.
BACKENDS = ("sqlite", pytest.param("redis+postgres", marks=pytest.mark.redis))


@pytest.fixture(params=BACKENDS)
def shared_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        yield from _make_world(tmp_path)
        return
    require_redis()
    database_url = request.getfixturevalue("postgres_url")
    yield from _make_world(tmp_path, REDIS_URL, database_url)


@pytest.fixture
def machines_world(tmp_path: Path, postgres_url: str) -> Iterator[World]:
    """Several machines on Redis + PostgreSQL only: for what only a server database can do."""
    require_redis()
    yield from _make_world(tmp_path, REDIS_URL, postgres_url)


# -- the plugin as Stash installs it: built once per session ---------------------------------------------------

#: A ``sitecustomize`` for the bare Python: every connection beyond loopback is refused and written down.
NETWORK_GUARD = """
import os, sys
_LOG = os.environ.get("PLEXSYNC_TEST_NETWORK_LOG")

def _local(host):
    return not isinstance(host, str) or host.startswith(("127.", "/")) or host in ("localhost", "::1", "")

def _guard(event, args):
    if event not in ("socket.connect", "socket.getaddrinfo"):
        return
    host = args[0] if event == "socket.getaddrinfo" else args[1]
    host = host[0] if isinstance(host, tuple) else host
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not _local(host):
        if _LOG:
            with open(_LOG, "a") as log:
                log.write(f"{os.getpid()} {sys.argv[:3]} {host}\\n")
        raise OSError(f"no network in this test: {host}")

sys.addaudithook(_guard)
"""


@pytest.fixture(scope="session")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin source, as ``python3 run.py package DIR`` builds it from this tree."""
    out = tmp_path_factory.mktemp("plugin-source")
    done = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "package", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python with the standard library only (and the network guard)."""
    where = tmp_path_factory.mktemp("bare-python")
    venv.EnvBuilder(with_pip=False).create(where)
    python = str(where / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "sitecustomize.py").write_text(NETWORK_GUARD)
    for module in ("huey", "peewee", "requests", "plexapi", "stashapi", "pip"):
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, env=_clean_env())
        assert probe.returncode != 0, f"the bare Python can import {module}"
    return python


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PLEXSYNC_", "PYTHON", "VIRTUAL_ENV"))}
