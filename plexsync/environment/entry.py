"""An invocation while the set-up for this package is not there yet (:mod:`plexsync.environment.activate`: ``needed``).

* **A hook** checks its context as always (a bad one gets the usual one-line
  error), keeps it in the inbox (:mod:`~plexsync.environment.inbox`), starts
  the set-up in the background unless it runs (:mod:`~plexsync.environment.background`)
  and says so in one info line; Stash is not kept waiting. If the set-up
  finished in the meantime, the hook takes the inbox over itself: no edit
  waits for a next one.
* **A task** (any of them; *Set up PlexSync* is the one for it) runs the
  set-up in the foreground, or follows the one a hook started, with Stash's
  progress bar, then goes on as it would have with the packages in place.

A set-up that failed is not started again by hooks while the package is the
same (it would fail again, once per edit): they warn with its one-line
reason and keep their edits; the task *Set up PlexSync*, or installing the
package again (its files are then new), tries again.
"""

from __future__ import annotations

import time

from plexsync.environment import activate, background, installer, layout, report
from plexsync.hookenv import PLUGIN_DIR
from plexsync.worker import oslock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

#: How often a task following a background set-up looks at its progress.
FOLLOW_INTERVAL = 0.25


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    from plexsync.plugin import protocol

    return protocol.main(stdin, stdout, runner=run)


def run(payload: dict[str, Any]) -> str:
    args = payload["args"]
    if "hookContext" in args:
        return _hook(payload)
    mode = args.get("mode")
    if not isinstance(mode, str):
        from plexsync.plugin import protocol

        return protocol.run(payload)  # the same refusals, before anything is loaded
    if mode in PAGE_OPERATIONS:
        return _page_operation(payload)
    outcome = foreground(payload.get("server_connection"))
    if outcome["state"] != "done":
        from plexsync.plugin.protocol import PluginInputError

        raise PluginInputError(outcome["message"])
    if mode == "setup":
        return finish_setup(payload, outcome)
    activate.activate(PLUGIN_DIR)  # this run did the set-up: its outcome goes into this run's log, not the next's
    from plexsync.plugin import protocol

    return protocol.run(payload)


#: What the scene page's tab asks (:data:`plexsync.plugin.tasks.OPERATIONS`; a test keeps the two equal):
#: the page waits for the answer, so these never wait for a set-up.
PAGE_OPERATIONS = ("scene_panel", "scene_sync", "scene_copy")


def _page_operation(payload: dict[str, Any]) -> str:
    """The scene page asked while the packages are not there: start the set-up in the
    background (unless it runs or failed for this package) and say so at once, in the
    error the tab shows as "still setting up"."""
    from plexsync.plugin.protocol import PluginInputError

    failed = _failed_set_up()
    if failed:
        raise PluginInputError(f"not set up: {failed.get('message')}")
    background.start(PLUGIN_DIR, payload.get("server_connection"))
    status = installer.read_status(PLUGIN_DIR)
    raise PluginInputError(f"being set up{report.progress_phrase(status)}; this page works once it is done")


# -- hooks ---------------------------------------------------------------------------------------------------------


def _what(hook_context: Any) -> str:
    """What the hook's job is about, after the same checks :func:`plexsync.hooks.handle` makes."""
    from plexsync import hooks
    from plexsync.plugin.protocol import PluginInputError

    try:
        if isinstance(hook_context, dict) and hook_context.get("type") in hooks.RELATED_HOOKS:
            change = hooks.related_change_of(hook_context)
            unshown = hooks.unshown_update(change, hook_context)
            if unshown:
                raise _NothingToKeep(unshown)
            return f"the edit of {change.kind} {change.object_id}"
        return f"the edit of scene {hooks.scene_id_of(hook_context)}"
    except hooks.HookInputError as exc:
        raise PluginInputError(str(exc)) from None


class _NothingToKeep(Exception):
    pass


