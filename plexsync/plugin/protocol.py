"""The Stash plugin protocol: one JSON document on stdin, one on stdout.

Stash starts the entry script for every hook firing and every task run
(../shared/stash-plugins.md). Whatever happens, the answer is a single JSON
object with ``output`` or a one-line ``error``, the exit status is 0, and no
traceback reaches Stash's log. The error says what is wrong with the input,
in words, never the name of a Python exception.

After its work, a hook or task makes sure a worker will do the queued work
(:mod:`plexsync.worker.autostart`) and, when no worker runs in ``external`` mode
or syncs are failing, says so in one warning line on stderr, which Stash's
log shows at warning level.
"""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs every hook process milliseconds (issue #9)
if TYPE_CHECKING:
    from typing import IO, Any

#: Digits a JSON integer may have before it is not read as a number at all
#: (Python refuses to convert more than 4300; no id has more than 19).
MAX_INT_DIGITS = 40


class PluginInputError(ValueError):
    pass


class PluginFailure(PluginInputError):
    """Not the input's fault, yet said the same way: one line, already in the user's words."""


class OversizedNumber:
    """A JSON integer too long to be anything Stash sends; kept only to be refused by name."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __str__(self) -> str:
        return f"a {self.digits}-digit number"


def _parse_int(text: str) -> int | OversizedNumber:
    return int(text) if len(text) <= MAX_INT_DIGITS else OversizedNumber(text)


def _read_text(stdin: IO[str]) -> str:
    """stdin as text; a UTF-8 byte-order mark before the JSON is dropped."""
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:
        return stdin.read().removeprefix("\ufeff")
    data = buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PluginInputError(f"input is not UTF-8 text (invalid byte at offset {exc.start})") from None


def read_input(stdin: IO[str]) -> dict[str, Any]:
    raw = _read_text(stdin)
    if not raw.strip():
        raise PluginInputError("no input on stdin (expected Stash's plugin JSON)")
    try:
        payload = json.loads(raw, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise PluginInputError(f"input is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise PluginInputError("input is nested too deeply to be Stash's plugin JSON") from None
    except ValueError:
        raise PluginInputError("input is not JSON Stash sends (a value cannot be read)") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("args"), dict):
        raise PluginInputError("input has no 'args' object")
    return payload


def log(level: str, message: str, stderr: IO[str] | None = None) -> None:
    """A log line in Stash's format: \\x01 + level letter + \\x02 + message."""
    stream = sys.stderr if stderr is None else stderr
    stream.write(f"\x01{level[0]}\x02{message}\n")
    stream.flush()


def _one_line(text: str) -> str:
    from plexsync.redact import redact

    return " ".join(redact(text).split())[:500]


def _snapshot(fresh: bool) -> dict[str, Any] | None:
    """The health snapshot: computed from the state tables when ``fresh`` (a
    task loaded them; it publishes it too), else the worker's, read from the
    queue's storage with huey's consumer side unloaded (a hook, issue #9)."""
    from plexsync.worker import health

    if not fresh:
        from plexsync.queue import producer

        snapshot = producer.peek(health.KEY)
        return snapshot if isinstance(snapshot, dict) else None
    from plexsync.queue.instance import bootstrap
    from plexsync.state import db

    db.open_state(bootstrap)  # the task opened it already, unless it did not need it
    snapshot = health.collect()
    health.publish(snapshot)
    return snapshot


def _worker_warnings(payload: dict[str, Any], fresh: bool, queued: bool, health_too: bool = True) -> list[str]:
    """What Stash's log should say about the worker and failing syncs (empty when all is well)."""
    from plexsync import hookenv
    from plexsync.worker import autostart, health

    notes = []
    snapshot = _snapshot(fresh)
    try:
        mode = hookenv.worker_mode((snapshot or {}).get("settings"))
    except hookenv.ConfigError as exc:
        notes.append(str(exc))
        mode = hookenv.WORKER_MODES[0]
    work = queued or bool(snapshot and (snapshot.get("queued") or snapshot.get("waiting")))
    worker_note = autostart.ensure_worker(mode, payload.get("server_connection"), work)
    if worker_note and (health_too or mode == "auto"):  # a Status or Doctor report says "no worker" itself
        notes.append(worker_note)
    return notes + (health.problems(snapshot) if health_too else [])


def _report(payload: dict[str, Any], fresh: bool, queued: bool, health_too: bool = True) -> None:
    """Start a worker when work waits (auto mode), and say in one warning line what needs the user:
    no worker (external mode), Stash's missing API key, and, with ``health_too``, failing syncs."""
    try:
        notes = _worker_warnings(payload, fresh, queued, health_too)
    except Exception as exc:  # the job is queued already; only the report failed
        notes = [f"could not check the worker ({exc})"]
    if notes:
        log("warning", _one_line("PlexSync: " + "; ".join(notes)))


def _refuse_if_unwritable(exc: Exception, payload: dict[str, Any], doing: str) -> None:
    """When ``exc`` is the data folder refusing a write (a full or read-only
    disk), raise the one line that says so (:mod:`plexsync.unwritable`), after
    making sure a worker will sync the edits made meanwhile once it can write."""
    from plexsync import hookenv, unwritable
    from plexsync.worker import autostart

    problem = unwritable.diagnose(exc, hookenv.data_dir())
    if problem is None:
        return
    autostart.start_catching_up(payload.get("server_connection"))
    raise PluginFailure(problem.line(doing)) from None


def run(payload: dict[str, Any]) -> Any:
    args = payload["args"]
    if "hookContext" in args:
        from plexsync import hooks

        try:
            output = hooks.handle(args["hookContext"])
        except hooks.HookInputError as exc:
            raise PluginInputError(str(exc)) from None
        except Exception as exc:
            _refuse_if_unwritable(exc, payload, "cannot queue the edit")
            raise
        _report(payload, fresh=False, queued=True)
        return output
    if "mode" not in args:
        # Neither a hook nor a task: refused before the database layer is loaded.
        raise PluginInputError("input has neither args.hookContext (a hook) nor args.mode (a task)")
    mode = args["mode"]
    if not isinstance(mode, str):
        raise PluginInputError("args.mode is not a text (the task's mode in StashPlexSync.yml)")
    try:
        from plexsync.plugin import tasks as plugin_tasks  # builds the queue

        output = plugin_tasks.run(mode, args, payload.get("server_connection"))
    except Exception as exc:
        _refuse_if_unwritable(exc, payload, "cannot run the task")
        raise
    if mode in plugin_tasks.OPERATIONS:
        return output  # the scene page's answer says what the worker does and starts one itself: nothing more to do
    # Every task may start the worker (the way back after Stash's key was regenerated, for one); the health
    # warning only where the task's own report did not say it already.
    _report(payload, fresh=True, queued=False, health_too=mode not in plugin_tasks.REPORTS_ITS_OWN_PROBLEMS)
    return output


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None, runner: Any = None) -> int:
    """One invocation, answered whatever happens; ``runner`` replaces :func:`run` (the set-up's
    :func:`plexsync.environment.entry.run`, while the packages are not there yet)."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    try:
        reply = {"output": (runner or run)(read_input(stdin))}
    except PluginInputError as exc:
        reply = {"error": f"PlexSync: {_one_line(str(exc))}"}
    except RecursionError:
        reply = {"error": "PlexSync: input is nested too deeply to be Stash's plugin JSON"}
    except ImportError as exc:  # Stash's own Python without the plugin's packages
        folder = __file__.rsplit("plexsync", 1)[0].rstrip("/\\")
        missing = getattr(exc, "name", None) or "a package"
        reply = {"error": f"PlexSync: not set up ({missing} is not installed): run `python3 run.py setup` in {folder}"}
    except Exception as exc:  # never a traceback in Stash's log; never a non-zero exit
        reply = {"error": f"PlexSync: {_one_line(str(exc) or 'unexpected failure')}"}
    stdout.write(json.dumps(reply) + "\n")
    stdout.flush()
    return 0
