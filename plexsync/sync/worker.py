"""What a consumer process keeps between jobs, and the task bodies.

Clients are built once per process, not per job: stashapi sends three
requests (one a full schema introspection) to build its interface, and plexapi
one. Settings are re-read from Stash at most once a minute, so an edit on
Stash's plugin page (a new Plex token, a path rule) takes effect without a
restart, and at once after Plex or Stash refused our credentials.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from huey.api import Task
from huey.exceptions import RetryTask

from plexsync.config import ConfigError, SyncSettings, default_value, setting_value, stash_connection
from plexsync.errors import (
    AuthFailed,
    ItemNotInPlex,
    Misconfigured,
    NotScannedYet,
    OutsidePlex,
    Permanent,
    SceneNotFound,
    SyncError,
    Unavailable,
)
from plexsync.plex.writer import PlexWriter
from plexsync.queue.instance import bootstrap
from plexsync.redact import register_secret
from plexsync.stash.reader import StashReader
from plexsync.state import attempts, bulkrun, db, freshness, matches, outage, placement, relations, scans, servers
from plexsync.sync import bulk
from plexsync.sync.mapping import field_policy
from plexsync.sync.scene import sync_scene
from plexsync.worker import credential

log = logging.getLogger("plexsync.sync.worker")
SETTINGS_TTL = 60.0
#: Ids per Stash request when a fan-out or the reconcile pages through scenes.
BULK_PAGE_SIZE = 1000


@dataclass
class _LoadedSettings:
    settings: SyncSettings
    loaded_at: float


class WorkerContext:
    """The Stash and Plex clients and the settings of this process, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stash: StashReader | None = None
        self._settings: _LoadedSettings | None = None
        self._plex: tuple[tuple, PlexWriter] | None = None
        # Held while a Plex client is built: threads starting together share
        # one client and so one index (each would otherwise list all of Plex).
        self._plex_build = threading.Lock()

    def stash(self) -> StashReader:
        with self._lock:
            if self._stash is None:
                register_secret(bootstrap.stash_api_key)
                key = credential.api_key(bootstrap.stash_api_key)
                self._stash = StashReader(stash_connection(bootstrap.stash_url, key), timeout=30.0)
            return self._stash

    def settings(self) -> SyncSettings:
        """The sync settings, re-read from Stash when stale or invalidated."""
        with self._lock:
            loaded = self._settings
        if loaded and time.monotonic() - loaded.loaded_at < SETTINGS_TTL:
            return loaded.settings
        stash = self.stash()
        try:
            settings = SyncSettings.resolve(stash.plugin_settings())
        except ConfigError as exc:
            raise Misconfigured("plex", str(exc)) from None
        register_secret(*settings.secrets())
        stash.timeout = settings.http_timeout
        with self._lock:
            self._settings = _LoadedSettings(settings, time.monotonic())
        return settings

    def plex(self) -> PlexWriter:
        """The Plex client for the current settings (rebuilt when they change)."""
        settings = self.settings()
        identity = (settings.plex_url, settings.plex_token, settings.http_timeout, settings.plex_sections)
        with self._plex_build:
            with self._lock:
                if self._plex and self._plex[0] == identity:
                    return self._plex[1]
            writer = PlexWriter(
                settings.plex_url, settings.plex_token, timeout=settings.http_timeout, sections=settings.plex_sections
            )
            with contextlib.suppress(*db.TRANSIENT):  # only the scene page's link would miss it, until the next build
                servers.remember(writer.machine_identifier, settings.plex_url, writer.friendly_name)
            with self._lock:
                self._plex = (identity, writer)
            return writer

    def invalidate(self, service: str) -> None:
        """Forget cached state after ``service`` refused us, so the next try re-reads it."""
        with self._lock:
            if service == "stash":
                self._stash = None
            else:
                self._plex = None
            self._settings = None

    def current_settings(self) -> SyncSettings | None:
        with self._lock:
            return self._settings.settings if self._settings else None


context = WorkerContext()


class WaitingFor(RetryTask):
    """The job waits for ``service`` to come back (a :class:`RetryTask`: no retry is spent)."""

    def __init__(self, service: str, delay: float, reason: str | None = None) -> None:
        super().__init__(f"waiting for {service}: {reason or 'unavailable'}", delay=delay)
        self.service = service
        self.reason = reason


