"""Hook wall time: the plugin's hook process as Stash starts it, next to its
two baselines, measured interleaved in one run so machine load hits all alike.

    .venv/bin/python benchmarks/hook.py [--runs 40]

* ``bare``: ``python -c pass``, the interpreter alone;
* ``huey-min``: a process that only imports huey (redis blocked, as the hook
  does) and enqueues one task into a SqliteHuey: the floor for any hook that
  enqueues through huey;
* ``hook``: ``python stash_plugin.py`` with a Scene.Update.Post hook context on
  stdin, enqueueing into the plugin's SQLite queue.

Each is run with the bytecode caches as this machine has them
(PYTHONDONTWRITEBYTECODE=1: the standard library and the virtualenv are
compiled, the plugin's own modules are compiled again in every process), and
with every cache warm (a private PYTHONPYCACHEPREFIX filled by a first run).
Bounded: 6 variants x ``--runs`` processes (about 20 s at 40).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import REPO, machine, median, percentile, table

HOOK_INPUT = json.dumps(
    {
        "server_connection": {"Scheme": "http", "Host": "127.0.0.1", "Port": 9, "Dir": "/tmp", "PluginDir": str(REPO)},
        "args": {"hookContext": {"type": "Scene.Update.Post", "id": 42, "input": {"id": "42"}, "inputFields": ["id"]}},
    }
)
HUEY_MIN = """
import sys
sys.modules["redis"] = None
from huey import SqliteHuey
huey = SqliteHuey("bench", filename={path!r}, results=False)
@huey.task()
def sync_scene(scene_id): pass
sync_scene("42")
"""


def variants(tmp: Path) -> dict[str, tuple[list[str], str | None]]:
    return {
        "bare": ([sys.executable, "-c", "pass"], None),
        "huey-min": ([sys.executable, "-c", HUEY_MIN.format(path=str(tmp / "min.db"))], None),
        "hook": ([sys.executable, str(REPO / "stash_plugin.py")], HOOK_INPUT),
    }


def cache_envs(tmp: Path) -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PLEXSYNC_", "PYTHONPYCACHEPREFIX"))}
    base["PLEXSYNC_DATA_DIR"] = str(tmp / "data")
    as_here = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    warm = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return {"caches as here": as_here, "caches warm": warm}


def run_once(argv: list[str], stdin: str | None, env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or (stdin is not None and '"output"' not in done.stdout):
        raise RuntimeError(f"{argv[-1][:40]} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="processes per variant (default 40)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="plexsync-bench-hook-"))
    progs, envs = variants(tmp), cache_envs(tmp)
    times: dict[tuple[str, str], list[float]] = {(c, v): [] for c in envs for v in progs}
    try:
        for env in envs.values():  # warm-up: fills the warm cache, creates the queue files
            for argv, stdin in progs.values():
                run_once(argv, stdin, env, tmp)
        for _ in range(args.runs):
            for cache, env in envs.items():
                for name, (argv, stdin) in progs.items():
                    times[(cache, name)].append(run_once(argv, stdin, env, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"hook wall time, {args.runs} runs each, interleaved; {machine()}")
    rows: list[list[object]] = [["caches", "process", "median ms", "p95 ms", "hook / this (median)"]]
    for cache in envs:
        hook = median(times[(cache, "hook")])
        for name in progs:
            values = times[(cache, name)]
            ratio = "" if name == "hook" else f"{hook / median(values):.2f}x"
            rows.append([cache, name, f"{median(values) * 1000:.1f}", f"{percentile(values, 0.95) * 1000:.1f}", ratio])
    print(table(rows))
    print("targets: hook median within 1.1x of huey-min; hook p95 under 100 ms with caches warm on an idle machine")


if __name__ == "__main__":
    main()
