"""Everything PlexSync knows about one scene, from its own state alone.

``plexsync inspect SCENE_ID``, the Stash task "Inspect recent scenes" and the
scene page's panel (``ui/plexsync.js``, through the plugin operation
``scene_panel``) show the same facts, gathered here by :func:`gather` and
worded by :class:`SceneFacts`:

* the scene's files and where the last sync found each in Plex: the item(s),
  their library, and how they were matched (by path, or by file name and
  size only, with the path rule that would match it by path);
* what was last written into each item and when; when the scene's own last
  sync finished;
* that it waits for a Plex scan (the folder, and when the scan was asked for),
  or lies outside every Plex library (and which path rule would reach a Plex
  file of the same name, the match report's suggestion);
* its dead letter (the reason), a sync of it queued, held, scheduled for a
  retry or running;
* the plays, resume point and rating last copied from Plex.

No request goes to Plex: the matches, written groups, dead letters, the
queue and the copies from Plex are PlexSync's own tables
(:mod:`plexsync.state`), and the link to Plex Web is built from the server
identity a worker stored when it connected (:mod:`plexsync.state.servers`).
The panel's answer reaches Stash's page, so it holds no secret: the link
carries no token, and every text was redacted when it was stored.

Only the CLI may ask Stash once, for the files of a scene PlexSync never
looked up (then its own state has none); the panel has the scene's files on
the page already, and the task reads its "recent scenes" in one query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from plexsync.matching.matcher import FALLBACK, OUTSIDE, PATH, WAITING
from plexsync.queue.lookup import SceneJob
from plexsync.tools.status import ago, when

#: Rows of :mod:`plexsync.state.written` that are bookkeeping, not something written into Plex.
HIDDEN_GROUPS = frozenset({"cover_source"})
#: plexapi's ``PlexServer._buildWebURL`` (4.18): the web app addresses an item by
#: server identity and key; ``app.plex.tv/desktop`` is plexapi's default base.
APP_PLEX_TV = "https://app.plex.tv/desktop/"

#: What the panel shows as the scene's state, and its one-word label.
STATE_LABELS = {
    "running": "Syncing",
    "queued": "Queued",
    "failed": "Failed",
    "waiting": "Waiting for Plex",
    "outside": "Not in Plex",
    "retrying": "Retrying",
    "synced": "In Plex",
    "unknown": "Not synced yet",
}
HOW_MATCHED = {
    PATH: "matched by path",
    FALLBACK: "matched by file name and size only (a path rule is missing or wrong)",
    WAITING: "inside a Plex library's folder, not scanned by Plex yet",
    OUTSIDE: "outside every Plex library",
}


def clock(seconds: float) -> str:
    """A resume point as a player shows it: 1:05:09, 4:07."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def web_url(base: str, machine_identifier: str, rating_key: int) -> str:
    """Plex Web's address of an item: ``<base>#!/server/<id>/details?key=%2Flibrary%2Fmetadata%2F<key>``."""
    return f"{base}#!/server/{machine_identifier}/details?key={quote(f'/library/metadata/{rating_key}', safe='')}"


@dataclass(frozen=True)
class FileFact:
    stash_path: str
    plex_path: str
    outcome: str
    items: tuple[int, ...] = ()
    libraries: tuple[str, ...] = ()
    nearest: str | None = None
    rule: str | None = None


@dataclass(frozen=True)
class ItemFact:
    rating_key: int
    libraries: tuple[str, ...]
    matched_by: str
    plex_path: str
    written: dict[str, float]  # group -> when Plex accepted it
    open_url: str | None
    app_url: str | None

    @property
    def last_written_at(self) -> float | None:
        return max(self.written.values(), default=None)


@dataclass(frozen=True)
class DeadLetterFact:
    letter_id: int
    error: str
    message: str
    attempts: int
    last_failed_at: float