def _wait_for(service: str, retry_delay: float, max_delay: float, reason: str | None = None) -> None:
    """Re-queue the job for when ``service`` is worth trying again.

    ``RetryTask`` does not spend one of the job's retries: waiting for a server
    to come back is not the job's fault. A little jitter keeps a backlog from
    hitting the server all in the same second.
    """
    wait = outage.seconds_until_probe(service)
    if wait is None:
        return
    jitter = random.uniform(0, min(5.0, max(retry_delay, 0.1)))
    raise WaitingFor(service, min(wait, max_delay) + jitter, reason)


def _apply_retry_policy(task: Task, settings: SyncSettings) -> None:
    """The worker's retry settings replace those the job was enqueued with (a
    Stash hook cannot read them); huey's growing delay stops at the cap."""
    if attempts.of(task)[0] == 1:
        task.retries = settings.retries
        task.retry_delay = settings.retry_delay
        task.retry_backoff = settings.retry_backoff
    if task.retry_delay:
        task.retry_delay = min(task.retry_delay, settings.retry_max_delay)


def _retry_delays(settings: SyncSettings | None) -> tuple[float, float]:
    """(first retry delay, longest delay); without Stash's settings, the environment's or the defaults."""
    if settings is not None:
        return settings.retry_delay, settings.retry_max_delay
    try:
        return setting_value("retry_delay"), setting_value("retry_max_delay")
    except ConfigError:  # a malformed variable is reported when the settings load
        return default_value("retry_delay"), default_value("retry_max_delay")


def _guarded(task: Task | None, services: tuple[str, ...], body: Callable[[SyncSettings], None]) -> None:
    """Run ``body``, which talks to ``services``, with outage handling and
    error classification around it; a failed attempt is counted (a
    successful one never writes its count: plexsync.state.attempts)."""
    try:
        _classified(task, services, body)
    except BaseException:
        if task is not None:
            with contextlib.suppress(*db.TRANSIENT):  # without the database the job runs again anyway
                attempts.failed(task)
        raise


def _classified(task: Task | None, services: tuple[str, ...], body: Callable[[SyncSettings], None]) -> None:
    retry_delay, max_delay = _retry_delays(context.current_settings())
    for service in services:
        _wait_for(service, retry_delay, max_delay)
    try:
        settings = context.settings()
        retry_delay, max_delay = settings.retry_delay, settings.retry_max_delay
        if task is not None:
            _apply_retry_policy(task, settings)
        body(settings)
    except Unavailable as exc:
        if isinstance(exc, (AuthFailed, Misconfigured)):
            context.invalidate(exc.service)
        if isinstance(exc, AuthFailed) and exc.service == "stash" and credential.rejected():
            raise WaitingFor(exc.service, retry_delay, exc.reason) from None  # a worker with the new key takes it
        if outage.record_failure(exc.service, exc.reason, base_delay=retry_delay, max_delay=max_delay):
            log.error("%s; syncs wait and resume by themselves once this is fixed%s", exc.reason, _fix(exc))
        _wait_for(exc.service, retry_delay, max_delay, exc.reason)
        raise WaitingFor(exc.service, retry_delay, exc.reason) from None
    except Permanent:
        if task is not None:
            task.retries = 0  # no retry can help: straight to the dead letters
        raise
    except (SyncError, RetryTask):
        raise
    except Exception as exc:  # a bug or a library surprise: keep its traceback, retry, then dead letter
        log.exception("unexpected failure")
        raise SyncError(f"unexpected {type(exc).__name__}: {exc}") from None
    for service in services:
        if outage.record_success(service):
            log.warning("%s is reachable again; queued syncs resume", service.capitalize())


def _fix(exc: Unavailable) -> str:
    """Where the refused credential comes from, for the worker's log (read at a command line: variable names)."""
    if not isinstance(exc, AuthFailed):
        return ""
    if exc.service == "plex":
        from plexsync.tools.words import CLI

        return f" (the token: {CLI.setting('plex_token')})"
    if credential.handed():
        return " (the API key Stash gave the plugin when it started this worker)"
    return " (the API key: PLEXSYNC_STASH_API_KEY in the worker's environment)"


