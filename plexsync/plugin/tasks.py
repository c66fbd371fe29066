"""The buttons PlexSync adds to Stash's Tasks page (see the manifest).

Every task's result is written into Stash's log as lines a user reads at
Stash's default level (:mod:`plexsync.plugin.report`): info, warning where
something needs the user. Its ``output`` holds what ``plexsync status``,
``plexsync doctor``... print, for whatever reads it. A task that reports
nothing itself (a new one) gets its output written as info lines by
:func:`run`. Fixes are in Stash's words (:data:`plexsync.tools.words.STASH`).
Doctor checks Stash with the credential the worker gets, Plex with the
plugin settings.
Before its work every task stores the settings' missing defaults and warns
about refused values (:mod:`plexsync.plugin.settings_page`).
"""

from __future__ import annotations

import time
from typing import Any

from plexsync import dlq
from plexsync.queue.instance import bootstrap
from plexsync.state import db

#: What Stash's Tasks page calls each task (the manifest's names), for the lines in Stash's log.
TITLES = {
    "status": "Status",
    "doctor": "Doctor",
    "sync_all": "Sync all scenes",
    "force_sync_all": "Force full sync",
    "dlq_list": "List dead letters",
    "dlq_retry": "Retry dead letters",
    "match_report": "Match report",
    "playback": "Copy from Plex now",
    "setup": "Set up PlexSync",
    "link_plex": "Link Plex account",
}
#: Dead letters listed one by one in Stash's log; the rest are counted.
LISTED_LETTERS = 20


#: Seconds between two progress lines while "Sync all scenes" follows the worker.
FOLLOW_INTERVAL = 1.0
#: The task stops following a run whose progress has not moved for this long (the work goes on).
FOLLOW_STALL = 300.0
#: Without a worker's heartbeat for this long after queuing, there is nothing to
#: follow; a server unavailable this long is reported instead of followed.
WORKER_GRACE = 30.0


