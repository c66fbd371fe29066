"""The hook process as Stash runs it: bad input never drops a job, never
shows a traceback, never exits non-zero, and good input only enqueues."""

from __future__ import annotations

import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from emulators.plugin_host import Invocation, PluginHost
from emulators.plugin_host.process import decode_stdout
from tests.integration.conftest import World
from tests.support import REPO

HEAVY_MODULES = ("plexapi", "stashapi", "requests", "peewee", "urllib3", "redis")
#: What the hook's fast path cut (issue #9): huey's consumer side (huey/__init__ -> huey.api -> huey.consumer,
#: multiprocessing, inspect, logging, uuid), the settings table and what it loads (pathlib, urllib, dataclasses),
#: the task module (all of huey), socket, subprocess (only the hook that starts a worker loads it) and typing.
CUT_MODULES = (
    "huey.api",
    "huey.consumer",
    "multiprocessing",
    "inspect",
    "logging",
    "uuid",
    "plexsync.config",
    "plexsync.tasks",
    "plexsync.queue.instance",
    "pathlib",
    "urllib",
    "dataclasses",
    "socket",
    "subprocess",
    "typing",
)
#: What an error message must never show: Python's exception names, a traceback.
INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b")


def run_entry_script(world: World, stdin: str | bytes) -> subprocess.CompletedProcess:
    """Start the plugin's entry script the way Stash's exec line does."""
    return subprocess.run(
        [sys.executable, str(REPO / "stash_plugin.py")],
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        cwd=world.tmp,
        env={**world.env, **world.hook_env()},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("stdin", "reason"),
    [
        ("", "no input on stdin"),
        ("{not json", "input is not JSON"),
        ('"just a string"', "no 'args' object"),
        ('{"server_connection": {}}', "no 'args' object"),
        ('{"args": {}}', "neither args.hookContext (a hook) nor args.mode (a task)"),
        ('{"args": {"mode": "no_such_task"}}', "unknown task mode"),
        ('{"args": {"hookContext": null}}', "hookContext is not an object"),
        ('{"args": {"hookContext": {"id": 5, "type": "Performer.Create.Post"}}}', "is not handled"),
        ('{"args": {"hookContext": {"id": "x", "type": "Performer.Update.Post"}}}', "is not a performer id"),
        ('{"args": {"hookContext": {"id": 0, "type": "Studio.Destroy.Post"}}}', "is not a studio id"),
        ('{"args": {"hookContext": {"id": 5, "type": "Tag.Merge.Post"}}}', "is not a list of the merged tag ids"),
        (
            '{"args": {"hookContext": {"id": 5, "type": "Tag.Merge.Post", "input": {"source": ["4", -1]}}}}',
            "-1 is not a tag id",
        ),
        ('{"args": {"hookContext": {"id": "DROP TABLE", "type": "Scene.Update.Post"}}}', "is not a scene id"),
        ('{"args": {"hookContext": {"id": "\\ud83c\\udfac", "type": "Scene.Update.Post"}}}', "is not a scene id"),
        ('{"args": {"hookContext": {"id": 9223372036854775808, "type": "Scene.Update.Post"}}}', "is not a scene id"),
        ('{"args": {"hookContext": {"id": 1' + "0" * 30 + ', "type": "Scene.Update.Post"}}}', "is not a scene id"),
        ('{"args": {"hookContext": {"id": ' + "7" * 4400 + ', "type": "Scene.Update.Post"}}}', "a 4400-digit number"),
        ("[" * 50_000, "nested too deeply"),
    ],
)
def test_bad_input_gets_a_one_line_error_exit_zero_and_enqueues_nothing(world: World, stdin: str, reason: str):
    result = run_entry_script(world, stdin)
    assert result.returncode == 0
    assert result.stderr == b""  # no traceback reaches Stash's log
    reply = json.loads(result.stdout)
    assert set(reply) == {"error"}
    assert reason in reply["error"] and "\n" not in reply["error"]
    assert not INTERNALS.search(reply["error"]), reply["error"]
    assert world.queued() == 0


