"""One plugin process, started, fed and waited for the way Stash's ``raw`` interface does.

Read from ``pkg/plugin/raw.go`` and ``pkg/logger/plugin.go``: the input is
written to stdin from a separate goroutine and stdin is closed; stdout is
read to EOF *before* the process is waited for, so a grandchild that
inherited stdout keeps the invocation (and, for a hook, the mutation that
fired it) hanging; stderr is decoded line by line concurrently. Stopping a
task is ``cmd.Process.Kill()``: SIGKILL to the direct child only.

What Stash's log then shows of the invocation (:attr:`Invocation.stash_log`)
is read from ``internal/manager/task_plugin.go`` (a task) and
``pkg/plugin/plugins.go`` ``executePostHooks`` (a hook), stashapp/stash
cf3489e: the stderr lines at their levels, then the answer: its ``output``
at **Debug** ("Plugin returned: ..." for a task, "<hook type> [<plugin>]:
returned: ..." for a hook), its ``error`` at **Error**. Stash's log level
and its log page both default to **Info** (``SettingsLogsPanel.tsx``:
``useState("Info")``), so :meth:`Invocation.shown` is what a user sees.

The emulator adds one thing Stash does not have: a safety deadline, so a
plugin that would hang Stash forever fails a test instead (recorded as
``timed_out``), and the process group is then killed to clean up.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Stash truncates a stderr line to this many bytes (``maxLogLineLength``).
MAX_LOG_LINE = 64 * 1024
_LEVEL_LETTERS = {"t": "trace", "d": "debug", "i": "info", "w": "warning", "e": "error", "p": "progress"}
#: Stash's log levels, lowest first (``pkg/logger``; the log page filters on this order).
LEVELS = ("trace", "debug", "info", "warning", "error")
#: What Stash's log page shows unless the user picks another level.
DEFAULT_LEVEL = "info"
# Go's ExitError text for the signals a plugin process is likely to die of.
_SIGNAL_TEXT = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGINT: "interrupt",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGHUP: "hangup",
    signal.SIGPIPE: "broken pipe",
}
_POLL = 0.05


@dataclass(frozen=True)
class LogLine:
    level: str  # trace | debug | info | warning | error
    message: str


@dataclass
class Invocation:
    """What Stash saw of one plugin process: its input, output, logs and fate."""

    kind: str  # "hook" | "task" | "operation" (runPluginOperation, from the UI)
    name: str
    stdin: dict[str, Any]
    command: list[str]
    #: The plugin's name (the manifest's ``name``) and, for a hook, its trigger:
    #: both appear in the line Stash logs for a hook's answer.
    plugin: str = ""
    hook_type: str = ""
    returncode: int | None = None
    stdout: str = ""
    output: Any = None
    error: str | None = None
    raw_output: str | None = None
    logs: list[LogLine] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    wall_time: float = 0.0
    killed: bool = False
    timed_out: bool = False

    def messages(self, level: str | None = None) -> list[str]:
        """The plugin's stderr log messages, optionally of one level (handy in assertions)."""
        return [line.message for line in self.logs if level is None or line.level == level]

    @property
    def answer_log(self) -> LogLine | None:
        """The line Stash logs for the answer once the process is done (None before)."""
        if self.returncode is None and not self.timed_out:
            return None
        hook = f"{self.hook_type} [{self.plugin}]: " if self.kind == "hook" else ""
        if self.error is not None:
            return LogLine(
                "error", f"{hook}returned error: {self.error}" if hook else f"Plugin returned error: {self.error}"
            )
        output = self.output if self.output is not None else self.raw_output
        if output is None:
            return LogLine("debug", f"{hook}returned no result" if hook else "Plugin returned no result")
        shown = output if isinstance(output, str) else json.dumps(output)
        return LogLine("debug", f"{hook}returned: {shown}" if hook else f"Plugin returned: {shown}")

    @property
    def stash_log(self) -> list[LogLine]:
        """Everything Stash's log holds of this invocation: stderr lines, then the answer."""
        answer = self.answer_log
        return [*self.logs, *([answer] if answer else [])]

    def shown(self, level: str = DEFAULT_LEVEL) -> list[LogLine]:
        """The lines of :attr:`stash_log` that Stash's log page shows at ``level`` (Info: what a user sees)."""
        floor = LEVELS.index(level)
        return [line for line in self.stash_log if LEVELS.index(line.level) >= floor]

    def shown_text(self, level: str = DEFAULT_LEVEL) -> str:
        """:meth:`shown` as the page's text, one message a line (handy in assertions)."""
        return "\n".join(line.message for line in self.shown(level))