def _sync_all(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    """Queue the run, make sure a worker takes it, then show its progress in
    Stash's task list until it is done. Stash's progress bar exists only while
    the task's process runs, so the task follows the run; stopping the task
    stops the following, not the sync (its pages wait in the queue)."""
    from plexsync.plugin import report
    from plexsync.plugin.protocol import _report
    from plexsync.tasks import sync_all

    asked = time.time()
    sync_all()
    _report({"server_connection": server}, fresh=True, queued=True)  # the worker starts now, not after the run
    level, summary = _follow(asked)
    report.tell(TITLES["sync_all"], [], (level, summary))
    return summary


def _follow(asked: float) -> tuple[str, str]:
    """(level, summary) once the run is done, or once following it no longer helps."""
    from plexsync.plugin.protocol import log
    from plexsync.state import bulkrun, outage
    from plexsync.worker import heartbeat

    began = time.monotonic()
    last_done, moved_at, last_tenth = -1, began, -1
    while True:
        now = time.monotonic()
        run = bulkrun.current()
        if run is not None and run.started_at >= asked:
            log("progress", f"{run.fraction:.3f}")
            if run.finished:
                return "info", _finished(run)
            if run.done != last_done:
                last_done, moved_at = run.done, now
            tenth = int(run.fraction * 10)
            if tenth > last_tenth:
                last_tenth = tenth
                if run.done:
                    rate = run.done / max(time.time() - run.started_at, 0.001)
                    progress = f"{run.done} of {run.total} scenes synced ({rate:.0f}/s)"
                    log("info", f"PlexSync {TITLES['sync_all']}: {progress}")
        else:
            run = None
        down = outage.Outage.select().first()
        if down is not None and time.time() - down.opened_at > WORKER_GRACE:  # not a passing fault
            done = f"{run.done} of {run.total} scenes done; " if run else ""
            return "warning", (
                f"sync all queued; {done}waiting for {down.service.capitalize()} ({down.reason}); "
                "the sync resumes by itself, the Status task shows it, the Doctor task tells what to fix"
            )
        if now - began > WORKER_GRACE and not heartbeat.alive():
            return "warning", "sync all queued; no worker is running to do it (see the warning above)"
        if now - moved_at > FOLLOW_STALL:
            done = f"{run.done} of {run.total} scenes done" if run else "not started yet"
            return "info", f"sync all queued and still running in the worker ({done}); the Status task shows it"
        time.sleep(FOLLOW_INTERVAL)


def _finished(run: Any) -> str:
    seconds = max(time.time() - run.started_at, 0.001)
    own = f"; {run.fallbacks} failed inside a page and were queued on their own" if run.fallbacks else ""
    return f"sync all: {run.done} of {run.total} scenes done by the worker (queued pages) in {seconds:.0f} s{own}"


def _playback(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report
    from plexsync.tasks import sync_playback

    sync_playback()
    done = "queued a copy of the plays, resume points and ratings made in Plex since the last copy"
    report.tell(TITLES["playback"], [], ("info", done))
    return done


def _force_sync_all(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report
    from plexsync.tasks import sync_all

    sync_all(force=True)
    done = (
        "queued a forced Plex sync of every scene: every field, rating and image is written again, "
        "also those edited in Plex by hand"
    )
    report.tell(TITLES["force_sync_all"], [], ("info", done))
    return done


def _dlq_list(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report

    letters = dlq.all_letters()
    if not letters:
        report.tell(TITLES["dlq_list"], [], ("info", "no dead letters"))
        return "no dead letters"
    shown = [("info", dlq.describe(letter)) for letter in letters[:LISTED_LETTERS]]
    if len(letters) > LISTED_LETTERS:
        shown.append(("info", f"... and {len(letters) - LISTED_LETTERS} older"))
    summary = (
        f"{len(letters)} dead letter(s), newest first (below); once their cause is fixed (the Doctor task tells "
        "it), the task 'Retry dead letters' queues them again"
    )
    report.tell(TITLES["dlq_list"], shown, ("warning", summary))
    return f"{len(letters)} dead letter(s):\n" + "\n".join(dlq.describe(letter) for letter in letters)


def _dlq_retry(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report

    outcome = dlq.retry(dlq.all_letters())
    done = f"re-queued {len(outcome.queued)} dead letter(s); each stays listed until its retry succeeds"
    report.tell(TITLES["dlq_retry"], [], ("info", done))
    return done


def _status(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report
    from plexsync.tools import status
    from plexsync.tools.words import STASH

    found = status.collect()
    lines, summary = found.stash_lines(STASH)
    report.tell(TITLES["status"], lines, summary)
    return found.text(STASH)


def _doctor(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report
    from plexsync.tools import doctor
    from plexsync.tools.words import STASH

    if isinstance(server, dict):
        found = doctor.run_in_stash(server)
    else:
        found = doctor.run(doctor.StashAccess.from_bootstrap(bootstrap), STASH)
    report.tell(TITLES["doctor"], *found.stash_lines())
    return found.text()


def _setup(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    """Set up again: every shipped wheel checked and unpacked anew, the configured optional features installed
    (:mod:`plexsync.environment`; a first set-up runs before this module can even be loaded)."""
    from plexsync.environment import entry

    return entry.repair({"args": args, "server_connection": server})


def _link_plex(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import link

    return link.run(args, server)


def _match_report(args: dict[str, Any], server: dict[str, Any] | None) -> str:
    from plexsync.plugin import report
    from plexsync.tools import doctor, match_report
    from plexsync.tools.words import STASH

    access = doctor.StashAccess.from_server_connection(server, ask_key=False) if isinstance(server, dict) else None
    found = match_report.collect(access.connection if access else None, STASH)
    report.tell(TITLES["match_report"], *found.stash_lines(STASH))
    return found.render(STASH)


def _scene_id(args: dict[str, Any]) -> str:
    """``args.scene_id`` as Stash's URLs show it (a whole number), or a one-line refusal."""
    from plexsync.plugin.protocol import PluginInputError

    raw = args.get("scene_id")
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**63):
        shown = repr(raw)[:40] if raw is not None else "missing"
        raise PluginInputError(f"args.scene_id is not a scene id ({shown}; scene ids are whole numbers)")
    return str(int(text))


def _panel(args: dict[str, Any], server: dict[str, Any] | None, queued: bool = False) -> dict[str, Any]:
    """The panel's facts; a worker is started (auto mode) when work for the scene
    waits and none runs, as after a hook."""
    from plexsync.tools import inspect

    facts = inspect.gather(_scene_id(args))
    waits = queued or bool(facts.job.states)
    facts.worker = inspect.worker_fact(server, work=waits, start=True)
    return facts.panel()


def _scene_panel(args: dict[str, Any], server: dict[str, Any] | None) -> dict[str, Any]:
    """The scene page's panel: what PlexSync knows of the scene, from its own
    state (no Plex request, no Stash request: the page costs one plugin run)."""
    return _panel(args, server)


def _scene_sync(args: dict[str, Any], server: dict[str, Any] | None) -> dict[str, Any]:
    """The panel's "Sync now": queue the scene's sync (as an edit does), make
    sure a worker takes it, and answer the panel as it is now."""
    from plexsync.tasks import PRIORITY_EDIT, enqueue_scene

    scene_id = _scene_id(args)
    requested_at = time.time()
    enqueue_scene(scene_id, priority=PRIORITY_EDIT)
    return {**_panel(args, server, queued=True), "requested_at": requested_at}


def _scene_copy(args: dict[str, Any], server: dict[str, Any] | None) -> dict[str, Any]:
    """The panel's "Copy from Plex now": queue a copy of the plays, resume
    points and ratings made in Plex (all scenes: one pass over Plex's history),
    make sure a worker takes it, and answer the panel as it is now."""
    from plexsync.tasks import sync_playback

    _scene_id(args)
    requested_at = time.time()
    sync_playback()
    return {**_panel(args, server, queued=True), "requested_at": requested_at}


MODES = {
    "sync_all": _sync_all,
    "force_sync_all": _force_sync_all,
    "status": _status,
    "doctor": _doctor,
    "dlq_list": _dlq_list,
    "dlq_retry": _dlq_retry,
    "match_report": _match_report,
    "playback": _playback,
    "setup": _setup,
    "link_plex": _link_plex,
}

#: What the scene page's PlexSync tab (``ui/plexsync.js``) asks through
#: ``runPluginOperation``; no Tasks-page button: each needs the scene's id.
OPERATIONS = {
    "scene_panel": _scene_panel,
    "scene_sync": _scene_sync,
    "scene_copy": _scene_copy,
}


#: Tasks whose output is a health report with one warning per problem, or
#: that wrote the generic one-line health warning already ("sync all", before
#: it follows the run): the warning after the task would say the same twice.
#: The scene page's panel modes say in their answer what the worker is up to
#: (a warning in Stash's log on every scene page opened would drown it).
REPORTS_ITS_OWN_PROBLEMS = frozenset({"status", "doctor", "sync_all", "scene_panel", "scene_sync", "scene_copy"})


#: Tasks whose report names every refused setting itself (the task run's warning would repeat it).
REPORTS_SETTINGS = frozenset({"doctor"})


def run(mode: str, args: dict[str, Any], server_connection: dict[str, Any] | None = None) -> Any:
    """The mode's output: text for the Tasks-page buttons, a JSON object for the scene page's panel."""
    action = MODES.get(mode) or OPERATIONS.get(mode)
    if action is None:
        from plexsync.plugin.protocol import PluginInputError

        raise PluginInputError(f"unknown task mode {mode[:40]!r} (known: {', '.join([*MODES, *OPERATIONS])})")
    from plexsync.plugin import report

    db.open_state(bootstrap)
    if mode in OPERATIONS:  # the scene page's: JSON from local state, no Stash request, nothing logged
        return action(args, server_connection)
    if mode != "link_plex":  # Link Plex account stores the defaults with the Plex URL and token, in its one write
        from plexsync.plugin import settings_page

        settings_page.on_task(server_connection, report_refused=mode not in REPORTS_SETTINGS)
    output = action(args, server_connection)
    if not report.told():  # a task without a report of its own: its output, where a user sees it
        report.tell(
            TITLES.get(mode, mode),
            [("info", line) for line in output.splitlines()[:-1]],
            ("info", output.splitlines()[-1] if output.strip() else "done"),
        )
    return output
