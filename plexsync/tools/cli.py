"""``plexsync`` (or ``python -m plexsync``): the command line for what a user does by hand.

``sync`` runs the syncs in this process, with the worker's own code (the
clients of :mod:`plexsync.sync.worker`, :func:`plexsync.sync.scene.sync_scene`
for given scenes and the pages of :mod:`plexsync.sync.bulk` for ``--all``),
not through the queue: it needs no worker, and its counts are exact outcomes,
not "queued". It does not retry: a scene that fails is reported with its
reason (the worker's hooks and ``dlq retry`` are the retrying path). A
success removes the scene's dead letter, as the worker's does.

Exit statuses: :mod:`plexsync.tools.exitcodes`.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import click

from plexsync.config import PLUGIN_DIR, ConfigError
from plexsync.tools.exitcodes import ExitCode

#: Failures printed one by one by ``sync --all`` before they are only counted.
SHOW_FAILURES = 20


class Failure(click.ClickException):
    """A one-line error with the exit status of its kind."""

    def __init__(self, message: str, code: ExitCode) -> None:
        from plexsync.redact import redact

        super().__init__(redact(message))
        self.exit_code = int(code)


def _version() -> str:
    manifest = (PLUGIN_DIR / "StashPlexSync.yml").read_text(encoding="utf-8")
    match = re.search(r"^version:\s*(\S+)", manifest, re.MULTILINE)
    return match.group(1) if match else "unknown"


def _open_state() -> None:
    """The queue and the state database; a bad bootstrap setting is one line, not a traceback."""
    try:
        from plexsync.queue.instance import bootstrap
    except ConfigError as exc:
        raise Failure(str(exc), ExitCode.SETTINGS) from None
    from plexsync import unwritable
    from plexsync.state import db

    try:
        db.open_state(bootstrap)
    except Exception as exc:
        problem = unwritable.diagnose(exc, bootstrap.data_dir)
        if problem is None:
            raise
        raise Failure(problem.line("cannot open PlexSync's state"), ExitCode.DATA_FOLDER) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "-V", "--version", prog_name="plexsync")
def main() -> None:
    """PlexSync: Stash scene metadata pushed into Plex.

    \b
    Exit status: 0 fine; 3 a setting is missing or invalid; 4 Stash unreachable;
    5 Stash API key missing or refused; 6 Plex unreachable; 7 Plex token refused;
    8 path rules do not match; 9 jobs wait and no worker runs; 10 an outage is
    open; 11 dead letters; 12 some syncs failed; 13 the data folder cannot be
    written (full or read-only disk).
    """


# -- status and doctor -----------------------------------------------------------


@main.command("status")
def status_command() -> None:
    """What the queue and the worker are doing (no server is asked)."""
    _open_state()
    from plexsync.tools import status

    report = status.collect()
    click.echo(report.text())
    raise SystemExit(int(report.exit_code))


@main.command("doctor", short_help="Check Stash, Plex, credentials and path rules.")
def doctor_command() -> None:
    """Check Stash, Plex, their credentials and the path rules; say what to fix."""
    _open_state()
    from plexsync.queue.instance import bootstrap
    from plexsync.tools import doctor

    report = doctor.run(doctor.StashAccess.from_bootstrap(bootstrap))
    click.echo(report.text())
    raise SystemExit(int(report.exit_code))


# -- sync ----------------------------------------------------------------------


@dataclass
class Tally:
    synced: int = 0
    failed: int = 0
    outside: int = 0
    waiting: int = 0
    last_synced: str | None = None
    failures: list[str] = field(default_factory=list)
    outside_example: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> str:
        waiting = f", {self.waiting} waiting for a Plex scan" if self.waiting else ""
        return f"{self.synced} synced, {self.failed} failed, {self.outside} outside Plex{waiting}"


def _stop(exc: Exception) -> Failure:
    """A whole server is unavailable or misconfigured: every next scene would fail the same."""
    from plexsync.errors import AuthFailed, Misconfigured
    from plexsync.queue.instance import bootstrap

    service, reason = exc.service, exc.reason  # type: ignore[attr-defined]
    if isinstance(exc, Misconfigured):
        return Failure(reason, ExitCode.SETTINGS)
    if service == "stash":
        code = ExitCode.STASH_AUTH if isinstance(exc, AuthFailed) else ExitCode.STASH_UNREACHABLE
        fix = " (PLEXSYNC_STASH_API_KEY: Stash's Settings > Security > API Key)" if isinstance(exc, AuthFailed) else ""
        return Failure(f"Stash at {bootstrap.stash_url}: {reason}{fix}", code)
    from plexsync.sync.worker import context

    settings = context.current_settings()
    where = f" at {settings.plex_url}" if settings else ""
    code = ExitCode.PLEX_AUTH if isinstance(exc, AuthFailed) else ExitCode.PLEX_UNREACHABLE
    if isinstance(exc, AuthFailed):
        from plexsync.tools.words import CLI

        reason += f"; fix: {CLI.setting('plex_token')}"
    return Failure(f"Plex{where}: {reason}", code)


def _sync_one(scene_id: str, tally: Tally, force: bool = False) -> str:
    """Sync one scene; returns its outcome line. Raises Unavailable to stop the run."""
    from plexsync import dlq
    from plexsync.errors import ItemNotInPlex, OutsidePlex, SyncError, Unavailable
    from plexsync.sync.mapping import field_policy
    from plexsync.sync.scene import sync_scene
    from plexsync.sync.worker import context

    try:
        settings = context.settings()
        result = sync_scene(
            context.stash(),
            context.plex(),
            settings.path_map,
            scene_id,
            force=force,
            policy=field_policy(settings),
        )
    except Unavailable:
        raise
    except OutsidePlex as exc:
        with tally.lock:
            tally.outside += 1
            tally.outside_example = tally.outside_example or f"scene {scene_id}: {exc.reason}"
        return f"scene {scene_id} is outside Plex: {exc.reason}"
    except ItemNotInPlex as exc:  # inside a library's folder: Plex was asked to scan it
        with tally.lock:
            tally.waiting += 1
        return f"scene {scene_id} waits for a Plex scan: {exc.reason}"
    except SyncError as exc:
        line = f"scene {scene_id} failed: {type(exc).__name__}: {exc.reason}"
    except Exception as exc:  # a bug: say which scene, go on with the others
        line = f"scene {scene_id} failed: unexpected {type(exc).__name__}: {exc}"
    else:
        dlq.resolve("sync_scene", [scene_id])
        with tally.lock:
            tally.synced += 1
            tally.last_synced = scene_id
        return f"scene {scene_id} synced: {result.describe()}"
    with tally.lock:
        tally.failed += 1
        tally.failures.append(line)
    return line


def _run(scene_ids: list[str], jobs: int, tally: Tally, on_done, force: bool = False) -> None:
    """Sync ``scene_ids`` on ``jobs`` threads; stops at the first unavailable server."""
    from plexsync.errors import Unavailable

    ids = iter(scene_ids)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        running = {pool.submit(_sync_one, scene_id, tally, force): scene_id for scene_id in _take(ids, jobs * 2)}
        while running:
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                try:
                    on_done(future.result())
                except Unavailable as exc:
                    for other in running:
                        other.cancel()
                    raise _stop(exc) from None
            for scene_id in _take(ids, jobs * 2 - len(running)):
                running[pool.submit(_sync_one, scene_id, tally, force)] = scene_id


def _take(ids: Iterable[str], count: int) -> list[str]:
    out = []
    for scene_id in ids:
        out.append(scene_id)
        if len(out) >= count:
            break
    return out


def _finish(tally: Tally) -> None:
    from plexsync.state import outage
    from plexsync.tools import status

    if tally.synced:
        for service in ("stash", "plex"):
            outage.record_success(service)  # queued jobs need not wait for their next probe
        status.record_success("sync_scene", [tally.last_synced])


@main.command("sync", short_help="Sync scenes now, in this process (no worker needed).")
@click.argument("scene_ids", nargs=-1)
@click.option("--all", "sync_all", is_flag=True, help="Sync every scene in Stash (with a progress bar).")
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 16), default=4, show_default=True, help="Scenes synced at the same time."
)
@click.option(
    "--force",
    is_flag=True,
    help="Rewrite every field, the rating and the images, also those unchanged since PlexSync wrote them.",
)
def sync_command(scene_ids: tuple[str, ...], sync_all: bool, jobs: int, force: bool) -> None:
    """Sync SCENE_ID... (or --all) now, in this process.

    Only what changed in Stash since the last sync is written; --force writes
    everything again (after fields were edited in Plex by hand).

    Ends with "N synced, M failed, K outside Plex" (and how many wait for the
    Plex scan PlexSync asked for; outside Plex: no Plex item
    has the scene's file, because Plex has not scanned it or the path rules do
    not match; 'plexsync doctor' tells which).
    """
    if sync_all == bool(scene_ids):
        raise click.UsageError("give scene ids, or --all")
    bad = [s for s in scene_ids if not (s.isascii() and s.isdigit() and int(s) > 0)]
    if bad:
        raise click.UsageError(
            f"not a scene id: {', '.join(bad[:5])} (scene ids are whole numbers, as in Stash's URLs)"
        )
    _open_state()
    tally = Tally()
    if sync_all:
        _sync_all_with_progress(jobs, tally, force)
    else:
        try:
            _run([str(int(s)) for s in scene_ids], jobs, tally, click.echo, force)
        finally:
            _finish(tally)
    click.echo(tally.summary())
    if (tally.outside or tally.waiting) and not tally.synced and not tally.failed:
        click.echo("none of these scenes is in Plex: 'plexsync doctor' checks the path rules", err=True)
        raise SystemExit(int(ExitCode.PATH_RULES))
    if tally.failed:
        raise SystemExit(int(ExitCode.SYNC_FAILED))


def _page_hooks(tally: Tally, on_done) -> object:
    """A page's outcomes counted and shown as the CLI does; nothing is queued
    for a failed scene (``sync`` reports, the worker retries)."""
    from plexsync.errors import ItemNotInPlex
    from plexsync.sync import bulk
    from plexsync.tasks import PRIORITY_EDIT, enqueue_scene

    waiting: set[str] = set()

    def hand_off(scene_id: str, exc: BaseException) -> None:
        if isinstance(exc, ItemNotInPlex):  # inside a library's folder: Plex was asked to scan it
            waiting.add(scene_id)

    def on_scene(scene_id: str, outcome: str, reason: str | None) -> None:
        with tally.lock:
            if outcome == "synced":
                tally.synced += 1
                tally.last_synced = scene_id
                line = f"scene {scene_id} synced"
            elif outcome == "outside":
                tally.outside += 1
                tally.outside_example = tally.outside_example or f"scene {scene_id}: {reason}"
                line = f"scene {scene_id} is outside Plex: {reason}"
            elif outcome == "newer":  # a worker synced it from newer data meanwhile
                tally.synced += 1
                tally.last_synced = scene_id
                line = f"scene {scene_id} synced by the worker"
            elif scene_id in waiting:
                tally.waiting += 1
                line = f"scene {scene_id} waits for a Plex scan: {reason}"
            else:
                tally.failed += 1
                line = f"scene {scene_id} failed: {reason}"
                tally.failures.append(line)
        on_done(line)

    # a worker's own sync of a scene may have finished between our read and our write: it syncs again
    return bulk.PageHooks(
        hand_off=hand_off, again=lambda scene_id: enqueue_scene(scene_id, priority=PRIORITY_EDIT), on_scene=on_scene
    )


def _run_pages(jobs: int, tally: Tally, on_start, on_done, force: bool = False) -> None:
    """Every scene of Stash, a page per Stash read, pages on ``jobs`` threads;
    stops at the first unavailable server."""
    from plexsync.errors import Unavailable
    from plexsync.sync import bulk
    from plexsync.sync.mapping import field_policy
    from plexsync.sync.worker import context

    try:
        settings = context.settings()
        stash, plex = context.stash(), context.plex()
        pages = bulk.plan(stash)
    except Unavailable as exc:
        raise _stop(exc) from None
    on_start(sum(page.planned for page in pages))
    hooks = _page_hooks(tally, on_done)
    policy = field_policy(settings)

    def one(page: bulk.Page) -> None:
        bulk.sync_page(
            stash, plex, settings.path_map, page.after, page.upto, hooks, policy=policy, force=force, report=False
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, page) for page in pages]
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except Unavailable as exc:
            for other in futures:
                other.cancel()
            raise _stop(exc) from None


def _sync_all_with_progress(jobs: int, tally: Tally, force: bool = False) -> None:
    from tqdm import tqdm

    started = time.monotonic()
    bar = tqdm(total=0, unit="scene", dynamic_ncols=True, disable=None)

    def on_start(total: int) -> None:
        bar.write(f"syncing {total} scene(s) from Stash")
        bar.reset(total=total)

    def on_done(line: str) -> None:
        with tally.lock:
            bar.update(1)
            if " failed: " in line and tally.failed <= SHOW_FAILURES:
                bar.write(line)
            bar.set_postfix_str(f"{tally.failed} failed, {tally.outside} outside Plex", refresh=False)

    try:
        with bar:
            _run_pages(jobs, tally, on_start, on_done, force)
    finally:
        _finish(tally)
    if tally.failed > SHOW_FAILURES:
        click.echo(f"... and {tally.failed - SHOW_FAILURES} more failures")
    if tally.outside_example:
        click.echo(f"outside Plex, e.g. {tally.outside_example}")
    click.echo(f"done in {time.monotonic() - started:.0f} s")


# -- dead letters --------------------------------------------------------------


@main.group("dlq")
def dlq_group() -> None:
    """Dead letters: syncs that failed for good."""


@dlq_group.command("list")
def dlq_list() -> None:
    """List dead letters, newest failure first."""
    _open_state()
    from plexsync import dlq

    letters = dlq.all_letters()
    if not letters:
        click.echo("no dead letters")
    for letter in letters:
        click.echo(dlq.describe(letter))


@dlq_group.command("show")
@click.argument("letter_id", type=int)
def dlq_show(letter_id: int) -> None:
    """Everything recorded about one dead letter."""
    _open_state()
    from plexsync import dlq

    letter = dlq.get(letter_id)
    if letter is None:
        raise click.ClickException(f"no dead letter #{letter_id} ('plexsync dlq list' shows them)")
    fmt = "%Y-%m-%d %H:%M:%S"
    rows = {
        "id": letter.id,
        "task": letter.task_name,
        "args": json.loads(letter.args),
        "scene": letter.scene_id,
        "error": letter.error_class,
        "message": letter.message,
        "attempts": letter.attempts,
        "times dead-lettered": letter.failures,
        "first failure": time.strftime(fmt, time.localtime(letter.first_failed_at)),
        "last failure": time.strftime(fmt, time.localtime(letter.last_failed_at)),
    }
    for key, value in rows.items():
        click.echo(f"{key:>20}: {value}")


@dlq_group.command("retry")
@click.argument("letter_ids", type=int, nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
def dlq_retry(letter_ids: tuple[int, ...], retry_all: bool) -> None:
    """Queue dead letters again; each row goes once its retry succeeds."""
    if retry_all == bool(letter_ids):
        raise click.UsageError("give dead-letter ids, or --all")
    _open_state()
    from plexsync import dlq

    letters = dlq.all_letters() if retry_all else [dlq.get(i) for i in letter_ids]
    missing = [i for i, letter in zip(letter_ids, letters, strict=False) if letter is None]
    if missing:
        raise click.ClickException(f"no dead letter {', '.join(f'#{i}' for i in missing)}")
    outcome = dlq.retry(letter for letter in letters if letter is not None)
    click.echo(f"re-queued {len(outcome.queued)} dead letter(s)")
    if outcome.unknown:
        click.echo(f"not retried (unknown task): {', '.join(f'#{i}' for i in outcome.unknown)}")


@dlq_group.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Only remove dead letters whose last failure is older than this many days.",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def dlq_purge(days: float, yes: bool) -> None:
    """Remove dead letters (asks first, unless --yes)."""
    _open_state()
    from plexsync import dlq

    cutoff = time.time() - days * 86400
    count = sum(1 for letter in dlq.all_letters() if letter.last_failed_at <= cutoff)
    if count == 0:
        click.echo("removed 0 dead letter(s)")
        return
    if not yes:
        older = f" older than {days:g} days" if days else ""
        click.confirm(f"remove {count} dead letter(s){older}? they cannot be retried afterwards", abort=True)
    click.echo(f"removed {dlq.purge(days)} dead letter(s)")


@main.command("inspect", short_help="Everything PlexSync knows about one scene.")
@click.argument("scene_id")
@click.option("--json", "as_json", is_flag=True, help="The scene page's panel data, as JSON.")
def inspect_command(scene_id: str, as_json: bool) -> None:
    """What PlexSync knows about SCENE_ID, from its own state: the scene's files
    and its Plex item(s) and how they were matched, what was last written and
    when, a wait for a Plex scan, a place outside every Plex library (with the
    path rule that would fix it), a dead letter, a queued or running sync, and
    the plays, resume point and rating copied from Plex. Plex is not asked;
    Stash only for the files of a scene PlexSync never looked up."""
    if not (scene_id.isascii() and scene_id.isdigit() and 0 < int(scene_id) < 2**63):
        raise click.UsageError(f"not a scene id: {scene_id[:40]} (scene ids are whole numbers, as in Stash's URLs)")
    _open_state()
    from plexsync.tools import inspect

    scene_id = str(int(scene_id))
    facts = inspect.gather(scene_id)
    facts.worker = inspect.worker_fact()
    if not facts.files:
        _add_files_from_stash(facts)
    click.echo(json.dumps(facts.panel(), indent=2) if as_json else facts.text())


def _add_files_from_stash(facts: object) -> None:
    """One Stash read for the files of a scene PlexSync never looked up; a note when Stash cannot say."""
    from plexsync.errors import SyncError
    from plexsync.queue.instance import bootstrap
    from plexsync.redact import register_secret
    from plexsync.stash.reader import StashReader
    from plexsync.tools import inspect

    assert isinstance(facts, inspect.SceneFacts)
    register_secret(bootstrap.stash_api_key)
    try:
        scene = StashReader(bootstrap.stash_connection, timeout=30.0).files_of(facts.scene_id)
    except SyncError as exc:
        click.echo(f"(Stash could not list the scene's files: {exc.reason})", err=True)
        return
    if scene is None:
        raise click.ClickException(f"Stash has no scene {facts.scene_id}")
    inspect.add_stash_files(facts, scene)


@main.command("match-report")
def match_report() -> None:
    """How every Stash scene matches its Plex item, with path rules that would fix the misses."""
    from plexsync.config import ConfigError
    from plexsync.errors import SyncError
    from plexsync.tools import match_report as report

    try:
        click.echo(report.run())
    except (SyncError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