@dataclass(frozen=True)
class PlaybackFact:
    """What the copies from Plex did to this scene."""

    plays: int = 0
    last_play_at: int | None = None  # Plex viewedAt of the newest play copied
    resume_ms: int | None = None  # Plex viewOffset last applied
    viewed_at: int | None = None  # Plex lastViewedAt last applied
    rating100: int | None = None  # the scene's rating as the last rating copy left it
    rated_at: int | None = None  # Plex lastRatedAt of that rating
    copied_at: float | None = None  # when the last copy from Plex finished
    error: str | None = None  # why the last copy failed

    @property
    def anything(self) -> bool:
        return bool(self.plays or self.resume_ms is not None or self.rated_at is not None)


@dataclass(frozen=True)
class WorkerFact:
    alive: bool
    mode: str
    note: str | None = None  # a warning: no worker where one is needed


@dataclass
class SceneFacts:
    scene_id: str
    now: float
    files: list[FileFact] = field(default_factory=list)
    #: The files came from Stash just now, not from a sync (the scene was never looked up in Plex).
    files_from_stash: bool = False
    title: str | None = None
    outcome: str | None = None  # the last match's, None: never looked up
    matched_since: float | None = None
    server_name: str | None = None
    items: list[ItemFact] = field(default_factory=list)
    sync_started_at: float | None = None
    sync_finished_at: float | None = None
    scan_asked_at: float | None = None
    dead_letter: DeadLetterFact | None = None
    job: SceneJob = field(default_factory=lambda: SceneJob(frozenset()))
    playback: PlaybackFact = field(default_factory=PlaybackFact)
    worker: WorkerFact | None = None

    # -- what it comes to ---------------------------------------------------------
    @property
    def state(self) -> str:
        states = self.job.states
        if "running" in states:
            return "running"
        if states & {"queued", "held"}:
            return "queued"
        if self.dead_letter is not None:
            return "failed"
        if self.outcome == WAITING:
            return "waiting"
        if self.outcome == OUTSIDE:
            return "outside"
        if "scheduled" in states:
            return "retrying"
        if self.outcome in (PATH, FALLBACK):
            return "synced"
        return "unknown"

    @property
    def last_written_at(self) -> float | None:
        return max((item.last_written_at for item in self.items if item.last_written_at), default=None)

    def _items_words(self) -> str:
        keys = ", ".join(str(item.rating_key) for item in self.items)
        return f"Plex item {keys}" if len(self.items) == 1 else f"Plex items {keys}"

    def headline(self) -> str:
        state = self.state
        if state == "running":
            return "A sync of this scene is running now."
        if state == "queued":
            held = " (held until a burst of edits is over)" if "held" in self.job.states else ""
            soon = " The worker takes it shortly." if self.worker is not None and self.worker.alive else ""
            return f"A sync of this scene is queued{held}.{soon}"
        if state == "failed":
            letter = self.dead_letter
            assert letter is not None
            return f"The sync failed for good: {letter.message}"
        if state == "waiting":
            first = next((f for f in self.files if f.outcome == WAITING), None)
            folder = _folder(first.plex_path) if first else "its folder"
            return f"Waiting for Plex to scan {folder}: Plex has no item for this file yet."
        if state == "outside":
            first = next((f for f in self.files if f.outcome == OUTSIDE), None)
            where = f" ({first.plex_path})" if first else ""
            rule = next((f.rule for f in self.files if f.rule), None)
            fix = f" The path rule {rule} would reach a Plex file of the same name." if rule else ""
            return f"Outside every Plex library{where}: nothing to sync.{fix}"
        if state == "retrying":
            at = f" at {when(self.job.retry_at, self.now)}" if self.job.retry_at else ""
            return f"The last try failed; PlexSync tries again{at}."
        if state == "synced":
            written = self.last_written_at
            wrote = f", last written {ago(self.now - written)}" if written else ", nothing written yet"
            return f"In Plex as {self._items_words()}{wrote}."
        return "PlexSync has not synced this scene yet."

    def details(self) -> list[tuple[str, str]]:
        """Everything else, as (label, text) rows (the CLI's lines, the panel's table)."""
        rows: list[tuple[str, str]] = []
        for file in self.files:
            rows.append(("file", file.stash_path + ("" if self.files_from_stash else f" -> Plex {file.plex_path}")))
            if self.files_from_stash:
                continue
            rows.append(("match", _match_words(file)))
            if file.rule:
                nearest = f" (Plex has {file.nearest})" if file.nearest else ""
                rows.append(("path rule", f"add {file.rule} to Path rules{nearest}"))
        for item in self.items:
            by_time: dict[int, list[str]] = {}
            for group, at in item.written.items():
                if group not in HIDDEN_GROUPS:
                    by_time.setdefault(int(at), []).append(group)
            newest_first = sorted(by_time.items(), reverse=True)
            written = "; ".join(f"{', '.join(sorted(groups))} {when(at, self.now)}" for at, groups in newest_first)
            rows.append((f"Plex item {item.rating_key}", f"written: {written or 'nothing yet'}"))
        if self.outcome is not None:
            rows.append(("since", when(self.matched_since, self.now)))
        if self.sync_finished_at is not None:
            rows.append(("last sync", f"finished {when(self.sync_finished_at, self.now)}"))
        if self.scan_asked_at is not None and self.outcome == WAITING:
            rows.append(("scan asked", when(self.scan_asked_at, self.now)))
        job = self.job.describe()
        if job:
            retry = f" (next try {when(self.job.retry_at, self.now)})" if self.job.retry_at else ""
            rows.append(("queue", job + retry))
        if self.dead_letter is not None:
            letter = self.dead_letter
            rows.append(
                (
                    "dead letter",
                    f"#{letter.letter_id} {letter.error}: {letter.message} ({letter.attempts} attempt(s), "
                    f"last {when(letter.last_failed_at, self.now)}); 'Retry dead letters' or Sync now tries again",
                )
            )
        rows += self.playback_rows()
        if self.worker is not None and self.worker.note:
            rows.append(("worker", self.worker.note))
        return rows

    def playback_rows(self) -> list[tuple[str, str]]:
        copied = self.playback
        rows = []
        if copied.plays:
            last = f", the last viewed {when(copied.last_play_at, self.now)}" if copied.last_play_at else ""
            rows.append(("plays from Plex", f"{copied.plays} copied{last}"))
        if copied.resume_ms is not None:
            at = f" (Plex, {when(copied.viewed_at, self.now)})" if copied.viewed_at else ""
            point = clock(copied.resume_ms / 1000) if copied.resume_ms else "none (watched to the end)"
            rows.append(("resume point", point + at))
        if copied.rated_at is not None:
            value = "none" if copied.rating100 is None else f"{copied.rating100}/100"
            rows.append(("rating", f"{value} after the copy of Plex's rating from {when(copied.rated_at, self.now)}"))
        if copied.copied_at is not None:
            rows.append(("copy from Plex", f"last finished {when(copied.copied_at, self.now)}"))
        if copied.error:
            rows.append(("copy from Plex", f"the last copy failed: {copied.error}"))
        return rows

    # -- renderings ---------------------------------------------------------------
    def text(self) -> str:
        """The CLI's and the task's report."""
        title = f" ({self.title})" if self.title else ""
        lines = [f"Scene {self.scene_id}{title}: {STATE_LABELS[self.state]}", f"  {self.headline()}"]
        lines += [f"  {label:>16}: {value}" for label, value in self.details()]
        for item in self.items:
            if item.open_url:
                lines.append(f"  {'open in Plex':>16}: {item.open_url}")
        return "\n".join(lines)

    def panel(self) -> dict[str, Any]:
        """The scene page's panel: JSON, no secret (see the module doc)."""
        return {
            "scene_id": self.scene_id,
            "state": self.state,
            "label": STATE_LABELS[self.state],
            "headline": self.headline(),
            "server": self.server_name,
            "items": [
                {
                    "rating_key": item.rating_key,
                    "libraries": list(item.libraries),
                    "matched_by": item.matched_by,
                    "how": HOW_MATCHED.get(item.matched_by, item.matched_by),
                    "plex_path": item.plex_path,
                    "last_written_at": item.last_written_at,
                    "open_url": item.open_url,
                    "app_url": item.app_url,
                }
                for item in self.items
            ],
            "details": [[label, value] for label, value in self.details() if label not in _PANEL_OWN_ROWS],
            "playback": [[label, value] for label, value in self.playback_rows()],
            "job": sorted(self.job.states),
            "worker": None
            if self.worker is None
            else {"alive": self.worker.alive, "mode": self.worker.mode, "note": self.worker.note},
            "sync_finished_at": self.sync_finished_at,
            "playback_copied_at": self.playback.copied_at,
            "playback_error": self.playback.error,
            "now": self.now,
            "report": self.text(),
        }


