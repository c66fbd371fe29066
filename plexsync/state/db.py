"""The state database: dead letters, attempt counts, outages, what was written into Plex.

Where it lives follows the queue. By default it is one SQLite file in the
data directory, shared by every worker thread and consumer process on this
machine, so it runs in WAL mode with a busy timeout and takes its write lock
at the start of a transaction (IMMEDIATE): several writers queue up instead
of failing with "database is locked".

With ``PLEXSYNC_DATABASE_URL`` (PostgreSQL) it is one database for every
consumer on every machine and for Stash, so a dead letter recorded anywhere
is listed by Stash's task, an outage is reported once, and a cover uploaded
by one worker is not uploaded again by another. Each thread has its own
connection (peewee's default); a connection the server dropped (a restart,
a failover, an idle timeout) is replaced on its next use, and the tables are
created under a server-side lock, so consumers starting together do not
trip over each other.

Redis without ``PLEXSYNC_DATABASE_URL`` keeps this state per machine:
:func:`sharing_warning` says so, in the worker's log and for ``status``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TypeVar

import peewee
from playhouse.db_url import parse as parse_database_url
from playhouse.migrate import SchemaMigrator, migrate

from plexsync.config import Bootstrap
from plexsync.redact import redact, register_secret

log = logging.getLogger("plexsync.state.db")

database = peewee.DatabaseProxy()
_init_lock = threading.Lock()
_bound: tuple[Path, str | None] | None = None  # (data dir, database URL) the models are bound to
_ready = False  # tables created
_path: Path | None = None  # the SQLite file, when the state is local
_warned = False

#: What a lost connection or an unreachable server raises: worth another try.
TRANSIENT = (peewee.OperationalError, peewee.InterfaceError)
#: Any key will do, as long as every PlexSync process takes the same one.
_SCHEMA_LOCK = 0x504C5853  # "PLXS"

T = TypeVar("T")


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class _Reconnecting:
    """Replace a dead connection once, outside transactions (inside one, the
    work so far is gone: the caller retries the whole transaction, see
    :func:`transactional`)."""

    def execute_sql(self, sql, params=None):  # type: ignore[no-untyped-def]
        return self._again_on_lost_connection(super().execute_sql, sql, params)  # type: ignore[misc]

    def begin(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._again_on_lost_connection(super().begin, *args, **kwargs)  # type: ignore[misc]

    def _again_on_lost_connection(self, call, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return call(*args, **kwargs)
        except TRANSIENT:
            if self.in_transaction():  # type: ignore[attr-defined]
                raise
            discard_connection(self)  # type: ignore[arg-type]
            return call(*args, **kwargs)


class SharedPostgresqlDatabase(_Reconnecting, peewee.PostgresqlDatabase):
    pass


def caused_by_database(exc: BaseException | None) -> bool:
    """True when ``exc`` comes from the state database being unreachable
    (also when it was re-raised as another error: its context says so)."""
    for _ in range(8):
        if exc is None:
            return False
        if isinstance(exc, TRANSIENT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def discard_connection(db: peewee.Database) -> None:
    """Forget this thread's connection, whatever state it is in."""
    with contextlib.suppress(Exception):
        db.close()
    db._state.reset()


def transactional(function: Callable[..., T]) -> Callable[..., T]:
    """Run ``function`` in one transaction; once more on a fresh connection
    when the first one was lost midway (a database restart)."""

    @wraps(function)
    def run(*args: object, **kwargs: object) -> T:
        try:
            with database.atomic():
                return function(*args, **kwargs)
        except TRANSIENT:
            if database.in_transaction():  # nested: the outer transaction retries
                raise
            discard_connection(database.obj)
            with database.atomic():
                return function(*args, **kwargs)

    return run


def locked(query: peewee.Select) -> peewee.Select:
    """``query`` taking a row lock where the server has them (SQLite's
    IMMEDIATE transactions already hold the whole file)."""
    return query.for_update() if database.for_update else query


class Prepared:
    """A query whose SQL peewee builds once per database, run again with other
    parameters: for the lookups every sync makes (what was written into an
    item, which objects a scene showed). Building the SQL costs about ten
    times running it on SQLite (about 170 us against 16 us a lookup on this
    project's machine); in an unchanged re-sync those two lookups per scene
    were most of the worker's CPU.

    ``build`` makes the query with placeholder values; a call passes the
    real ones in the same order. Only for queries whose parameter count does
    not vary (no ``IN`` over a list). Rows come back as tuples.
    """

    def __init__(self, build: Callable[[], peewee.Query]) -> None:
        self._build = build
        self._sql: tuple[object, str] | None = None  # (the database it was built for, its SQL)

    def __call__(self, *params: object) -> list[tuple]:
        return list(database.execute_sql(self._statement(params), params))

    def run(self, *params: object) -> None:
        """Run a statement that returns no rows (an upsert)."""
        database.execute_sql(self._statement(params), params)

    def _statement(self, params: tuple[object, ...]) -> str:
        bound = database.obj
        cached = self._sql
        if cached is None or cached[0] is not bound:
            sql, placeholders = self._build().sql()
            if len(placeholders) != len(params):
                raise TypeError(f"this query takes {len(placeholders)} parameters, not {len(params)}")
            cached = self._sql = (bound, sql)
        return cached[1]


def upsert_target(*key: peewee.Field) -> dict[str, object]:
    """``on_conflict`` arguments naming the conflicting key where the server
    wants it (PostgreSQL, SQLite); MySQL's ON DUPLICATE KEY takes none."""
    return {} if isinstance(database.obj, peewee.MySQLDatabase) else {"conflict_target": list(key)}


