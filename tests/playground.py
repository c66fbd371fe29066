"""``python -m emulators`` run as a user runs it: a subprocess whose printed lines are parsed.

The tests read it only through what it prints (the ``export`` lines, the
example scenes, one line per hook run and per write into Plex), as a user
following the README's walkthrough does.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import REPO

EXAMPLE = re.compile(r'^# scene (\d+) is Plex item (\d+): "(.*)"$')


def clean_environment() -> dict[str, str]:
    """This machine's environment without any PLEXSYNC_ variable (a fresh shell)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PLEXSYNC_")}


@dataclass
class Playground:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Playground:
        process = subprocess.Popen(
            [sys.executable, "-m", "emulators", "--stash-port", "0", "--plex-port", "0", *args],
            cwd=REPO,
            env=env if env is not None else clean_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        playground = cls(process)
        threading.Thread(target=playground._read, daemon=True).start()
        playground.wait_for(lambda line: line.startswith("# Ctrl-C stops"), timeout)
        for line in playground.lines:
            if line.startswith("export "):
                (assignment,) = shlex.split(line[len("export ") :])
                name, _, value = assignment.partition("=")
                playground.exports[name] = value
        return playground

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate, timeout: float = 30) -> str:
        """The first line printed (before or after this call) that satisfies ``predicate``."""
        for line in self.lines:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("python -m emulators exited:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError("python -m emulators did not print the expected line:\n" + "\n".join(self.lines))

    def examples(self) -> list[tuple[str, int, str]]:
        """(scene id, Plex item, title) of the example scenes it printed."""
        found = [EXAMPLE.match(line) for line in self.lines]
        return [(m.group(1), int(m.group(2)), m.group(3)) for m in found if m]

    def environment(self, names: Sequence[str] | None = None) -> dict[str, str]:
        """A fresh shell's environment after exporting the printed variables (or only ``names``)."""
        chosen = self.exports if names is None else {name: self.exports[name] for name in names}
        return {**clean_environment(), **chosen}

    def run(self, module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """``python -m <module> args...`` in a shell with ``env``, as the walkthrough types it."""
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C; its exit status, once every line it printed is in :attr:`lines`."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        """Stop it if it still runs: Ctrl-C (so it cleans up), SIGKILL if that does not do."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def data_dir_of(playground: Playground) -> Path:
    return Path(playground.exports["PLEXSYNC_DATA_DIR"])