def _match_words(file: FileFact) -> str:
    libraries = ", ".join(file.libraries)
    if file.outcome == WAITING:
        return f"in the folders of library {libraries}, not scanned by Plex yet" if libraries else HOW_MATCHED[WAITING]
    how = HOW_MATCHED.get(file.outcome, file.outcome)
    return f"{how} (library {libraries})" if libraries else how


#: Rows the panel shows in sections of their own.
_PANEL_OWN_ROWS = frozenset({"plays from Plex", "resume point", "rating", "copy from Plex", "worker"})


def _folder(plex_path: str) -> str:
    from plexsync.matching.paths import split

    parsed = split(plex_path)
    return parsed.join(parsed.parts[:-1]) or plex_path


# -- gathering (the state database must be open) -----------------------------------------


def gather(scene_id: str, now: float | None = None) -> SceneFacts:
    """The facts about ``scene_id`` from PlexSync's own state (no server is asked)."""
    from plexsync.queue.instance import huey
    from plexsync.queue.lookup import scene_job
    from plexsync.state import freshness, matches, servers

    facts = SceneFacts(scene_id=scene_id, now=time.time() if now is None else now)
    recorded = matches.of(scene_id)
    if recorded is not None:
        _add_match(facts, recorded, servers.get(recorded.server))
    synced = freshness.SceneSync.get_or_none(freshness.SceneSync.scene_id == scene_id)
    if synced is not None:
        facts.sync_started_at, facts.sync_finished_at = synced.started_at, synced.finished_at
    facts.dead_letter = _dead_letter(scene_id)
    facts.job = scene_job(huey, scene_id)
    facts.playback = _playback(scene_id)
    return facts


