#!/usr/bin/env python3
"""Set up PlexSync's virtual environment and run one of its jobs.

    python3 run.py demo      # the demo against the emulators
    python3 run.py test      # lint and the whole test suite
    python3 run.py setup     # only the virtual environment (for Stash)
    python3 run.py worker    # the queue consumer, for real servers
    python3 run.py package DIR   # the plugin source (index.yml + zip) for Stash

Needs only Python 3.11+. The environment lives in ``.venv`` next to this file
and is reinstalled only when a requirements file changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".requirements.sha256"
#: The consumer's options (the same as a worker the plugin starts: plexsync.worker.autostart).
#: -m 1: an idle worker still picks up a new edit within a second.
CONSUMER_OPTIONS = ("-w", "4", "-k", "thread", "-m", "1")


def _requirements_digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _stamp(dev: bool) -> str:
    files = [ROOT / "requirements.txt", *([ROOT / "requirements-dev.txt"] if dev else [])]
    return ("dev:" if dev else "run:") + _requirements_digest(files)


def ensure_venv(dev: bool) -> None:
    """Create .venv and install the pinned requirements when they changed.

    A test environment (``dev``) holds everything the demo needs too.
    """
    installed = STAMP.read_text().strip() if PYTHON.exists() and STAMP.exists() else ""
    # A test environment also serves the demo and the worker. Only it reads requirements-dev.txt,
    # which the plugin package does not ship (run.py setup works there too).
    current = {_stamp(False)} | ({_stamp(True)} if dev or (ROOT / "requirements-dev.txt").exists() else set())
    if installed in current and (installed.startswith("dev:") or not dev):
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    requirements = ROOT / ("requirements-dev.txt" if dev else "requirements.txt")
    print(f"installing {requirements.name} into {VENV}", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(requirements)],
        check=True,
    )
    STAMP.write_text(_stamp(dev) + "\n")


def run_forwarding_signals(command: list[str], cwd: Path) -> int:
    """Run ``command`` until it exits, passing SIGINT, SIGTERM and SIGHUP on to it.

    The child gets a process group of its own, so a Ctrl-C in the terminal
    reaches only this process, which passes it on exactly once: huey_consumer
    takes one SIGINT as "finish the jobs in flight, then stop" and a second
    one as "stop now". Nothing here raises KeyboardInterrupt, so no traceback.
    """
    child = subprocess.Popen(command, cwd=cwd, **({} if os.name == "nt" else {"process_group": 0}))

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    code = child.wait()  # retried after each handled signal (PEP 475)
    return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells older Pythons
        print("PlexSync needs Python 3.11 or newer", file=sys.stderr)
        return 2
    job = argv[0] if argv else "demo"
    rest = argv[1:]
    if job == "setup":
        ensure_venv(dev=False)
        # bytecode for the hook's modules: Stash's PYTHONDONTWRITEBYTECODE would make every hook compile them
        subprocess.run([str(PYTHON), "-m", "plexsync.plugin.bytecode"], cwd=ROOT, check=False)
        print(f"ready: {PYTHON}")
        return 0
    if job == "demo":
        ensure_venv(dev=False)
        return subprocess.call([str(PYTHON), str(ROOT / "demo.py"), *rest], cwd=ROOT)
    if job == "worker":
        ensure_venv(dev=False)
        consumer = [str(BIN / "huey_consumer"), "huey_config.huey", *CONSUMER_OPTIONS]
        return run_forwarding_signals([*consumer, *rest], cwd=ROOT)
    if job == "package":
        if not rest:
            print("usage: python3 run.py package DIR", file=sys.stderr)
            return 2
        if not (ROOT / "plugin_source").is_dir():
            print("package: this folder is an installed package; build from PlexSync's source tree", file=sys.stderr)
            return 2
        ensure_venv(dev=False)
        return subprocess.call([str(PYTHON), "-m", "plugin_source", *rest], cwd=ROOT)
    if job == "test":
        ensure_venv(dev=True)
        lint = subprocess.call([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT)
        if lint:
            return lint
        return subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
