"""What PlexSync is doing right now, read from the queue and the state alone.

``plexsync status`` and the Stash task "Status" print the same report. It
talks to neither Stash nor Plex (that is ``plexsync doctor``): it reads the
queue (waiting, scheduled, claimed jobs), the dead letters, the open
outages, the worker heartbeat and the last successful sync, so it answers at
once even while Plex is down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from plexsync import dlq, unwritable
from plexsync.queue.storage import HOLD
from plexsync.tools.exitcodes import ExitCode, worst
from plexsync.tools.words import CLI, Words
from plexsync.worker import heartbeat

# The queue (plexsync.queue.instance) is imported where it is used: building
# it opens or creates the queue, which the report's pure parts do not need.

#: The huey kv key of the last successful job (written by the consumer).
LAST_SUCCESS_KEY = "plexsync.last_success"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def record_success(task_name: str, args: tuple | list) -> None:
    """Called by the consumer after every successful job."""
    from plexsync.queue.instance import huey

    name = dlq.short_task_name(task_name)
    if name == "reconcile":
        return  # it has a line of its own, and would hide the last sync behind it every hour
    subject = f"scene {args[0]}" if name == "sync_scene" and args else name
    huey.put(LAST_SUCCESS_KEY, {"at": time.time(), "subject": subject})


def ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def when(timestamp: float | None, now: float) -> str:
    """A time as the reports show it: its date and time, and how long ago (or how soon)."""
    if timestamp is None:
        return "never"
    relative = ago(now - timestamp) if timestamp <= now else "in " + ago(timestamp - now).removesuffix(" ago")
    return f"{time.strftime(TIME_FORMAT, time.localtime(timestamp))} ({relative})"


def queue_location() -> str:
    """Where the queue is, without any password a Redis URL may hold."""
    from plexsync.queue.instance import bootstrap

    if bootstrap.redis_url:
        parts = urlsplit(bootstrap.redis_url)
        port = f":{parts.port}" if parts.port else ""
        return f"Redis {parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
    return f"SQLite {bootstrap.data_dir / 'queue.db'}"


#: What a held job waits for, for the status line.
HELD = (
    f"scenes synced in the last {HOLD / 60:.0f} minutes and edited again while a burst of edits "
    "goes on: each syncs once the burst is over"
)


@dataclass(frozen=True)
class Problem:
    code: ExitCode
    message: str  # what is wrong and what to do, in one line


@dataclass
class Status:
    queued: int
    scheduled: int
    in_flight: int
    dead_letters: int
    newest_letter: str | None
    outages: list[dict[str, Any]]
    last_success: dict[str, Any] | None
    worker: dict[str, Any] | None
    worker_alive: bool
    location: str = ""  # where the queue is (queue_location())
    #: The copy from Plex into Stash, per Plex server (plexsync.playback): see :func:`playback_lines`.
    playback: list[dict[str, Any]] = field(default_factory=list)
    #: When the last reconcile of scenes changed without a hook finished (None: none yet).
    last_reconcile: float | None = None
    #: Of the queued jobs, those held while a burst of edits goes on (plexsync.queue.storage).
    held: int = 0
    #: The data folder's disk when it is full or read-only (plexsync.unwritable), and since when
    #: (the last beat of a worker still running: its writes failed from then on; None: unknown).
    data_folder: unwritable.Unwritable | None = None
    data_folder_since: float | None = None
    #: The worker mode in force as the hooks see it (plexsync.hookenv.worker_mode).
    worker_mode: str = "external"
    #: Every consumer's latest beat (plexsync.worker.heartbeat.consumers): several may share a queue.
    consumers: list[dict[str, Any]] = field(default_factory=list)
    now: float = field(default_factory=time.time)

    @property
    def waiting(self) -> int:
        return self.queued + self.scheduled + self.in_flight

    def problems(self, words: Words = CLI) -> list[Problem]:
        """What needs the user, each with its fix in ``words`` (Stash's or the command line's)."""
        found = []
        if self.data_folder is not None:
            since = f" since {when(self.data_folder_since, self.now)}" if self.data_folder_since else ""
            found.append(
                Problem(
                    ExitCode.DATA_FOLDER,
                    f"the data folder cannot be written{since}: {self.data_folder.what()}; "
                    f"{self.data_folder.fix()}; edits made meanwhile are synced once it can be written again",
                )
            )
        if not self.worker_alive and self.waiting:
            from plexsync.config import PLUGIN_DIR

            found.append(
                Problem(
                    ExitCode.WORKER_DOWN,
                    f"no worker is running and {self.waiting} job(s) wait: "
                    + words.start_worker(str(PLUGIN_DIR), self.worker_mode),
                )
            )
        for row in self.outages:
            found.append(
                Problem(
                    ExitCode.OUTAGE,
                    f"{row['service'].capitalize()}: {row['reason']} (since {when(row['opened_at'], self.now)}); "
                    f"syncs wait and resume by themselves once this is fixed; {words.doctor} tells what to fix",
                )
            )
        if self.dead_letters:
            found.append(Problem(ExitCode.DEAD_LETTERS, f"{self.dead_letters} dead letter(s): {words.dead_letters}"))
        return found

    @property
    def exit_code(self) -> ExitCode:
        return worst([problem.code for problem in self.problems()])

    def _worker_line(self) -> str:
        alive = [beat for beat in self.consumers if self.now - float(beat.get("beat_at", 0)) <= heartbeat.MAX_AGE]
        if len(alive) > 1:
            shown = "; ".join(_consumer(beat, self.now) for beat in alive)
            return f"{len(alive)} alive on this queue: {shown}"
        beat = self.worker
        if beat is None:
            return "not running"
        where = f"{beat.get('host')} pid {beat.get('pid')}, {beat.get('mode')} mode"
        if self.worker_alive:
            started, beat_ago = when(beat["started_at"], self.now), ago(self.now - beat["beat_at"])
            return f"alive ({where}, started {started}, last beat {beat_ago})"
        return f"not running (last seen {when(beat['beat_at'], self.now)}: {where})"

    def lines(self, words: Words = CLI) -> list[str]:
        last = self.last_success
        newest = f" (newest: {self.newest_letter})" if self.newest_letter else ""
        rows = [
            ("worker", self._worker_line()),
            ("queued", f"{self.queued} job(s)" + (f", {self.held} of them held: {HELD}" if self.held else "")),
            ("scheduled", f"{self.scheduled} job(s) (retries, and jobs waiting for Plex or Stash)"),
            ("in flight", f"{self.in_flight} job(s)"),
            ("dead letters", f"{self.dead_letters}{newest}"),
            ("outages", "none" if not self.outages else f"{len(self.outages)} open (below)"),
            ("last success", f"{last['subject']} at {when(last['at'], self.now)}" if last else "none yet"),
            ("reconcile", f"last run {when(self.last_reconcile, self.now)}" if self.last_reconcile else "none yet"),
        ]
        rows += self.playback_rows()
        text = [f"PlexSync status (queue: {self.location})"]
        text += [f"{label:>13}: {value}" for label, value in rows]
        problems = self.problems(words)
        if problems:
            text.append("")
            text += [f"! {problem.message}" for problem in problems]
        else:
            text.append("")
            text.append("all good")
        return text

    def text(self, words: Words = CLI) -> str:
        return "\n".join(self.lines(words))

    def stash_lines(self, words: Words) -> tuple[list[tuple[str, str]], tuple[str, str]]:
        """The report for Stash's log: (level, line) details and the summary line (see plexsync.plugin.report)."""
        newest = f" (newest: {self.newest_letter})" if self.newest_letter else ""
        held = f", {self.held} of them held while a burst of edits goes on" if self.held else ""
        last = self.last_success
        lines = [
            ("info", f"worker: {self._worker_line()}"),
            (
                "info",
                f"queue: {self.queued} job(s) queued{held}, {self.scheduled} scheduled (retries, waits for Plex "
                f"or Stash), {self.in_flight} in flight; {self.dead_letters} dead letter(s){newest}",
            ),
            (
                "info",
                "last success: "
                + (f"{last['subject']} at {when(last['at'], self.now)}" if last else "none yet")
                + "; reconcile: "
                + (f"last run {when(self.last_reconcile, self.now)}" if self.last_reconcile else "none yet"),
            ),
            *(("info", f"{label}: {value}") for label, value in self.playback_rows()),
        ]
        problems = self.problems(words)
        lines += [("warning", problem.message) for problem in problems]
        if problems:
            return lines, ("warning", f"{len(problems)} problem(s) (the lines below)")
        return lines, ("info", f"all good (queue: {self.location})")

    def playback_rows(self) -> list[tuple[str, str]]:
        """The last copy from Plex and the Plex items that map to no Stash scene (not retried)."""
        rows = []
        for run in self.playback:
            if run.get("finished_at"):
                last = (
                    f"{when(run['finished_at'], self.now)}: {run['plays']} play(s), "
                    f"{run['resumes']} resume point(s), {run['ratings']} rating(s)"
                )
            else:
                last = "not finished yet"
            if run.get("error"):
                last += f"; the last try failed: {run['error']}"
            rows.append(("from Plex", last))
            if run.get("unmapped_count"):
                shown = ", ".join(f"{item['rating_key']} {item['path']}" for item in run["unmapped"])
                more = " ..." if run["unmapped_count"] > len(run["unmapped"]) else ""
                rows.append(("not in Stash", f"{run['unmapped_count']} Plex item(s) (not copied): {shown}{more}"))
        return rows