class WaitingForScan(RetryTask):
    """The job waits for Plex to scan its file's folder (a :class:`RetryTask`:
    the job's own count of attempts bounds it, see :func:`_wait_for_scan`)."""

    def __init__(self, reason: str, attempt: int, attempts: int, delay: float) -> None:
        super().__init__(reason, delay=delay)
        self.reason, self.attempt, self.attempts = reason, attempt, attempts


def _wait_for_scan(scene_id: str, task: Task | None, settings: SyncSettings, exc: NotScannedYet) -> None:
    """Retry later without a traceback in the log (``RetryTask``), with the job's
    own backoff, until its retries are spent; then one dead letter."""
    if task is None:
        raise exc
    tried = attempts.of(task)[0]
    if tried > settings.retries:
        task.retries = 0
        raise ItemNotInPlex(f"not in Plex after {tried} attempts: {exc.reason}") from None
    scans.wait(scene_id, exc.section_ids)  # news of a scan there ends the wait (plexsync.worker.live)
    delay = min(settings.retry_max_delay, settings.retry_delay * settings.retry_backoff ** (tried - 1))
    raise WaitingForScan(exc.reason, tried, settings.retries + 1, delay) from None


def changed_since(rematch: bool, queued_at: float | None, task: Task | None) -> float | None:
    """When a Stash scan saw the scene's files change (a ``rematch`` job): a
    Plex listing begun after that is fresh enough to match them again. The
    hook's time (``queued_at``) when the job carries it, so that one listing
    serves every job of a scan's burst whose hook came before it (the moment a
    worker took the job made every job of the burst list the whole library
    again); never later than the job's first attempt, in case the hook's
    clock runs ahead."""
    if not rematch:
        return None
    first = (attempts.of(task)[1] if task else None) or time.time()
    if isinstance(queued_at, bool) or not isinstance(queued_at, (int, float)) or not math.isfinite(queued_at):
        return first
    return min(float(queued_at), first)


def run_sync_scene(
    scene_id: str,
    task: Task | None,
    rematch: bool = False,
    force: bool = False,
    queued_at: float | None = None,
    scanned: bool = False,
) -> None:
    """``scanned``: one more try of a sync that waits for a Plex scan, on Plex's news
    of it; still no item, it ends quietly and the waiting job's own retry stays the
    wait (one chain of retries per scene, however many scans Plex announces)."""
    since = changed_since(rematch, queued_at, task)

    def body(settings: SyncSettings) -> None:
        stash, plex = context.stash(), context.plex()
        freshness.started(scene_id)  # after the clients: a bulk page may skip the scene from here on
        try:
            result = sync_scene(
                stash,
                plex,
                settings.path_map,
                scene_id,
                changed_since=since,
                force=force,
                policy=field_policy(settings),
            )
        except OutsidePlex as exc:
            relations.forget_scene(scene_id)  # Plex shows nothing of it: no change reaches it through Plex
            if placement.record_outside(scene_id, exc.plex_path):
                log.info("scene %s not synced: %s", scene_id, exc.reason)
            return
        except NotScannedYet as exc:
            if scanned:
                log.debug("scene %s: still not in Plex after the scan it waited for; its retry stays", scene_id)
                if task is not None:
                    task.plexsync_not_done = True  # not a success: its dead letter stays (queue.lifecycle)
                return
            _wait_for_scan(scene_id, task, settings, exc)
            return
        except SceneNotFound:
            # Its dead letter says so once; no later fan-out queues it again by what it showed.
            relations.forget_scene(scene_id)
            matches.forget(scene_id)
            raise
        finally:
            freshness.finished(scene_id)
        log.info("scene %s synced: %s", scene_id, result.describe())

    _guarded(task, ("stash", "plex"), body)


def run_sync_all(task: Task | None, force: bool = False) -> None:
    from plexsync.tasks import PRIORITY_BULK, sync_page

    def body(settings: SyncSettings) -> None:
        pages = bulk.plan(context.stash())
        bulkrun.plan([(page.upto, page.planned) for page in pages])
        flags = {"force": True} if force else {}  # a keyword only when set: pages coalesce by their arguments
        for page in pages:
            sync_page(page.after, page.upto, priority=PRIORITY_BULK, **flags)
        what = "force full sync" if force else "sync all"
        log.info("%s: %d scenes in %d page(s) queued", what, sum(p.planned for p in pages), len(pages))

    _guarded(task, ("stash",), body)


