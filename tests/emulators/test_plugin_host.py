"""The plugin host runs a plugin folder the way Stash does (see shared/stash-plugins.md)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from emulators.plugin_host import Invocation, LogLine, ManifestError, PluginHost
from emulators.stash import StashEmulator

PLUGINS = Path(__file__).parent / "plugins"
ECHO = PLUGINS / "echo"

UPDATE_MUTATION = "mutation($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id title } }"


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Running and not a zombie (a container's init may be slow to reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def stash() -> Iterator[StashEmulator]:
    server = StashEmulator().start()
    yield server
    server.stop()


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "hook-marker.jsonl"


@pytest.fixture
def host(stash: StashEmulator, tmp_path: Path, marker: Path) -> PluginHost:
    env = {"PLEXSYNC_TEST_MARKER": str(marker), "PLEXSYNC_PATH_MAP": "/data/stash=/media/plex"}
    return PluginHost(ECHO, stash, env=env, stash_dir=tmp_path / "stash-config")


def plugin_copy(tmp_path: Path, manifest: str) -> Path:
    """The echo plugin with another manifest, in a folder of its own."""
    folder = tmp_path / "plugins" / "copy"
    folder.mkdir(parents=True)
    shutil.copy(ECHO / "echo.py", folder / "echo.py")
    (folder / "copy.yml").write_text(manifest, encoding="utf-8")
    return folder


MINIMAL = 'name: Copy\nexec: [python, "{pluginDir}/echo.py"]\n'


# -- the manifest --------------------------------------------------------------


def test_full_manifest_loads_with_its_tasks_hooks_and_settings(host: PluginHost) -> None:
    manifest = host.manifest
    assert host.plugin_id == "echo"
    assert manifest.name == "Echo"
    assert manifest.version == "1.10"  # kept as written, as Go decodes a scalar into a string
    assert manifest.interface == "raw" and manifest.err_log == "warning"
    assert {key: s.type for key, s in manifest.settings.items()} == {
        "flag": "BOOLEAN",
        "count": "NUMBER",
        "label": "STRING",
    }
    assert manifest.task("Echo").default_args == {"mode": "echo", "extra": "default"}
    assert [h.name for h in manifest.hooks_for("Scene.Update.Post")] == ["Scene changed", "Scene updated again"]
    assert [h.name for h in manifest.hooks_for("Scene.Create.Post")] == ["Scene changed"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("frobnicate: 1\n", "field frobnicate not found in type plugin.Config"),
        ("requires: [other]\n", "field requires not found"),
        ("tasks:\n  - name: T\n    defaultArg: {a: b}\n", "field defaultArg not found in type plugin.OperationConfig"),
        ("hooks:\n  - name: H\n    triggerBy: [Scene.Update.Post]\n", "field triggerBy not found"),
        ("settings:\n  s:\n    displayname: S\n", "field displayname not found in type plugin.SettingConfig"),
        ("settings:\n  s:\n    displayName: S\n    type: INTEGER\n", "INTEGER"),
        ("errLog: verbose\n", "verbose"),
        ("interface: grpc\n", "invalid interface type grpc"),
        ("tasks:\n  name: T\n", "cannot unmarshal !!map into []*plugin.OperationConfig"),
        ("tasks:\n  - name: T\n    defaultArgs: {a: [1, 2]}\n", "cannot unmarshal !!seq into string"),
        ("name: Again\n", 'key "name" already set'),
        ("ui:\n  javascript: x.js\n", "into []string"),
    ],
)
def test_manifest_stash_would_refuse_is_refused_naming_the_fault(
    tmp_path: Path, stash: StashEmulator, extra: str, named: str
) -> None:
    folder = plugin_copy(tmp_path, MINIMAL + extra)
    with pytest.raises(ManifestError, match=named.replace("[", r"\[").replace("*", r"\*")):
        PluginHost(folder, stash)


def test_exec_given_as_one_string_is_a_type_error(tmp_path: Path, stash: StashEmulator) -> None:
    folder = plugin_copy(tmp_path, "name: Copy\nexec: python echo.py\n")
    with pytest.raises(ManifestError, match=r"line 2: cannot unmarshal !!str `python echo.py` into \[\]string"):
        PluginHost(folder, stash)


def test_a_plugin_folder_needs_exactly_one_manifest(tmp_path: Path, stash: StashEmulator) -> None:
    folder = plugin_copy(tmp_path, MINIMAL)
    (folder / "second.yml").write_text(MINIMAL)
    with pytest.raises(ManifestError, match="exactly one"):
        PluginHost(folder, stash)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ManifestError, match="found none"):
        PluginHost(empty, stash)


# -- hooks ---------------------------------------------------------------------


def test_hook_gets_the_full_update_input_and_the_fields_actually_set(host: PluginHost, stash: StashEmulator) -> None:
    invocations = host.fire_hook("Scene.Update.Post", 7, {"id": "7", "title": "New title"}, ["id", "title"])

    assert [inv.name for inv in invocations] == ["Scene changed", "Scene updated again"]
    first = invocations[0]
    assert first.returncode == 0 and first.error is None
    received = first.output["stdin"]
    assert received == first.stdin  # the plugin read exactly what the host sent
    args = received["args"]
    assert args["mode"] == "hook"  # the hook's defaultArgs
    context = args["hookContext"]
    assert (context["id"], context["type"], context["inputFields"]) == (7, "Scene.Update.Post", ["id", "title"])
    every_field = set(stash.schema.get_type("SceneUpdateInput").fields)
    assert every_field <= set(context["input"])
    assert context["input"]["title"] == "New title"
    assert {k for k, v in context["input"].items() if v is not None} == {"id", "title"}


def test_hook_fired_by_a_scan_has_null_input_and_no_input_fields(host: PluginHost) -> None:
    (first, _) = host.fire_hook("Scene.Update.Post", 3)
    context = first.output["stdin"]["args"]["hookContext"]
    assert context == {"id": 3, "type": "Scene.Update.Post", "input": None}  # inputFields is omitempty in Go


def test_process_is_launched_as_stash_launches_it(host: PluginHost, stash: StashEmulator, tmp_path: Path) -> None:
    [inv] = host.fire_hook("Scene.Create.Post", 9)
    echo = inv.output
    connection = echo["stdin"]["server_connection"]
    assert (connection["Scheme"], connection["Host"], connection["Port"]) == ("http", "127.0.0.1", stash.port)
    assert connection["SessionCookie"]["Name"] == "session"
    assert connection["Dir"] == str(tmp_path / "stash-config")
    assert connection["PluginDir"] == str(ECHO.resolve())
    assert Path(echo["cwd"]) == tmp_path / "stash-config"
    assert Path(echo["cwd"]) != ECHO.resolve()
    assert echo["pythonpath"].split(os.pathsep)[-1] == str(PLUGINS.resolve())
    assert inv.command[0] == sys.executable  # "python" in exec runs Stash's configured Python
    assert echo["env"]["PLEXSYNC_PATH_MAP"] == "/data/stash=/media/plex"
    assert inv.wall_time > 0


def test_existing_pythonpath_stays_first(stash: StashEmulator) -> None:
    host = PluginHost(ECHO, stash, env={"PYTHONPATH": "/opt/site"})
    echo = host.run_task("Echo").output
    assert echo["pythonpath"] == f"/opt/site{os.pathsep}{PLUGINS.resolve()}"


def test_session_cookie_given_to_the_plugin_authenticates_against_stash(tmp_path: Path) -> None:
    stash = StashEmulator(api_key="secret-api-key").start()
    try:
        host = PluginHost(ECHO, stash, stash_dir=tmp_path)
        cookie = host.run_task("Echo").output["stdin"]["server_connection"]["SessionCookie"]
        query = {"query": "{ version { version } }"}
        with_cookie = requests.post(
            stash.graphql_url, json=query, cookies={cookie["Name"]: cookie["Value"]}, timeout=10
        )
        without = requests.post(stash.graphql_url, json=query, timeout=10)
    finally:
        stash.stop()
    assert with_cookie.status_code == 200 and with_cookie.json()["data"]["version"]["version"]
    assert without.status_code == 401


def test_fire_hook_without_a_matching_hook_runs_nothing(host: PluginHost) -> None:
    assert host.fire_hook("Performer.Update.Post", 1, {"id": "1"}, ["id"]) == []
    assert host.invocations == []


def test_attached_hooks_run_before_the_mutation_answers(host: PluginHost, stash: StashEmulator, marker: Path) -> None:
    scene_id = stash.add_scene(title="Before")
    host.attach()

    answer = requests.post(
        stash.graphql_url,
        json={"query": UPDATE_MUTATION, "variables": {"input": {"id": scene_id, "title": "After"}}},
        timeout=30,
    )

    marker_written = marker.exists()  # checked the instant the answer arrived
    assert answer.json()["data"]["sceneUpdate"] == {"id": scene_id, "title": "After"}
    assert marker_written
    assert [inv.returncode for inv in host.invocations] == [0, 0]
    context = host.invocations[0].stdin["args"]["hookContext"]
    assert (context["id"], context["inputFields"]) == (int(scene_id), ["id", "title"])


def test_mutation_with_a_hooks_own_session_does_not_refire_its_hooks(host: PluginHost, stash: StashEmulator) -> None:
    scene_id = stash.add_scene(title="Loop")
    host.attach()
    (hook, _) = host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    hook_cookie = hook.stdin["server_connection"]["SessionCookie"]["Value"]
    body = {"query": UPDATE_MUTATION, "variables": {"input": {"id": scene_id, "title": "Again"}}}

    requests.post(stash.graphql_url, json=body, cookies={"session": hook_cookie}, timeout=30)
    after_own_session = len(host.invocations)
    requests.post(stash.graphql_url, json=body, timeout=30)

    assert after_own_session == 2
    assert host.skipped_hooks == [("Scene.Update.Post", int(scene_id))]
    assert len(host.invocations) == 4


def test_attached_hosts_chain_like_plugins_in_one_stash(host: PluginHost, stash: StashEmulator, tmp_path: Path) -> None:
    hooks = "hooks:\n  - name: Copy hook\n    triggeredBy: [Scene.Update.Post]\n"
    other = PluginHost(plugin_copy(tmp_path, MINIMAL + hooks), stash)
    scene_id = stash.add_scene(title="Chained")
    host.attach()
    other.attach()

    body = {"query": UPDATE_MUTATION, "variables": {"input": {"id": scene_id, "title": "Both"}}}
    requests.post(stash.graphql_url, json=body, timeout=30)
    other.detach()
    requests.post(stash.graphql_url, json=body, timeout=30)

    assert [inv.name for inv in host.invocations] == ["Scene changed", "Scene updated again"] * 2
    assert [inv.name for inv in other.invocations] == ["Copy hook"]


# -- output and logs ---------------------------------------------------------------


def test_error_document_on_stdout_is_decoded(host: PluginHost) -> None:
    inv = host.run_task("Fail")
    assert (inv.error, inv.output, inv.raw_output) == ("the plugin failed on purpose", None, None)


def test_stdout_that_is_not_json_is_raw_output(host: PluginHost) -> None:
    inv = host.run_task("Raw")
    assert (inv.raw_output, inv.output, inv.error) == ("this is not JSON\n", None, None)


def test_nonzero_exit_becomes_go_exit_error_and_stderr_gets_errlog_level(host: PluginHost) -> None:
    inv = host.run_task("Crash")
    assert inv.returncode == 3
    assert inv.error == "exit status 3"
    assert LogLine("warning", "ValueError: crashed") in inv.logs  # the manifest's errLog: warning


def test_stderr_prefixes_give_levels_and_progress(host: PluginHost) -> None:
    inv = host.run_task("Logs")
    assert inv.logs == [
        LogLine("trace", "message at t"),
        LogLine("debug", "message at d"),
        LogLine("info", "message at i"),
        LogLine("warning", "message at w"),
        LogLine("error", "message at e"),
        LogLine("warning", "a line without prefix"),
    ]
    assert inv.progress == [0.25, 0.5, 1.0]
    assert inv.output == "ok"


def test_a_tasks_output_is_logged_at_debug_and_its_error_at_error_so_info_shows_neither_output(
    host: PluginHost,
) -> None:
    """internal/manager/task_plugin.go (stashapp/stash cf3489e): ``logger.Debugf("Plugin returned: %v",
    output.Output)``, ``logger.Errorf("Plugin returned error: %s", *output.Error)``; Stash's log page
    shows Info and above unless the user picks another level (SettingsLogsPanel.tsx)."""
    logs = host.run_task("Logs")
    assert logs.stash_log[-1] == LogLine("debug", "Plugin returned: ok")
    assert [line.message for line in logs.shown()] == [
        "message at i",
        "message at w",
        "message at e",
        "a line without prefix",
    ]
    assert "Plugin returned: ok" in [line.message for line in logs.shown("debug")]
    assert [line.message for line in logs.shown("error")] == ["message at e"]

    failed = host.run_task("Fail")
    assert failed.shown() == [LogLine("error", "Plugin returned error: the plugin failed on purpose")]
    raw = host.run_task("Raw")  # not JSON: Stash takes the whole stdout as the output
    assert raw.shown() == [] and raw.stash_log == [LogLine("debug", "Plugin returned: this is not JSON\n")]


def test_a_hooks_output_is_logged_at_debug_with_its_trigger_and_its_error_at_error(
    host: PluginHost, stash: StashEmulator
) -> None:
    """pkg/plugin/plugins.go executePostHooks (cf3489e): ``logger.Debugf("%s [%s]: returned: %v", hookType,
    p.Name, output.Output)``; an error: ``logger.Errorf("%s [%s]: returned error: %s", ...)``."""
    scene = stash.add_scene(title="a")
    first, second = host.fire_hook("Scene.Update.Post", int(scene), {"id": scene}, ["id"])
    assert first.shown() == [] and second.shown() == []
    answer = first.stash_log[-1]
    assert answer.level == "debug" and answer.message.startswith("Scene.Update.Post [Echo]: returned: {")
    assert host.shown() == []
    assert len(host.shown("debug")) == 2


@pytest.mark.parametrize(("err_log", "level"), [(None, "error"), ("info", "info"), ("none", None)])
def test_unprefixed_stderr_lines_get_errlog_level(
    tmp_path: Path, stash: StashEmulator, err_log: str | None, level: str | None
) -> None:
    manifest = (
        MINIMAL
        + (f"errLog: {err_log}\n" if err_log else "")
        + "tasks:\n  - name: Logs\n    defaultArgs: {mode: logs}\n"
    )
    inv = PluginHost(plugin_copy(tmp_path, manifest), stash).run_task("Logs")
    unprefixed = [line.level for line in inv.logs if line.message == "a line without prefix"]
    assert unprefixed == ([level] if level else [])
    assert LogLine("info", "message at i") in inv.logs


# -- tasks ---------------------------------------------------------------------


def test_task_args_are_default_args_overridden_by_given_ones(host: PluginHost) -> None:
    assert host.run_task("Echo").output["stdin"]["args"] == {"mode": "echo", "extra": "default"}
    given = host.run_task("Echo", {"extra": "given", "more": "1"}).output["stdin"]["args"]
    assert given == {"mode": "echo", "extra": "given", "more": "1"}
    with_exec_args = host.run_task("Echo with execArgs").output
    assert with_exec_args["argv"] == ["--marker", f"{ECHO.resolve()}/marker"]
    assert [inv.kind for inv in host.invocations] == ["task", "task", "task"]


def test_stop_kills_a_running_task_without_a_signal_it_could_catch(host: PluginHost, tmp_path: Path) -> None:
    started = tmp_path / "started"
    running = host.start_task("Sleep", {"started": str(started)})
    wait_for(started.exists, what="the task to start")

    running.kill()
    inv = running.wait(timeout=30)

    assert isinstance(inv, Invocation)
    assert inv.killed and inv.returncode == -signal.SIGKILL
    assert inv.error == "signal: killed"
    assert inv.output is None  # it never got to print
    assert not alive(running.pid)


def test_a_child_holding_stdout_keeps_stash_waiting_a_detached_one_does_not(stash: StashEmulator) -> None:
    host = PluginHost(ECHO, stash, safety_timeout=3.0)

    held = host.run_task("Hold stdout")
    detached = host.run_task("Detach")

    held_child, detached_child = held.output["child"], detached.output["child"]
    try:
        assert held.timed_out  # Stash would still be waiting for stdout to close
        assert not detached.timed_out and detached.returncode == 0
        assert alive(detached_child)  # it keeps working after the invocation returned
        wait_for(lambda: not alive(held_child), what="the safety deadline to clean up")
    finally:
        if alive(detached_child):
            os.kill(detached_child, signal.SIGKILL)