def _models() -> list[type[peewee.Model]]:
    # Imported here so that every model is registered before create_tables.
    from plexsync import dlq
    from plexsync.state import (
        attempts,
        bulkrun,
        freshness,
        matches,
        outage,
        placement,
        playback,
        reconcile,
        relations,
        scans,
        servers,
        written,
    )

    return [
        dlq.DeadLetter,
        attempts.JobAttempts,
        outage.Outage,
        written.WrittenGroup,
        scans.ScanRequest,
        scans.ScanWait,
        placement.OutsideScene,
        playback.PlaybackRun,
        playback.PlaybackView,
        playback.PlaybackItem,
        playback.PlaybackHistory,
        relations.SceneRelation,
        reconcile.ReconcileState,
        freshness.SceneSync,
        bulkrun.BulkPage,
        matches.SceneMatch,
        servers.PlexServerSeen,
    ]


def _sqlite(path: Path) -> peewee.Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    return peewee.SqliteDatabase(
        str(path),
        pragmas={"journal_mode": "wal", "busy_timeout": 10_000, "synchronous": "normal"},
        timeout=10,
        lock_type="IMMEDIATE",
        check_same_thread=False,
    )


def _postgresql(url: str) -> peewee.Database:
    params = parse_database_url(url, unquote_password=True, unquote_user=True)
    params.setdefault("connect_timeout", 10)
    return SharedPostgresqlDatabase(**params)


def _create_tables(db: peewee.Database) -> None:
    if isinstance(db, peewee.PostgresqlDatabase):
        # CREATE TABLE IF NOT EXISTS is not safe against itself in PostgreSQL
        # (two sessions can both pass the check); the lock ends with the transaction.
        with db.atomic():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.create_tables(_models(), safe=True)
            _add_new_columns(db)
    else:
        db.create_tables(_models(), safe=True)
        if _new_columns(db):  # a read: no process takes the write lock while the schema is current
            with db.atomic():  # IMMEDIATE: workers starting together add each column once
                _add_new_columns(db)


def _new_columns(db: peewee.Database) -> list[tuple[str, peewee.Field]]:
    """(table, field) of every column a model gained since its table was made."""
    found = []
    for model in _models():
        table = model._meta.table_name
        present = {existing.name for existing in db.get_columns(table)}
        found += [(table, column) for column in model._meta.sorted_fields if column.column_name not in present]
    return found


def _add_new_columns(db: peewee.Database) -> None:
    """Bring a state database made by an older PlexSync up to date: a column a
    model gained since (nullable or with a default, so old rows stay valid) is
    added to its table. Tables and indexes are created by ``create_tables``;
    nothing is ever dropped or renamed, so an older PlexSync still runs on it."""
    migrator = SchemaMigrator.from_database(db)
    operations = []
    for table, column in _new_columns(db):
        if not column.null and column.default is None:
            raise RuntimeError(f"{table}.{column.column_name}: a new column must be nullable or have a default")
        operations.append(migrator.add_column(table, column.column_name, column))
    if operations:
        migrate(*operations)
        log.info("state database: added %d new column(s)", len(operations))


def open_state(bootstrap: Bootstrap) -> None:
    """Bind the models to the state database of ``bootstrap`` and create its tables once.

    Binding costs no I/O; when the server cannot be reached the tables are
    created by a later call, and the error goes to the caller (a job retries).
    """
    global _bound, _ready, _path
    where = (Path(bootstrap.data_dir), bootstrap.database_url)
    with _init_lock:
        if _bound == where and _ready:
            return
        if _bound != where:
            register_secret(*bootstrap.secrets())
            if bootstrap.database_url:
                db, _path = _postgresql(bootstrap.database_url), None
            else:
                _path = where[0] / "plexsync.db"
                db = _sqlite(_path)
            database.initialize(db)
            _bound, _ready = where, False
        _warn_once(bootstrap)
        _create_tables(database.obj)
        _ready = True


def _warn_once(bootstrap: Bootstrap) -> None:
    global _warned
    warning = sharing_warning(bootstrap)
    if warning and not _warned:
        _warned = True
        log.warning("%s", warning)


def sharing_warning(bootstrap: Bootstrap) -> str | None:
    """What a user with several machines must know, or None when nothing is wrong."""
    if not bootstrap.redis_url or bootstrap.database_url:
        return None
    return (
        "PLEXSYNC_REDIS_URL is set but PLEXSYNC_DATABASE_URL is not: dead letters, outages and cover state "
        f"stay on this machine ({Path(bootstrap.data_dir) / 'plexsync.db'}), so Stash and workers on other "
        "machines do not see them; set PLEXSYNC_DATABASE_URL=postgresql://user:password@host/plexsync "
        "for Stash and every worker"
    )


def describe(bootstrap: Bootstrap) -> str:
    """Where the state lives, password masked (for status and doctor)."""
    if bootstrap.database_url:
        return redact(bootstrap.database_url)
    return str(Path(bootstrap.data_dir) / "plexsync.db")


def state_path() -> Path | None:
    """The SQLite file of the state, or None when it lives on a server."""
    return _path


def _forget_connections_after_fork() -> None:
    """A forked worker must not talk over its parent's sockets (``-k process``)."""
    if isinstance(database.obj, peewee.Database):
        database.obj._state.reset()


os.register_at_fork(after_in_child=_forget_connections_after_fork)