def run_sync_related(kind: str, change: str, object_id: str, sources: list[str], task: Task | None) -> None:
    from plexsync.sync import related
    from plexsync.tasks import PRIORITY_BULK, enqueue_scene

    def body(settings: SyncSettings) -> None:
        queued = related.fan_out(
            context.stash(),
            kind,
            change,
            object_id,
            sources,
            BULK_PAGE_SIZE,
            lambda scene_id: enqueue_scene(scene_id, priority=PRIORITY_BULK),
        )
        merged = f" (and merged tag(s) {', '.join(sources)})" if sources else ""
        log.info("%s %s %s%s: queued %d scene(s)", kind, object_id, _CHANGED[change], merged, queued)

    _guarded(task, ("stash",), body)


_CHANGED = {"update": "changed", "destroy": "deleted", "merge": "merged into"}


def run_reconcile(task: Task | None) -> None:
    from plexsync.sync import related
    from plexsync.tasks import PRIORITY_BULK, enqueue_scene

    def body(settings: SyncSettings) -> None:
        outcome = related.reconcile(
            context.stash(), BULK_PAGE_SIZE, lambda scene_id: enqueue_scene(scene_id, priority=PRIORITY_BULK)
        )
        log.info("%s", outcome.describe())

    _guarded(task, ("stash",), body)


def run_catch_up(since: float, task: Task | None) -> None:
    from plexsync.sync import related
    from plexsync.tasks import PRIORITY_EDIT, enqueue_scene

    def body(settings: SyncSettings) -> None:
        outcome = related.catch_up(
            context.stash(), since, BULK_PAGE_SIZE, lambda scene_id: enqueue_scene(scene_id, priority=PRIORITY_EDIT)
        )
        log.info("%s", outcome.describe())

    _guarded(task, ("stash",), body)


def queue_reconcile_if_due() -> bool:
    """Queue a reconcile when the interval has passed since the last one started
    (anywhere: the claim is shared state); True when it did.

    The settings a job read last will do (no Stash request a minute for this);
    only a worker that has run none asks Stash. Quiet when Stash cannot be
    asked: the jobs that need Stash report that.
    """
    from plexsync.state import reconcile
    from plexsync.tasks import PRIORITY_EDIT
    from plexsync.tasks import reconcile as reconcile_task

    try:
        interval = (context.current_settings() or context.settings()).reconcile_interval
    except SyncError as exc:
        log.debug("reconcile not scheduled: %s", exc)
        return False
    if interval <= 0 or not reconcile.claim_due(interval * 60):
        return False
    reconcile_task(priority=PRIORITY_EDIT)
    return True


def _page_hooks(force: bool = False) -> bulk.PageHooks:
    from plexsync.queue.instance import huey
    from plexsync.tasks import PRIORITY_BULK, PRIORITY_EDIT, enqueue_scene, sync_page

    def hand_off(scene_id: str, exc: BaseException) -> None:
        reason = exc.reason if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
        log.info("scene %s failed inside a bulk page (%s); queued on its own", scene_id, reason)
        enqueue_scene(scene_id, priority=PRIORITY_BULK, force=force)

    def continue_from(after: int, upto: int | None, done: int, handed_off: int) -> None:
        flags = {"force": True} if force else {}
        sync_page(after, upto, done=done, handed_off=handed_off, priority=PRIORITY_BULK, **flags)

    return bulk.PageHooks(
        hand_off=hand_off,
        again=lambda scene_id: enqueue_scene(scene_id, priority=PRIORITY_EDIT),
        should_yield=lambda: huey.storage.waiting_above(PRIORITY_BULK),
        continue_from=continue_from,
    )


def run_sync_page(
    after: int, upto: int | None, task: Task | None, done: int = 0, handed_off: int = 0, force: bool = False
) -> None:
    def body(settings: SyncSettings) -> None:
        stash, plex = context.stash(), context.plex()
        outcome = bulk.sync_page(
            stash,
            plex,
            settings.path_map,
            after,
            upto,
            _page_hooks(force),
            policy=field_policy(settings),
            force=force,
            done_before=done,
            handed_off_before=handed_off,
        )
        end = "" if upto is None else upto
        more = f"; the rest from id {outcome.yielded_after} made way for an edit" if outcome.yielded_after else ""
        log.info("page of ids %d..%s: %s%s", after + 1, end, outcome.describe(), more)

    _guarded(task, ("stash", "plex"), body)