def describe_consumer(beat: dict[str, Any], now: float | None = None) -> str:
    """One consumer for a line: pid, host, how it was started and since when."""
    return _consumer(beat, time.time() if now is None else now)


def _consumer(beat: dict[str, Any], now: float) -> str:
    how = "started by the plugin" if beat.get("mode") == "auto" else "started by hand"
    return f"pid {beat.get('pid')} on {beat.get('host')} ({how}, since {when(beat['started_at'], now)})"


def _worker_mode() -> str:
    from plexsync import hookenv
    from plexsync.worker import health

    try:
        return hookenv.worker_mode((health.read() or {}).get("settings"))
    except hookenv.ConfigError:
        return hookenv.WORKER_MODES[0]


def collect() -> Status:
    """Read everything the report shows (the state database must be open)."""
    from plexsync.queue.instance import bootstrap, huey
    from plexsync.state import outage, reconcile

    letters = dlq.all_letters()
    rows = [
        {"service": row.service, "reason": row.reason, "opened_at": row.opened_at, "retry_at": row.retry_at}
        for row in outage.Outage.select().order_by(outage.Outage.service)
    ]
    last = huey.get(LAST_SUCCESS_KEY, peek=True)
    beat = heartbeat.read()
    folder = unwritable.check(bootstrap.data_dir)
    # A worker that cannot write cannot beat: one still running that missed a beat wrote last
    # when its writes began to fail (it tries every beat).
    stuck = (
        folder is not None
        and beat is not None
        and time.time() - float(beat.get("beat_at", 0)) > heartbeat.BEAT_INTERVAL
        and _running_here(beat)
    )
    return Status(
        queued=huey.pending_count(),
        held=huey.storage.held_count(),
        scheduled=huey.scheduled_count(),
        in_flight=huey.storage.claims(),
        dead_letters=len(letters),
        newest_letter=dlq.describe(letters[0]) if letters else None,
        outages=rows,
        last_success=last if isinstance(last, dict) else None,
        worker=beat,
        worker_alive=heartbeat.alive() or stuck,
        consumers=heartbeat.consumers(),
        worker_mode=_worker_mode(),
        location=queue_location(),
        playback=playback_report(),
        last_reconcile=reconcile.last_finished(),
        data_folder=folder,
        data_folder_since=float(beat["beat_at"]) if stuck and beat else None,
    )


def _running_here(beat: dict[str, Any] | None) -> bool:
    """True when the consumer that wrote ``beat`` still runs on this machine."""
    import os
    import socket

    pid = beat.get("pid") if beat else None
    if not beat or beat.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def playback_report() -> list[dict[str, Any]]:
    from plexsync.state import playback

    found = []
    for run in playback.PlaybackRun.select().where(playback.PlaybackRun.started_at.is_null(False)):
        count, items = playback.unmapped_items(run.server)
        found.append(
            {
                "server": run.server,
                "finished_at": run.finished_at,
                "plays": run.plays,
                "resumes": run.resumes,
                "ratings": run.ratings,
                "error": run.error,
                "unmapped_count": count,
                "unmapped": [{"rating_key": i.rating_key, "path": i.plex_path or i.title} for i in items],
            }
        )
    return found
