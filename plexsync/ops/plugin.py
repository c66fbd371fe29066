"""The Stash plugin protocol: one JSON document on stdin, one on stdout.

Stash starts the entry script for every hook firing and every task run
(../shared/stash-plugins.md). Whatever happens, the answer is a single JSON
object with ``output`` or a one-line ``error``, the exit status is 0, and no
traceback reaches Stash's log.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any


class PluginInputError(ValueError):
    pass


def read_input(stdin: IO[str]) -> dict[str, Any]:
    raw = stdin.read()
    if not raw.strip():
        raise PluginInputError("no input on stdin (expected Stash's plugin JSON)")
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise PluginInputError(f"input is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("args"), dict):
        raise PluginInputError("input has no 'args' object")
    return payload


def log(level: str, message: str, stderr: IO[str] = sys.stderr) -> None:
    """A log line in Stash's format: \\x01 + level letter + \\x02 + message."""
    stderr.write(f"\x01{level[0]}\x02{message}\n")
    stderr.flush()


def _one_line(text: str) -> str:
    from plexsync.redact import redact

    return " ".join(redact(text).split())[:500]


def run(payload: dict[str, Any]) -> str:
    args = payload["args"]
    if "hookContext" in args:
        from plexsync import hooks

        try:
            return hooks.handle(args["hookContext"])
        except hooks.HookInputError as exc:
            raise PluginInputError(str(exc)) from None
    from plexsync.ops import plugin_tasks

    return plugin_tasks.run(str(args.get("mode", "")), args, payload.get("server_connection"))


def main(stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> int:
    try:
        reply = {"output": run(read_input(stdin))}
    except PluginInputError as exc:
        reply = {"error": f"PlexSync: {_one_line(str(exc))}"}
    except Exception as exc:  # never a traceback in Stash's log; never a non-zero exit
        reply = {"error": f"PlexSync: {_one_line(f'{type(exc).__name__}: {exc}')}"}
    stdout.write(json.dumps(reply) + "\n")
    stdout.flush()
    return 0