def decode_stdout(text: str) -> tuple[Any, str | None, str | None]:
    """(output, error, raw_output) as ``rawPluginTask.getOutput`` decodes stdout.

    Go unmarshals into ``{Error *string; Output interface{}}``: any JSON object
    decodes (keys match case-insensitively, unknown keys are ignored), ``null``
    decodes to nothing, anything else (including empty stdout) is raw output.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return None, None, text
    if document is None:
        return None, None, None
    if not isinstance(document, dict):
        return None, None, text
    values = {"output": None, "error": None}
    for key in values:
        if key in document:
            values[key] = document[key]
        else:
            for other, value in document.items():
                if other.lower() == key:
                    values[key] = value
    if values["error"] is not None and not isinstance(values["error"], str):
        return None, None, text
    return values["output"], values["error"], None


def exit_error(returncode: int) -> str:
    """The text of Go's ``*exec.ExitError``, which Stash uses as the error."""
    if returncode >= 0:
        return f"exit status {returncode}"
    with contextlib.suppress(ValueError):
        return f"signal: {_SIGNAL_TEXT.get(signal.Signals(-returncode), signal.Signals(-returncode).name)}"
    return f"signal: {-returncode}"


class StderrDecoder:
    """Stash's ``PluginLogger``: prefixed lines at their level, the rest at errLog's."""

    def __init__(self, err_log: str, invocation: Invocation) -> None:
        self._default = err_log
        self._invocation = invocation
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._line(line)

    def close(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = b""

    def _line(self, raw: bytes) -> None:
        raw = raw.removesuffix(b"\r")
        if len(raw) > MAX_LOG_LINE:
            raw = raw[:MAX_LOG_LINE] + b" [truncated]"
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace")
        level = None
        if len(raw) >= 4 and raw[0] == 1 and raw[2] == 2:
            level = _LEVEL_LETTERS.get(chr(raw[1]))
        if level is None:
            level, message = self._default, line
        else:
            message = line[3:].strip()
        if level == "none":
            return
        if level == "progress":
            try:
                self._invocation.progress.append(float(message))
            except ValueError:
                self._invocation.logs.append(LogLine("error", f"Error parsing progress value '{message}'"))
            return
        self._invocation.logs.append(LogLine(level, message))


class PluginProcess:
    """A started plugin process; finishes by itself, or by :meth:`kill`, or at the deadline."""

    def __init__(
        self,
        invocation: Invocation,
        *,
        env: dict[str, str],
        cwd: str,
        err_log: str,
        safety_timeout: float,
        on_finish: Callable[[Invocation], None] | None = None,
    ) -> None:
        self.invocation = invocation
        self._on_finish = on_finish
        self._deadline = time.monotonic() + safety_timeout
        self._stderr = StderrDecoder(err_log, invocation)
        self._stderr_stop = threading.Event()
        self._done = threading.Event()
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            invocation.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            # Its own process group only so the safety deadline can clean up
            # grandchildren; Stash itself kills the direct child only.
            start_new_session=True,
        )
        payload = json.dumps(invocation.stdin, ensure_ascii=False, separators=(",", ":")).encode()
        threading.Thread(target=self._write_stdin, args=(payload,), daemon=True).start()
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()
        threading.Thread(target=self._run, daemon=True, name=f"plugin:{invocation.name}").start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def kill(self) -> None:
        """Stash's stop button: SIGKILL to the plugin process, nothing graceful."""
        if self._proc.poll() is None:
            self.invocation.killed = True
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    def wait(self, timeout: float | None = None) -> Invocation:
        if not self._done.wait(timeout):
            raise TimeoutError(f"plugin {self.invocation.name!r} still running after {timeout} s")
        return self.invocation

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # -- the three concurrent readers/writers -------------------------------
    def _write_stdin(self, payload: bytes) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.write(payload)
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.close()

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        fd = self._proc.stderr.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                if not selector.select(_POLL):
                    # Go's cmd.Wait closes stderr once the child exits: a
                    # grandchild holding stderr no longer gets read.
                    if self._stderr_stop.is_set():
                        break
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                self._stderr.feed(data)
        self._stderr.close()

    def _read_stdout(self) -> tuple[bytes, bool]:
        """What the child wrote, and whether EOF came before the safety deadline."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        chunks: list[bytes] = []
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while time.monotonic() <= self._deadline:
                if not selector.select(_POLL):
                    continue
                data = os.read(fd, 65536)
                if not data:
                    return b"".join(chunks), True
                chunks.append(data)
        return b"".join(chunks), False

    def _run(self) -> None:
        inv = self.invocation
        try:
            stdout, eof = self._read_stdout()
            # Decoded even when the deadline came first, so a test can see
            # what a hanging plugin had said (Stash itself would still wait).
            inv.stdout = stdout.decode("utf-8", errors="replace")
            inv.output, inv.error, inv.raw_output = decode_stdout(inv.stdout)
            if eof:
                remaining = max(self._deadline - time.monotonic(), 0.0)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(remaining)
            if not eof or self._proc.poll() is None:
                inv.timed_out = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
            inv.returncode = self._proc.returncode
            if inv.returncode != 0 and inv.error is None:
                inv.error = exit_error(inv.returncode)
            self._stderr_stop.set()
            self._stderr_thread.join(1.0)
        finally:
            inv.wall_time = time.monotonic() - self._started
            pipes = [self._proc.stdout] if self._stderr_thread.is_alive() else [self._proc.stdout, self._proc.stderr]
            for pipe in pipes:
                with contextlib.suppress(OSError):
                    pipe.close()  # type: ignore[union-attr]
            if self._on_finish is not None:
                self._on_finish(inv)
            self._done.set()
