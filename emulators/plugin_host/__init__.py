"""Stash's plugin runner, for one plugin folder, wired to the Stash emulator.

It does with a plugin folder what Stash does (``pkg/plugin``): loads the
manifest strictly, starts one process per task run, hook firing or UI
operation with the same command line, environment, working directory and
stdin document, reads its output and logs the same way, and, once
:meth:`PluginHost.attach` ed, runs hooks synchronously inside the Stash
emulator's mutations so that the edit's HTTP answer waits for them, as a
real Stash user's edit does; the emulator then also serves the plugin's UI
files and answers ``runPluginOperation`` with it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hook_input import hook_context
from .manifest import Hook, Manifest, ManifestError, Operation, load_manifest
from .process import DEFAULT_LEVEL, LEVELS, Invocation, LogLine, PluginProcess

if TYPE_CHECKING:
    from emulators.stash import StashEmulator
    from emulators.stash.server import MutationHook

__all__ = ["DEFAULT_LEVEL", "LEVELS", "Invocation", "LogLine", "Manifest", "ManifestError", "PluginHost", "RunningTask"]

#: What Stash recognises as "run this with the configured Python" (pkg/python).
PYTHON_COMMANDS = ("python", "python3")


class RunningTask:
    """A task started from Stash's Tasks page, which the user may stop."""

    def __init__(self, process: PluginProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def invocation(self) -> Invocation:
        """The record so far (complete once :attr:`done`)."""
        return self._process.invocation

    @property
    def done(self) -> bool:
        return self._process.done

    def kill(self) -> None:
        """Stash's stop button: SIGKILL, no chance to clean up."""
        self._process.kill()

    def wait(self, timeout: float | None = None) -> Invocation:
        """The finished invocation; ``TimeoutError`` if still running after ``timeout``."""
        return self._process.wait(timeout)


class PluginHost:
    """Runs one plugin folder's tasks and hooks against a :class:`StashEmulator`.

    ``env`` is added to this process's environment, as variables given to
    Stash's own process reach every plugin. ``stash_dir`` plays Stash's
    config directory and is the plugins' working directory (a temporary
    directory when not given). ``safety_timeout`` bounds every invocation:
    Stash has none, so an invocation that reaches it is recorded as
    ``timed_out`` (a plugin that would hang a real Stash).
    """

    def __init__(
        self,
        plugin_dir: Path | str,
        stash: StashEmulator,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        stash_dir: Path | str | None = None,
        safety_timeout: float = 120.0,
    ) -> None:
        self.plugin_dir = Path(plugin_dir).resolve()
        self.manifest: Manifest = load_manifest(self.plugin_dir)
        self.plugin_id = self.manifest.id
        self.stash = stash
        self.python = python
        self.env = dict(env or {})
        self.safety_timeout = safety_timeout
        if stash_dir is None:
            stash_dir = tempfile.mkdtemp(prefix="stash-config-")
            weakref.finalize(self, shutil.rmtree, stash_dir, True)
        self.stash_dir = Path(stash_dir).resolve()
        self.stash_dir.mkdir(parents=True, exist_ok=True)
        self.invocations: list[Invocation] = []
        #: (hook type, object id) of mutations whose hooks Stash's loop guard skipped.
        self.skipped_hooks: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._hook_sessions: set[str] = set()
        self._previous: MutationHook | None = None

    # -- what Stash sends ---------------------------------------------------
    def server_connection(self) -> dict[str, Any]:
        """``common.StashServerConnection`` as Go marshals it, with a fresh session cookie."""
        cookie = {
            "Name": "session",
            "Value": self.stash.new_session(),
            "Quoted": False,
            "Path": "",
            "Domain": "",
            "Expires": "0001-01-01T00:00:00Z",
            "RawExpires": "",
            "MaxAge": 0,
            "Secure": False,
            "HttpOnly": False,
            "SameSite": 0,
            "Partitioned": False,
            "Raw": "",
            "Unparsed": None,
        }
        return {
            "Scheme": "http",
            "Host": self.stash.host,
            "Port": self.stash.port,
            "SessionCookie": cookie,
            "Dir": str(self.stash_dir),
            "PluginDir": str(self.plugin_dir),
        }

    def command(self, operation: Operation) -> list[str]:
        """The argv Stash builds (``getExecCommand`` then the Python substitution)."""
        argv = [*self.manifest.exec, *operation.exec_args]
        if not argv:
            raise ManifestError(f"{self.plugin_id}: empty exec value")
        if self.manifest.interface != "raw":
            raise ManifestError(f"{self.plugin_id}: the emulator runs raw plugins only, not {self.manifest.interface}")
        args = [arg.replace("{pluginDir}", str(self.plugin_dir)) for arg in argv[1:]]
        if argv[0] in PYTHON_COMMANDS:
            return [self.python, *args]
        program = argv[0]
        if os.sep in program:
            found = (self.stash_dir / program).is_file()
        else:
            found = shutil.which(program, path=self.environment(python=False).get("PATH")) is not None
        if not found:
            program = str(self.plugin_dir / program)
        return [program, *args]

    def environment(self, python: bool) -> dict[str, str]:
        """Stash's environment plus ``env``; Python plugins get the plugins folder on PYTHONPATH.

        Stash appends (``AppendPythonPath``): an existing PYTHONPATH stays first.
        """
        env = {**os.environ, **self.env}
        if python:
            parent = str(self.plugin_dir.parent)
            existing = env.get("PYTHONPATH")
            env["PYTHONPATH"] = parent if existing is None else f"{existing}{os.pathsep}{parent}"
        return env

    # -- tasks --------------------------------------------------------------
    def start_task(self, task_name: str, args: dict[str, Any] | None = None) -> RunningTask:
        """Start a task as its button (or ``runPluginTask``) does; given args override defaults."""
        task = self.manifest.task(task_name)
        task_args: dict[str, Any] = dict(task.default_args)
        task_args.update(args or {})
        return RunningTask(self._start("task", task, task_args))

    def run_task(self, task_name: str, args: dict[str, Any] | None = None) -> Invocation:
        return self.start_task(task_name, args).wait()

    # -- operations (the UI's runPluginOperation) ---------------------------
    def run_operation(self, args: dict[str, Any] | None = None) -> Invocation:
        """``runPluginOperation(plugin_id, args)``: one run with ``args`` exactly as
        given (no task, no default args: ``RunPlugin`` in ``pkg/plugin/plugins.go``),
        waited for; Stash answers the mutation with its ``output``, or its ``error``
        as the GraphQL error."""
        return self._start("operation", Operation(name="runPluginOperation"), dict(args or {})).wait()

    # -- hooks --------------------------------------------------------------
    def fire_hook(
        self,
        hook_type: str,
        object_id: int,
        input: dict[str, Any] | None = None,
        input_fields: list[str] | None = None,
    ) -> list[Invocation]:
        """Run every hook triggered by ``hook_type``, one process after another."""
        hooks = self.manifest.hooks_for(hook_type)
        if not hooks:
            return []
        context = hook_context(self.stash.schema, hook_type, object_id, input, input_fields)
        finished = []
        for hook in hooks:
            args: dict[str, Any] = dict(hook.default_args)
            args["hookContext"] = context
            finished.append(self._start("hook", hook, args, hook_type).wait())
        return finished

    def attach(self) -> None:
        """Fire this plugin's hooks from the Stash emulator's mutations, synchronously.

        Hosts attached to the same emulator chain: as in Stash, every plugin's
        hooks run, one plugin after another, in the order they were attached.
        """
        self._previous = self.stash.on_mutation
        self.stash.on_mutation = self._on_mutation
        self.stash.plugins[self.plugin_id] = self  # its UI files and runPluginOperation, as a loaded plugin's

    def detach(self) -> None:
        if self.stash.on_mutation == self._on_mutation:
            self.stash.on_mutation = self._previous
        self._previous = None
        if self.stash.plugins.get(self.plugin_id) is self:
            del self.stash.plugins[self.plugin_id]

    def _on_mutation(
        self, hook_type: str, object_id: int, input: dict[str, Any] | None, input_fields: list[str] | None
    ) -> None:
        """Stash's loop guard: a mutation sent with the session cookie of one of
        this plugin's hook invocations does not fire this plugin's hooks again.
        Mutations authenticated otherwise (API key, a task's cookie) do."""
        if self._previous is not None:
            self._previous(hook_type, object_id, input, input_fields)
        session = self.stash.current_session()
        with self._lock:
            looping = session is not None and session in self._hook_sessions
            if looping and self.manifest.hooks_for(hook_type):
                self.skipped_hooks.append((hook_type, object_id))
        if not looping:
            self.fire_hook(hook_type, object_id, input, input_fields)

    # -- plumbing -----------------------------------------------------------
    def shown(self, level: str = DEFAULT_LEVEL) -> list[LogLine]:
        """Stash's log page at ``level`` over every invocation so far, oldest first
        (the page itself lists newest first)."""
        with self._lock:
            invocations = list(self.invocations)
        return [line for invocation in invocations for line in invocation.shown(level)]

    def _start(
        self, kind: str, operation: Operation | Hook, args: dict[str, Any], hook_type: str = ""
    ) -> PluginProcess:
        command = self.command(operation)
        is_python = [*self.manifest.exec, *operation.exec_args][0] in PYTHON_COMMANDS
        connection = self.server_connection()
        invocation = Invocation(
            kind=kind,
            name=operation.name,
            stdin={"server_connection": connection, "args": args},
            command=command,
            plugin=self.manifest.name,
            hook_type=hook_type,
        )
        with self._lock:
            self.invocations.append(invocation)
            if kind == "hook":
                self._hook_sessions.add(connection["SessionCookie"]["Value"])
        return PluginProcess(
            invocation,
            env=self.environment(python=is_python),
            cwd=str(self.stash_dir),
            err_log=self.manifest.err_log,
            safety_timeout=self.safety_timeout,
        )