def test_a_byte_order_mark_before_valid_json_is_accepted(world: World):
    payload = json.dumps({"args": {"hookContext": {"id": 12, "type": "Scene.Update.Post"}}}).encode()
    result = run_entry_script(world, b"\xef\xbb\xbf" + payload)
    assert json.loads(result.stdout) == {"output": "queued Plex sync of scene 12"}
    assert world.queued() == 1


def test_scene_hooks_enqueue_one_job_each_and_the_manifest_subscribes_to_them(world: World):
    assert world.host.fire_hook("Scene.Create.Post", 7, {"title": "new"}, ["title"])[0].output == (
        "queued Plex sync of scene 7"
    )
    [update] = world.host.fire_hook("Scene.Update.Post", 8, {"id": "8", "title": "x"}, ["id", "title"])
    assert update.error is None and update.returncode == 0
    assert update.stdin["args"]["hookContext"]["input"]["details"] is None  # fields not set are null
    assert world.queued() == 2
    # Stash only starts the plugin for the triggers its manifest lists.
    assert world.host.fire_hook("Performer.Create.Post", 3, {"name": "new"}, ["name"]) == []
    assert world.queued() == 2


# -- what a hook process imports ------------------------------------------------------------------------------


def _modules_at_exit(world: World, tmp_path: Path, stdin_args: dict[str, Any], **env: str) -> tuple[Invocation, set]:
    """Run the entry script through the plugin host with a ``sitecustomize`` that
    writes ``sys.modules`` (those really loaded) to a file when the process exits."""
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    out = tmp_path / "modules.json"
    (probe / "sitecustomize.py").write_text(
        "import atexit, json, sys\n"
        "def _dump():\n"
        f"    with open({str(out)!r}, 'w') as f:\n"
        "        json.dump(sorted(k for k, v in sys.modules.items() if v is not None), f)\n"
        "atexit.register(_dump)\n"
    )
    host = PluginHost(REPO, world.stash, env={**world.hook_env(), "PYTHONPATH": str(probe), **env})
    invocation = host._start("hook", host.manifest.hooks[0], stdin_args).wait()
    return invocation, set(json.loads(out.read_text()))


def test_the_hook_process_imports_nothing_heavy(world: World, tmp_path: Path):
    """Issue #9's guard: a hook (SQLite queue) loads none of the worker's libraries, nor redis."""
    context = {"id": 9, "type": "Scene.Update.Post", "input": None}
    invocation, modules = _modules_at_exit(world, tmp_path, {"hookContext": context})
    assert invocation.output == "queued Plex sync of scene 9", invocation
    loaded = {name.partition(".")[0] for name in modules}
    assert loaded.isdisjoint(HEAVY_MODULES), sorted(loaded & set(HEAVY_MODULES))
    cut = {name for name in CUT_MODULES if name in modules or any(m.startswith(name + ".") for m in modules)}
    assert not cut, sorted(cut)
    assert {"huey.storage", "plexsync.queue.producer"} <= modules  # the probe sees the hook's real imports
    assert world.queued() == 1


def test_input_that_is_neither_hook_nor_task_does_not_load_the_database_layer(world: World, tmp_path: Path):
    invocation, modules = _modules_at_exit(world, tmp_path, {"foo": "bar"})
    assert "neither args.hookContext" in (invocation.error or "")
    assert not {name.partition(".")[0] for name in modules} & {"peewee", "huey"}