def _hook(payload: dict[str, Any]) -> str:
    from plexsync import hookenv
    from plexsync.environment import inbox

    context = payload["args"]["hookContext"]
    try:
        what = _what(context)
    except _NothingToKeep as unshown:
        return str(unshown)
    inbox.record(hookenv.data_dir(), context)
    if activate.state(PLUGIN_DIR)[0] == activate.READY:  # the set-up finished since the entry script looked
        taken = background.take_over(PLUGIN_DIR, payload.get("server_connection"))
        return f"{what} queued with {taken - 1} kept meanwhile" if taken > 1 else f"{what} queued"
    failed = _failed_set_up()
    if failed:
        report.log("warning", f"{failed.get('message')}; {what} is kept and synced once it is set up")
        return f"{what} kept until PlexSync is set up"
    background.start(PLUGIN_DIR, payload.get("server_connection"))
    status = installer.read_status(PLUGIN_DIR)
    report.log(
        "info",
        "setting up its Python packages in the background, a first run of this version"
        f"{report.progress_phrase(status)}; {what} is kept and synced when it is done",
    )
    return f"{what} kept until PlexSync is set up"


def _failed_set_up() -> dict | None:
    """The set-up's failure for this very package, if it failed: hooks and the scene page do not start it
    again (it would fail again, once per edit); the task *Set up PlexSync* or a new package does."""
    digest = activate.state(PLUGIN_DIR)[1]
    status = installer.read_status(PLUGIN_DIR)
    if not status or status.get("state") != "failed" or status.get("digest") != digest:
        return None
    return status if status.get("package") == installer.package_stamp(PLUGIN_DIR) else None


# -- tasks ---------------------------------------------------------------------------------------------------------


def _progress(step: str, fraction: float) -> None:
    from plexsync.plugin.protocol import log

    log("progress", f"{fraction:.3f}")
    if fraction < 1.0:
        log("info", f"PlexSync set-up: {step}")


def _follow(lock_path: str) -> int:
    """Wait for the set-up another process runs, showing its progress; then hold the lock."""
    report.log("info", "a set-up started by a hook is running; following it")
    last = None
    while True:
        fd = oslock.try_lock_path(lock_path)
        if fd is not None:
            return fd
        status = installer.read_status(PLUGIN_DIR) or {}
        if status.get("state") == "running" and status.get("step") != last:
            last = status.get("step")
            _progress(str(last), float(status.get("fraction") or 0.0))
        time.sleep(FOLLOW_INTERVAL)


def _settings_reader(server_connection: Any) -> Any:
    """How a task reads the plugin page's settings: over GraphQL with its own session."""
    if not isinstance(server_connection, dict):
        return None

    def read() -> dict[str, object]:
        from plexsync.stash.reader import StashReader
        from plexsync.tools.doctor import StashAccess

        access = StashAccess.from_server_connection(server_connection)
        return StashReader(access.connection, timeout=30).plugin_settings()

    return read


def foreground(server_connection: Any, force: bool = False) -> dict:
    """Set up now (or follow the set-up running), with Stash's progress bar; the outcome."""
    lock_path = layout.setup_lock_path(PLUGIN_DIR)
    fd = oslock.try_lock_path(lock_path)
    if fd is None:
        fd = _follow(lock_path)
        if not force and activate.state(PLUGIN_DIR)[0] == activate.READY:
            oslock.release(fd)
            outcome = installer.read_status(PLUGIN_DIR) or {"state": "done", "message": "set up", "level": "info"}
            _progress(str(outcome.get("message")), 1.0)
            return outcome
    try:
        return installer.run(PLUGIN_DIR, _progress, read_settings=_settings_reader(server_connection), force=force)
    finally:
        oslock.release(fd)


def finish_setup(payload: dict[str, Any], outcome: dict) -> str:
    """After a set-up in a task: report it, queue the kept edits, see that a worker runs."""
    activate.activate(PLUGIN_DIR)  # reports the outcome in Stash's log, once
    taken = background.take_over(PLUGIN_DIR, payload.get("server_connection"))
    kept = f"; {taken} edit(s) kept during the set-up queued" if taken else ""
    return f"{outcome['message']}{kept}"


def repair(payload: dict[str, Any]) -> str:
    """The task *Set up PlexSync* when the set-up is there: check and unpack it all again, install what is
    configured."""
    if activate.state(PLUGIN_DIR)[0] == activate.ABSENT:
        return (
            "nothing to set up: this folder ships no wheels (a source checkout); "
            f"its packages come from `python3 run.py setup` in {PLUGIN_DIR}"
        )
    outcome = foreground(payload.get("server_connection"), force=True)
    if outcome["state"] != "done":
        from plexsync.plugin.protocol import PluginInputError

        raise PluginInputError(outcome["message"])
    return finish_setup(payload, outcome)


__all__ = ["foreground", "main", "repair", "run"]
