"""Hook wall time: the plugin's hook process as Stash starts it, next to its
baselines, measured interleaved in one run so machine load hits all alike.

    .venv/bin/python benchmarks/hook.py [--runs 40]

Processes (each a fresh interpreter, as Stash starts them):

* ``bare``: ``python -c pass``, the interpreter alone;
* ``huey-min``: a process that only imports huey (redis blocked) and enqueues
  one task into a SqliteHuey: issue #9's floor for a hook that enqueues
  through huey;
* ``huey-min, redis-py``: the same without blocking redis: what importing
  huey costs where redis-py is installed (huey.storage imports it at load);
* ``hook``: ``python stash_plugin.py`` with a Scene.Update.Post hook context
  on stdin, enqueueing into the plugin's SQLite queue, with redis-py
  installed as in this virtualenv (the hook does not load it);
* ``hook, no redis-py``: the same with redis-py made unimportable by a
  ``sitecustomize`` on PYTHONPATH (as if it were not installed); when the
  virtualenv has no redis-py both hook rows measure the same thing.

Bytecode, with ``PYTHONDONTWRITEBYTECODE=1`` throughout (this machine sets
it; the standard library and the virtualenv have their bytecode from the
install):

* ``cold``: a copy of the plugin without ``__pycache__``: every hook compiles
  every plugin module it imports (a plugin folder before setup);
* ``warm``: a copy compiled as ``python3 run.py setup`` and every worker start
  compile it (:mod:`plexsync.plugin.bytecode`): hooks read the bytecode.

With ``--package``, one more group: the plugin as Stash's package manager
installs it (the zip ``python3 run.py package`` builds, unpacked) and as it
sets itself up (``.deps/<digest>/``, compiled by the set-up), run by a Python
with the standard library only (a venv made without pip), as Stash's own:
what :mod:`plexsync.environment.activate` adds to a hook is this row against
``warm``'s ``hook``; ``bare`` is that Python's ``-c pass``.

A worker is "running" throughout: the benchmark holds a presence lock as a
consumer does (``data/workers/*.lock``, :mod:`plexsync.worker.oslock`, so
hooks start none) and keeps each queue database open, as a consumer does
(so no process is the last to close it and checkpoints it on exit).
Bounded: 10 variants x ``--runs`` processes (about a minute at 40).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import REPO, machine, median, percentile, table

sys.path.insert(0, str(REPO))
from plexsync.worker import oslock

HOOK_INPUT = json.dumps(
    {
        "server_connection": {"Scheme": "http", "Host": "127.0.0.1", "Port": 9, "Dir": "/tmp", "PluginDir": str(REPO)},
        "args": {"hookContext": {"type": "Scene.Update.Post", "id": 42, "input": {"id": "42"}, "inputFields": ["id"]}},
    }
)
HUEY_MIN = """
import sys
{block}
from huey import SqliteHuey
huey = SqliteHuey("bench", filename={path!r}, results=False)
@huey.task()
def sync_scene(scene_id): pass
sync_scene("42")
"""
BLOCK_REDIS = 'sys.modules["redis"] = None'
#: What the plugin's entry script needs of the repository.
PLUGIN_FILES = ("stash_plugin.py", "huey_config.py", "plexsync")


def plugin_copy(where: Path, compiled: bool) -> Path:
    where.mkdir(parents=True)
    for name in PLUGIN_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, where / name)
    if compiled:  # what run.py setup and the worker do
        code = "import sys; from plexsync.plugin.bytecode import compile_plugin as c; sys.exit(not c(sys.argv[1]))"
        subprocess.run([sys.executable, "-c", code, str(where)], cwd=where, check=True)
    return where


def no_redis_path(tmp: Path) -> Path:
    """A PYTHONPATH entry whose sitecustomize makes redis unimportable, as if not installed."""
    folder = tmp / "no-redis"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(f"import sys\n{BLOCK_REDIS}\n")
    return folder


def variants(tmp: Path, plugin: Path, queue_db: Path) -> dict[str, tuple[list[str], str | None, dict[str, str]]]:
    hook = [sys.executable, str(plugin / "stash_plugin.py")]
    return {
        "bare": ([sys.executable, "-c", "pass"], None, {}),
        "huey-min": ([sys.executable, "-c", HUEY_MIN.format(block=BLOCK_REDIS, path=str(queue_db))], None, {}),
        "huey-min, redis-py": ([sys.executable, "-c", HUEY_MIN.format(block="", path=str(queue_db))], None, {}),
        "hook": (hook, HOOK_INPUT, {}),
        "hook, no redis-py": (hook, HOOK_INPUT, {"PYTHONPATH": str(tmp / "no-redis")}),
    }


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLEXSYNC_", "PYTHONPYCACHEPREFIX", "PYTHONPATH"))}
    env["PLEXSYNC_DATA_DIR"] = str(tmp / "data")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_once(argv: list[str], stdin: str | None, env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or (stdin is not None and '"output"' not in done.stdout) or done.stderr:
        raise RuntimeError(f"{argv[-1][:40]} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return elapsed


def redis_installed() -> bool:
    return subprocess.run([sys.executable, "-c", "import redis"], capture_output=True).returncode == 0


def packaged_plugin(tmp: Path) -> tuple[Path, str]:
    """The package built from this tree, unpacked and set up as in Stash; the plugin folder and a bare Python."""
    import venv
    import zipfile

    source = tmp / "source"
    subprocess.run([sys.executable, "-m", "plugin_source", str(source)], cwd=REPO, check=True, capture_output=True)
    plugin = tmp / "packaged"
    with zipfile.ZipFile(source / "StashPlexSync.zip") as archive:
        archive.extractall(plugin)
    venv.EnvBuilder(with_pip=False).create(tmp / "bare-python")
    python = str(tmp / "bare-python" / "bin" / "python")
    code = "from plexsync.environment import installer; installer.run('.', lambda step, fraction: None)"
    subprocess.run([python, "-c", code], cwd=plugin, check=True, capture_output=True)
    (plugin / ".deps" / "status.json").unlink()  # its outcome reported, as by the first hook after it
    return plugin, python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="processes per variant (default 40)")
    parser.add_argument("--package", action="store_true", help="also the hook of the package, set up by itself")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="plexsync-bench-hook-"))
    try:
        no_redis_path(tmp)
        data = tmp / "data"
        data.mkdir()
        (data / "workers").mkdir()
        lock = oslock.try_lock_path(str(data / "workers" / "benchmark.lock"))  # as a running consumer holds it
        assert lock is not None
        env = base_env(tmp)
        plugins = {"cold": plugin_copy(tmp / "cold", False), "warm": plugin_copy(tmp / "warm", True)}
        progs = {cache: variants(tmp, plugin, tmp / f"min-{cache}.db") for cache, plugin in plugins.items()}
        if args.package:
            packaged, bare_python = packaged_plugin(tmp)
            progs["package"] = {
                "bare": ([bare_python, "-c", "pass"], None, {}),
                "hook": ([bare_python, str(packaged / "stash_plugin.py")], HOOK_INPUT, {}),
            }
        for programs in progs.values():  # warm-up: creates the queue files
            for argv, stdin, extra in programs.values():
                run_once(argv, stdin, {**env, **extra}, tmp)
        held = [sqlite3.connect(data / "queue.db"), *(sqlite3.connect(tmp / f"min-{c}.db") for c in plugins)]
        times: dict[tuple[str, str], list[float]] = {(c, v): [] for c in progs for v in progs[c]}
        for _ in range(args.runs):
            for cache, programs in progs.items():
                for name, (argv, stdin, extra) in programs.items():
                    times[(cache, name)].append(run_once(argv, stdin, {**env, **extra}, tmp))
        for conn in held:
            conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    redis_note = "redis-py installed" if redis_installed() else "redis-py NOT installed: its rows equal the others"
    print(f"hook wall time, {args.runs} runs each, interleaved; {machine()}; {redis_note}")
    rows: list[list[object]] = [["bytecode", "process", "median ms", "p95 ms", "hook / this (median)"]]
    for cache in progs:
        hook = median(times[(cache, "hook")])
        for name in progs[cache]:
            values = times[(cache, name)]
            ratio = "" if name == "hook" else f"{hook / median(values):.2f}x"
            rows.append([cache, name, f"{median(values) * 1000:.1f}", f"{percentile(values, 0.95) * 1000:.1f}", ratio])
    print(table(rows))
    if "package" in progs:
        ratio = median(times[("package", "hook")]) / median(times[("warm", "hook")])
        print(f"package hook (Stash's bare Python, packages from .deps) / warm hook (.venv), medians: {ratio:.2f}x")
    print("targets: hook median within 1.1x of huey-min; hook p95 under 100 ms with warm bytecode on an idle machine")


if __name__ == "__main__":
    main()