def test_a_setup_error_is_reported_in_one_line(world: World):
    env = {**world.env, "PLEXSYNC_REDIS_URL": "not-a-url"}
    result = subprocess.run(
        [sys.executable, str(REPO / "stash_plugin.py")],
        input=json.dumps({"args": {"hookContext": {"id": 1, "type": "Scene.Update.Post"}}}),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "PLEXSYNC_REDIS_URL" in json.loads(result.stdout)["error"]


# -- 150 malformed payloads ---------------------------------------------------------------------------------


def _odd_values(rng: random.Random) -> list[Any]:
    deep: Any = 1
    for _ in range(rng.choice((50, 200, 500))):
        deep = [deep]
    return [
        None, True, False, 0, -1, -(2**63), 2**63, 2**64 + 1, 10**30, 1.5, 1e300, float("nan"), "", " ", "abc",
        "1e3", "0x1f", "+5", "1_000", "١٢", "Ⅻ", "12\x00", "9" * 400, "9" * 4400, [], [1], {}, {"id": 1},
        deep, "x" * 100_000,
    ]  # fmt: skip


def _structured_payloads(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """``args`` documents as Stash could never send them, plus some good ones among them."""
    odd = _odd_values(rng)
    hook_types = ["Scene.Update.Post", "Scene.Create.Post", "Scene.Destroy.Post", "Tag.Merge.Post", "scene.update.post"]
    payloads: list[dict[str, Any]] = []
    for _ in range(count):
        shape = rng.randrange(6)
        if shape == 0:  # a scene hook with an odd id
            context: Any = {"id": rng.choice(odd), "type": rng.choice(hook_types[:2])}
        elif shape == 1:  # odd type
            context = {"id": rng.randrange(1, 10**6), "type": rng.choice([*odd, *hook_types[2:]])}
        elif shape == 2:  # hookContext itself odd
            context = rng.choice(odd)
        elif shape == 3:  # keys missing or extra
            context = {
                k: v for k, v in {"id": 5, "type": "Scene.Update.Post", "input": None}.items() if rng.random() < 0.5
            }
            context[rng.choice(["ID", "Type", "inputFields", "\x00"])] = rng.choice(odd)
        elif shape == 4:  # no hookContext at all, maybe an odd mode
            payloads.append({"args": {"mode": rng.choice(odd)}} if rng.random() < 0.5 else {"args": {"x": 1}})
            continue
        else:  # good ones: a string id with blanks or zeros, a plain id
            context = {"id": rng.choice([f" {rng.randrange(1, 999)} ", f"00{rng.randrange(1, 999)}", 2**63 - 1]),
                       "type": rng.choice(hook_types[:2])}  # fmt: skip
        payloads.append({"args": {"hookContext": context}})
    return payloads


def _raw_payloads(rng: random.Random, count: int) -> list[bytes]:
    """Bytes on stdin: truncated, corrupted, mis-encoded, oversized."""
    good = json.dumps(
        {"server_connection": {"Scheme": "http"}, "args": {"hookContext": {"id": 3, "type": "Scene.Update.Post"}}}
    )
    raw: list[bytes] = []
    for _ in range(count):
        kind = rng.randrange(7)
        if kind == 0:
            raw.append(good[: rng.randrange(len(good))].encode())
        elif kind == 1:
            cut = rng.randrange(len(good))
            raw.append(good[:cut].encode() + bytes([rng.choice([0x00, 0x80, 0xC3, 0xFF, 0xFE])]) + good[cut:].encode())
        elif kind == 2:
            raw.append(
                rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]) + rng.choice([b"", b"{", b"[]", b"garbage"])
            )
        elif kind == 3:
            raw.append(
                b'{"args": {"hookContext": {"type": "Scene.Update.Post", "id": '
                + b"9" * rng.choice((20, 4301, 4400, 20000))
                + b"}}}"
            )
        elif kind == 4:
            depth = rng.choice((999, 5000, 200_000))
            raw.append(b'{"args": {"hookContext": ' + b"[" * depth + b"]" * depth + b"}}")
        elif kind == 5:
            raw.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
        else:
            raw.append(rng.choice([b"", b"   \n\t", b"null", b"[]", b"{}", b'{"args": null}', b'{"args": []}', b"NaN"]))
    return raw  # fmt: skip