def _add_match(facts: SceneFacts, recorded: Any, server: Any) -> None:
    from plexsync.matching.paths import path_key
    from plexsync.state import scans, written

    facts.outcome, facts.matched_since = recorded.outcome, recorded.since
    facts.server_name = server.name if server is not None else None
    for file in recorded.files:
        libraries = tuple(title for _, title in file.sections)
        facts.files.append(
            FileFact(file.stash_path, file.plex_path, file.outcome, file.items, libraries, file.nearest, file.rule)
        )
    for file in facts.files:
        for key in file.items:
            if any(item.rating_key == key for item in facts.items):
                continue
            rows = written.WrittenGroup.select(written.WrittenGroup.group, written.WrittenGroup.written_at).where(
                written.WrittenGroup.rating_key == key
            )
            open_url = app_url = None
            if server is not None:
                open_url = web_url(f"{server.address}/web/index.html", server.machine_identifier, key)
                app_url = web_url(APP_PLEX_TV, server.machine_identifier, key)
            facts.items.append(
                ItemFact(
                    rating_key=key,
                    libraries=file.libraries,
                    matched_by=file.outcome,
                    plex_path=file.plex_path,
                    written={row.group: row.written_at for row in rows},
                    open_url=open_url,
                    app_url=app_url,
                )
            )
    waiting = [
        (s, path_key(_folder(f.plex_path))) for f in recorded.files if f.outcome == WAITING for s, _ in f.sections
    ]
    facts.scan_asked_at = scans.last_requested(waiting)