def _run_raw(host: PluginHost, data: bytes) -> tuple[int, str, str]:
    hook = host.manifest.hooks[0]
    result = subprocess.run(
        host.command(hook),
        input=data,
        capture_output=True,
        env=host.environment(python=True),
        cwd=host.stash_dir,
        timeout=60,
    )
    return result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")


def _assert_clean_error(error: str | None, what: object) -> None:
    assert error is not None and error.startswith("PlexSync: "), what
    assert "\n" not in error and len(error) < 600, what
    assert not INTERNALS.search(error), error


def test_150_malformed_payloads_never_crash_never_exit_nonzero_and_queue_only_real_scene_ids(world: World):
    rng = random.Random(11)
    structured = _structured_payloads(rng, 100)
    raw = _raw_payloads(rng, 50)
    host = world.host
    hook = host.manifest.hooks[0]

    def run_structured(payload: dict[str, Any]) -> Invocation:
        return host._start("hook", hook, payload["args"]).wait()

    with ThreadPoolExecutor(max_workers=3) as pool:
        invocations = list(pool.map(run_structured, structured))
        raw_results = list(pool.map(lambda data: _run_raw(host, data), raw))

    def job_of(output: str, context: dict[str, Any]) -> tuple[str, bool]:
        """The queued job an accepted hook names: its scene, and whether it re-matches (a scan hook)."""
        scene_id = re.fullmatch(r"queued Plex sync of scene (\d+)", output)
        assert scene_id, output
        return scene_id.group(1), context.get("type") == "Scene.Update.Post" and context.get("input") is None

    accepted, jobs = 0, set()
    for invocation in invocations:
        assert invocation.returncode == 0 and not invocation.timed_out, invocation
        assert not any("Traceback" in line.message for line in invocation.logs), invocation.logs
        assert {line.level for line in invocation.logs} <= {"warning"}, invocation.logs
        if invocation.output is not None:
            jobs.add(job_of(invocation.output, invocation.stdin["args"]["hookContext"]))
            accepted += 1
        else:
            _assert_clean_error(invocation.error, invocation.stdin)
    for data, (returncode, stdout, stderr) in zip(raw, raw_results, strict=True):
        assert returncode == 0, data[:80]
        assert "Traceback" not in stderr and all(line.startswith("\x01w\x02") for line in stderr.splitlines()), stderr
        output, error, raw_output = decode_stdout(stdout)
        assert raw_output is None, stdout[:200]
        if output is not None:
            jobs.add(job_of(output, json.loads(data.decode("utf-8-sig"))["args"]["hookContext"]))
            accepted += 1
        else:
            _assert_clean_error(error, data[:80])
    assert 10 < accepted < 100  # both kinds were generated
    # Every accepted hook queued its job and nothing else was queued; the queue keeps
    # one waiting job per scene (and kind), however many hooks named it.
    assert world.queued() == len(jobs)


# -- the entry script on the Python that Stash ships --------------------------------------------------------


def _bare_plugin_folder(tmp_path: Path) -> Path:
    """The plugin folder before ``run.py setup``: no .venv."""
    folder = tmp_path / "StashPlexSync"
    folder.mkdir()
    shutil.copy(REPO / "stash_plugin.py", folder)
    shutil.copytree(REPO / "plexsync", folder / "plexsync")
    return folder


def _old_pythons() -> list[Path]:
    """Pythons older than 3.11 on this machine (pyenv's, or the system's)."""
    found = {}
    for pattern in ("/root/.pyenv/versions/3.*/bin/python3", "/usr/bin/python3.[0-9]", "/usr/bin/python3.10"):
        for path in sorted(Path("/").glob(pattern.lstrip("/"))):
            version = subprocess.run([str(path), "-c", "import sys; print(sys.version_info[:2] < (3, 11))"],
                                     capture_output=True, text=True).stdout.strip()  # fmt: skip
            if version == "True":
                found[path.resolve()] = path
    return sorted(found.values())


def test_the_entry_script_parses_as_python_3_9():
    """Checked whatever Python runs the tests; the next test also runs it on real old Pythons when present."""
    source = (REPO / "stash_plugin.py").read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    # What 3.9 parses but cannot run: annotations (``X | None`` fails at def time) and f-strings with 3.12 syntax.
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation]
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.returns]
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Match)]


@pytest.mark.parametrize("python", _old_pythons(), ids=lambda p: p.parent.parent.name)
def test_an_old_python_is_told_in_one_line_what_is_missing(tmp_path: Path, python: Path):
    folder = _bare_plugin_folder(tmp_path)
    hook = json.dumps({"args": {"hookContext": {"id": 1, "type": "Scene.Update.Post"}}})
    result = subprocess.run([str(python), str(folder / "stash_plugin.py")], input=hook, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert "is too old" in error and f"run `python3 run.py setup` in {folder}" in error and "3.11" in error


def test_a_plugin_folder_before_setup_says_to_run_setup(tmp_path: Path):
    """A Python new enough but without PlexSync's packages (``-S``: no site-packages)."""
    folder = _bare_plugin_folder(tmp_path)
    hook = json.dumps({"args": {"hookContext": {"id": 1, "type": "Scene.Update.Post"}}})
    result = subprocess.run(
        [sys.executable, "-S", str(folder / "stash_plugin.py")], input=hook, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error == f"PlexSync: not set up (huey is not installed): run `python3 run.py setup` in {folder}"


# -- bytecode: hooks read what setup and the worker compiled ----------------------------------------------------

HOOK_MODULES = ("plexsync/plugin/protocol", "plexsync/hooks", "plexsync/queue/producer", "plexsync/queue/storage")


def _plugin_copy(where: Path) -> Path:
    where.mkdir()
    shutil.copy2(REPO / "stash_plugin.py", where / "stash_plugin.py")
    shutil.copytree(REPO / "plexsync", where / "plexsync", ignore=shutil.ignore_patterns("__pycache__"))
    return where


def _read_from_bytecode(plugin: Path, tmp_path: Path) -> set[str]:
    """The hook's plugin modules that Python loaded from bytecode (``-v`` logs "code object from <pyc>")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLEXSYNC_", "PYTHONPYCACHEPREFIX"))}
    env |= {"PYTHONDONTWRITEBYTECODE": "1", "PLEXSYNC_DATA_DIR": str(tmp_path / "data")}
    env["PLEXSYNC_WORKER_MODE"] = "external"
    hook = json.dumps({"args": {"hookContext": {"id": 3, "type": "Scene.Update.Post"}}})
    done = subprocess.run(
        [sys.executable, "-v", str(plugin / "stash_plugin.py")],
        input=hook,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert json.loads(done.stdout) == {"output": "queued Plex sync of scene 3"}
    loaded = set(re.findall(r"code object from '([^']+)'", done.stderr))
    tag = sys.implementation.cache_tag
    pyc = {m: plugin / Path(m).parent / "__pycache__" / f"{Path(m).name}.{tag}.pyc" for m in HOOK_MODULES}
    return {m for m, path in pyc.items() if str(path) in loaded}


def test_the_hook_reads_the_bytecode_setup_writes_even_with_pythondontwritebytecode(tmp_path: Path):
    """Issue #9: with PYTHONDONTWRITEBYTECODE=1 every hook compiled the plugin's modules; Python still
    reads bytecode that is there, so ``run.py setup`` (and every worker start) writes it."""
    plugin = _plugin_copy(tmp_path / "plugin")
    assert _read_from_bytecode(plugin, tmp_path) == set()  # as before: compiled in every process, never written
    subprocess.run([sys.executable, "-m", "plexsync.plugin.bytecode"], cwd=plugin, check=True, timeout=120)
    assert _read_from_bytecode(plugin, tmp_path) == set(HOOK_MODULES)