def add_stash_files(facts: SceneFacts, scene: dict[str, Any]) -> None:
    """The scene's files as Stash lists them (``{title, files: [{path}]}``), for
    a scene PlexSync never looked up in Plex (its own state has no files then)."""
    facts.title = scene.get("title") or facts.title
    facts.files = [FileFact(f["path"], "", "") for f in scene.get("files") or () if f.get("path")]
    facts.files_from_stash = True


def _dead_letter(scene_id: str) -> DeadLetterFact | None:
    from plexsync import dlq

    letter = (
        dlq.DeadLetter.select()
        .where((dlq.DeadLetter.scene_id == scene_id) & (dlq.DeadLetter.task_name == "sync_scene"))
        .order_by(dlq.DeadLetter.last_failed_at.desc())
        .first()
    )
    if letter is None:
        return None
    return DeadLetterFact(letter.id, letter.error_class, letter.message, letter.attempts, letter.last_failed_at)


def _playback(scene_id: str) -> PlaybackFact:
    import peewee

    from plexsync.state import playback

    items = list(playback.PlaybackItem.select().where(playback.PlaybackItem.scene_id == scene_id))
    done = (playback.PlaybackView.scene_id == scene_id) & (playback.PlaybackView.state == playback.DONE)
    plays, last_play = (
        playback.PlaybackView.select(
            peewee.fn.COUNT(playback.PlaybackView.key), peewee.fn.MAX(playback.PlaybackView.viewed_at)
        )
        .where(done)
        .scalar(as_tuple=True)
    )
    servers = {item.server for item in items} | {
        row.server for row in playback.PlaybackView.select(playback.PlaybackView.server).where(done).distinct()
    }
    runs = (
        [run for run in playback.PlaybackRun.select().where(playback.PlaybackRun.server.in_(servers))]
        if servers
        else []
    )
    resumed = max((i for i in items if i.view_offset is not None), key=lambda i: i.viewed_at or 0, default=None)
    rated = max((i for i in items if i.rated_at is not None), key=lambda i: i.rated_at or 0, default=None)
    return PlaybackFact(
        plays=int(plays or 0),
        last_play_at=last_play,
        resume_ms=resumed.view_offset if resumed else None,
        viewed_at=resumed.viewed_at if resumed else None,
        rating100=rated.stash_rating if rated else None,
        rated_at=rated.rated_at if rated else None,
        copied_at=max((run.finished_at for run in runs if run.finished_at), default=None),
        error=next((run.error for run in runs if run.error), None),
    )


def worker_fact(server_connection: Any = None, work: bool = False, start: bool = False) -> WorkerFact:
    """Is a worker running, and does the user need to hear about it?

    ``start`` (the scene page): as a hook or task does after queuing, start a
    worker in auto mode when ``work`` waits and none is alive; in external mode
    the warning is the one Stash's log shows. Without it (the CLI) nothing is started."""
    from plexsync import hookenv
    from plexsync.worker import autostart, health, heartbeat

    snapshot = health.read() or {}
    try:
        mode = hookenv.worker_mode(snapshot.get("settings"))
    except hookenv.ConfigError as exc:
        return WorkerFact(heartbeat.alive(), hookenv.WORKER_MODES[0], str(exc))
    if start:
        note = autostart.ensure_worker(mode, server_connection, work)
    elif mode != "auto" and not heartbeat.alive():
        note = (
            f"no worker is running (worker mode {mode}): syncs wait in the queue until you start it, "
            f"e.g. `python3 run.py worker` in {hookenv.PLUGIN_DIR}"
        )
    else:
        note = None
    return WorkerFact(heartbeat.alive(), mode, note)
