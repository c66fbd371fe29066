"""PlexSync installed as a Stash user installs it: from a plugin source, into a Stash whose Python has none
of its packages, with no command typed (issue #16, parts 1 and 2).

Everything is real: ``python3 run.py package`` builds the source once per session; the source is served
over HTTP as GitHub Pages would; the emulated package manager (:mod:`emulators.stash.packages`, from
Stash's ``pkg/pkg``) installs it into a temporary plugins folder; the plugin host runs it with a bare
Python (a venv made ``--without-pip`` from the base interpreter: the standard library only, as Stash's
Python on Windows or Linux; the Docker image adds requests and stashapi), whose ``sitecustomize``
refuses and records every connection beyond loopback; the set-up, the worker and the syncs are real
processes against the Stash and Plex emulators. Stash has no login here: the API key hand-over is
:mod:`plexsync.worker.autostart`'s concern (issue #16.3) and reaches these processes through the
environment the set-up passes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from emulators.plex import PlexEmulator
from emulators.plugin_host import Invocation, PluginHost
from emulators.stash import StashEmulator
from emulators.stash.packages import PackageManager, Source, SourceHost
from plexsync.config import PLUGIN_ID
from plexsync.environment import activate, layout, lock
from tests.support import REPO, wait_until

PLEX_TOKEN = "plex-token-install-3c9e"
STASH_ROOT, PLEX_ROOT = "/data/stash", "/media/plex"
#: Where Stash keeps the packages of this source (the source's "local path" on the Available Plugins page).
SOURCE_PATH = "plexsync-source"
STARTED = re.compile(r"worker started \(auto mode\): pid (\d+)")


def index_entry(folder: Path) -> dict:
    [entry] = yaml.safe_load((folder / "index.yml").read_text())
    return entry


def derive_source(base: Path, out: Path, edit: Callable[[dict[str, bytes]], None], later: timedelta) -> Path:
    """A new version of the source: the package's files changed by ``edit``, dated ``later`` than ``base``'s."""
    out.mkdir(parents=True)
    entry = index_entry(base)
    with zipfile.ZipFile(base / entry["path"]) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    edit(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    (out / entry["path"]).write_bytes(buffer.getvalue())
    date = datetime.strptime(entry["date"], "%Y-%m-%d %H:%M:%S") + later
    entry |= {"date": date.strftime("%Y-%m-%d %H:%M:%S"), "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    (out / "index.yml").write_text(yaml.safe_dump([entry], sort_keys=False))
    return out


# -- one Stash with the source added ---------------------------------------------------------------------------


class StashWithPlexSync:
    """Stash (no login) and Plex emulators, the plugin source added on Stash's plugin page, PlexSync installed."""

    def __init__(self, tmp: Path, source: Path, python: str, api_key: str | None = None, **stash_env: str) -> None:
        self.tmp = tmp
        self.python = python
        #: With ``api_key``, a Stash with a login (a username and password) that has generated that key.
        self.stash = StashEmulator(api_key=api_key, login=api_key is not None).start()
        self.plex = PlexEmulator(token=PLEX_TOKEN).start()
        self.section = self.plex.add_section(title="Movies", kind="movie", locations=[f"{PLEX_ROOT}/movies"])
        self.stash.set_plugin_settings(
            PLUGIN_ID, {"plex_url": self.plex.url, "plex_token": PLEX_TOKEN, "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        )
        self.hosts: list[SourceHost] = []
        self.url = self.serve(source)
        self.packages = PackageManager(tmp / "plugins", [Source(self.url, SOURCE_PATH, "PlexSync")])
        self.folder = self.packages.install(PLUGIN_ID, self.url)
        self.network_log = tmp / "network.log"
        self.stash_env = {
            "PLEXSYNC_WORKER_IDLE_EXIT": "1.5",
            "PLEXSYNC_RETRY_DELAY": "0.2",
            "PLEXSYNC_TEST_NETWORK_LOG": str(self.network_log),
            **stash_env,
        }
        self.host = self.plugin_host()

    def serve(self, source: Path) -> str:
        """Publish ``source`` (as GitHub Pages); its index URL."""
        host = SourceHost(source).start()
        self.hosts.append(host)
        return f"{host.url}/index.yml"

    def plugin_host(self, **env: str) -> PluginHost:
        """Stash (re)started with ``env`` added to its environment."""
        return PluginHost(
            self.folder, self.stash, python=self.python, env={**self.stash_env, **env}, stash_dir=self.tmp / "stash"
        )

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def add_scene(self, name: str, title: str) -> tuple[str, int]:
        relative = f"movies/{name}.mp4"
        scene_id = self.stash.add_scene(title=title, files=({"path": f"{STASH_ROOT}/{relative}", "size": 1000},))
        return scene_id, self.plex.add_movie(self.section, files=[f"{PLEX_ROOT}/{relative}"])

    def edit(self, scene_id: str) -> Invocation:
        [invocation] = self.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
        assert invocation.returncode == 0 and not invocation.timed_out and invocation.error is None, invocation
        return invocation

    def synced(self, rating_key: int, title: str) -> bool:
        return self.plex.item(rating_key).title == title

    def digest(self) -> str:
        digest = activate.lock_digest(str(self.folder))
        assert digest
        return digest

    def status(self) -> dict | None:
        path = self.folder / layout.DEPS / layout.STATUS
        return json.loads(path.read_text()) if path.exists() else None

    def setup_log(self) -> str:
        path = self.folder / layout.DEPS / "setup.log"
        return path.read_text() if path.exists() else ""

    def worker_log(self) -> str:
        path = self.data / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in STARTED.findall(self.worker_log())]

    def network_attempts(self) -> str:
        return self.network_log.read_text() if self.network_log.exists() else ""

    def stop(self) -> None:
        for pid in self.worker_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for host in self.hosts:
            host.stop()
        self.stash.stop()
        self.plex.stop()


@pytest.fixture
def installed(
    tmp_path: Path, source_dir: Path, bare_python: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StashWithPlexSync]:
    for name in [k for k in os.environ if k.startswith(("PLEXSYNC_", "PYTHON", "VIRTUAL_ENV"))]:
        monkeypatch.delenv(name)
    world = StashWithPlexSync(tmp_path, source_dir, bare_python)
    try:
        yield world
    finally:
        world.stop()
        print(f"--- setup.log ---\n{world.setup_log()}\n--- worker.log ---\n{world.worker_log()}")


def kept(invocation: Invocation, scene_id: str) -> bool:
    return invocation.output == f"the edit of scene {scene_id} kept until PlexSync is set up"


# -- the package -------------------------------------------------------------------------------------------------


def test_the_source_lists_one_package_whose_zip_holds_the_plugin_and_nothing_of_the_tests(source_dir: Path):
    entry = index_entry(source_dir)
    assert set(entry) == {"id", "name", "metadata", "version", "date", "path", "sha256", "requires"}
    assert entry["id"] == PLUGIN_ID and entry["name"] == "Stash Plex Sync" and entry["path"] == f"{PLUGIN_ID}.zip"
    datetime.strptime(entry["date"], "%Y-%m-%d %H:%M:%S")  # Stash's pkg.TimeFormat
    data = (source_dir / entry["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    # Stash loads every .yml below its plugins folder as a plugin: exactly one, the manifest.
    assert [name for name in names if name.endswith(".yml")] == [f"{PLUGIN_ID}.yml"]
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        f"{PLUGIN_ID}.yml", "stash_plugin.py", "huey_config.py", "plexsync", "wheels",
        "requirements.lock", "requirements-optional.lock", "requirements.txt", "run.py", "ui",
    }  # fmt: skip
    assert {"ui/plexsync.js", "ui/plexsync.css"} <= set(names)  # the scene page's tab, which the manifest's ui names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # every module of the runtime package, and exactly the wheels the lock pins, each with its locked hash
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "plexsync").rglob("*.py")}
    assert modules <= set(names)
    wheels = sorted(name for name in names if name.startswith("wheels/"))
    pins = lock.read(str(REPO))
    assert len(wheels) == len(pins) and all(name.endswith("-py3-none-any.whl") for name in wheels)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for pin in pins:
            [wheel] = [name for name in wheels if name.split("/")[1].split("-")[0] == lock.normalise(pin.name)]
            assert hashlib.sha256(archive.read(wheel)).hexdigest() in pin.hashes


def test_the_same_tree_builds_the_same_bytes(source_dir: Path, tmp_path: Path):
    """A second build, offline: pip takes the wheels from a folder (no index), the rest from the tree."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(source_dir / f"{PLUGIN_ID}.zip") as archive:
        for name in archive.namelist():
            if name.startswith("wheels/"):
                (wheels / name.split("/")[1]).write_bytes(archive.read(name))
    again = tmp_path / "again"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_NO_CACHE_DIR": "1"}
    done = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "package", str(again)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("index.yml", f"{PLUGIN_ID}.zip"):
        assert (again / name).read_bytes() == (source_dir / name).read_bytes(), name


def test_the_package_manager_installs_it_where_stash_does(installed: StashWithPlexSync):
    assert installed.folder == installed.tmp / "plugins" / SOURCE_PATH / PLUGIN_ID
    assert (installed.folder / "stash_plugin.py").is_file() and (installed.folder / "manifest").is_file()
    assert installed.host.manifest.id == PLUGIN_ID
    assert not installed.packages.upgradable(PLUGIN_ID, installed.url)


# -- the set-up ---------------------------------------------------------------------------------------------------


def test_the_first_scene_edit_reaches_plex_with_no_command_typed(installed: StashWithPlexSync):
    scene_id, rating_key = installed.add_scene("first", "Synced by a plugin that set itself up")
    first = installed.edit(scene_id)
    assert kept(first, scene_id), first  # Stash did not wait for the set-up
    [line] = first.messages("info")
    assert "setting up its Python packages in the background" in line and f"scene {scene_id}" in line
    assert first.messages("warning") == [] and first.messages("error") == []
    wait_until(lambda: installed.synced(rating_key, "Synced by a plugin that set itself up"), timeout=90)
    # The packages sit in .deps/<lock digest>/, complete, compiled; nothing half-done is left; the inbox is empty.
    deps = installed.folder / layout.DEPS
    assert (deps / installed.digest() / "huey" / "__init__.py").is_file()
    assert list((deps / installed.digest() / "huey" / "__pycache__").glob("*.pyc"))
    assert list((installed.folder / "plexsync" / "queue" / "__pycache__").glob("producer.*.pyc"))
    assert not [p for p in deps.iterdir() if p.name.startswith(".tmp")] and not (installed.data / "inbox").exists()
    assert not list(deps.rglob("*.yml"))  # Stash would load it as a plugin
    # The next invocation reports the outcome, once, and queues as usual.
    second_id, second_key = installed.add_scene("second", "The next edit")
    second = installed.edit(second_id)
    assert second.output == f"queued Plex sync of scene {second_id}"
    assert second.messages("info") == [
        f"PlexSync: set up: {len(lock.read(str(REPO)))} Python packages installed from the plugin package in "
        + re.search(r"in (\d+\.\d) s", second.messages("info")[0]).group(1)
        + " s"
    ]
    wait_until(lambda: installed.synced(second_key, "The next edit"), timeout=60, message="second sync")
    assert installed.edit(second_id).messages() == []
    assert installed.network_attempts() == ""  # no network: the wheels came in the package


def test_with_a_login_the_first_edit_reaches_plex_with_the_key_the_plugin_asked_stash_for(
    tmp_path: Path, source_dir: Path, bare_python: str, monkeypatch: pytest.MonkeyPatch
):
    """Issue #16's whole first run: Stash with a login, a Python without PlexSync's packages, no
    PLEXSYNC_STASH_API_KEY anywhere. The first scene edit's hook keeps the edit and starts the set-up
    (it has no session of its own once the hook ended: the hook asks Stash for its key first and hands it
    over through the set-up's stdin), which starts the worker with that key; the edit reaches Plex."""
    for name in [k for k in os.environ if k.startswith(("PLEXSYNC_", "PYTHON", "VIRTUAL_ENV"))]:
        monkeypatch.delenv(name)
    key = "stash-generated-key-0c4f"
    world = StashWithPlexSync(tmp_path, source_dir, bare_python, api_key=key)
    try:
        scene_id, rating_key = world.add_scene("login", "Synced through a Stash with a login")
        assert kept(world.edit(scene_id), scene_id)
        wait_until(lambda: world.synced(rating_key, "Synced through a Stash with a login"), timeout=90)
        [pid] = world.worker_pids()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert key.encode() not in environ and key.encode() not in cmdline and b"PLEXSYNC_STASH_API_KEY" not in environ
        files = [p for p in world.folder.rglob("*") if p.is_file() and p.suffix not in (".whl", ".pyc")]
        assert not [p for p in files if key.encode() in p.read_bytes()]  # setup.log, worker.log, the queue...
        assert not [i for i in world.host.invocations if key in i.stdout or any(key in m for m in i.messages())]
    finally:
        world.stop()


def test_20_hooks_at_once_start_one_set_up_and_every_edit_made_meanwhile_is_synced(installed: StashWithPlexSync):
    scenes = [installed.add_scene(f"burst-{i}", f"Burst title {i}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        invocations = list(pool.map(lambda scene: installed.edit(scene[0]), scenes))
    assert all(kept(inv, scene[0]) for inv, scene in zip(invocations, scenes, strict=True))
    for scene_id, rating_key in scenes:
        wait_until(lambda rk=rating_key, i=scene_id: installed.synced(rk, f"Burst title {int(i) - 1}"), timeout=120)
    assert installed.setup_log().count("set-up started") == 1, installed.setup_log()
    assert len(installed.worker_pids()) == 1
    # Edits made while the set-up ran are kept, then synced: one more now goes the normal way.
    late_id, late_key = installed.add_scene("late", "After the set-up")
    assert installed.edit(late_id).output == f"queued Plex sync of scene {late_id}"
    wait_until(lambda: installed.synced(late_key, "After the set-up"), timeout=60)


def test_a_corrupted_wheel_is_refused_in_one_line_and_nothing_half_installed_is_used(
    installed: StashWithPlexSync, source_dir: Path, tmp_path: Path
):
    """A package whose wheel does not match the lock (its index's sha256 matches it: Stash installs it)."""
    huey = next(name for name in _zip_names(source_dir) if name.startswith("wheels/huey-"))

    def corrupt(files: dict[str, bytes]) -> None:
        data = bytearray(files[huey])
        data[len(data) // 2] ^= 0xFF
        files[huey] = bytes(data)

    bad = installed.serve(derive_source(source_dir, tmp_path / "bad", corrupt, timedelta(hours=1)))
    installed.packages.sources.append(Source(bad, SOURCE_PATH))
    installed.packages.install(PLUGIN_ID, bad)  # an upgrade to the damaged version
    scene_id, rating_key = installed.add_scene("kept", "Kept through a failed set-up")
    assert kept(installed.edit(scene_id), scene_id)
    wait_until(lambda: (installed.status() or {}).get("state") == "failed", timeout=60, message="the set-up fails")
    again = installed.edit(scene_id)
    [warning] = again.messages("warning")
    assert warning.startswith(f"PlexSync: set-up failed: {huey.split('/')[1]} does not match its sha256 in ")
    assert "reinstall PlexSync from Stash's Settings > Plugins > Available Plugins" in warning
    assert again.messages("info") == [] and kept(again, scene_id)
    deps = installed.folder / layout.DEPS
    assert sorted(p.name for p in deps.iterdir() if p.is_dir()) == []  # nothing half-installed, nothing used
    assert installed.setup_log().count("set-up started") == 1  # a failed set-up is not retried per edit
    # The good package installed again: the next edit sets up, and the kept edits are synced.
    installed.packages.install(PLUGIN_ID, installed.url)
    assert kept(installed.edit(scene_id), scene_id)
    wait_until(lambda: installed.synced(rating_key, "Kept through a failed set-up"), timeout=90)


def test_an_upgrade_with_a_new_lock_keeps_the_queue_and_sets_up_again(
    installed: StashWithPlexSync, source_dir: Path, tmp_path: Path
):
    """Stash deletes only the files the old zip held: ``data/`` (queue, inbox, dead letters) and ``.deps/`` stay."""
    installed.host = installed.plugin_host(PLEXSYNC_WORKER_MODE="external")  # jobs stay queued: no worker
    first_id, first_key = installed.add_scene("before", "Queued before the upgrade")
    installed.edit(first_id)
    wait_until(lambda: (installed.data / "queue.db").exists() and not (installed.data / "inbox").exists())
    old_digest, queue_inode = installed.digest(), (installed.data / "queue.db").stat().st_ino

    def new_lock(files: dict[str, bytes]) -> None:
        files["requirements.lock"] += b"# a new lock: the next release pins something else\n"

    newer = installed.serve(derive_source(source_dir, tmp_path / "v2", new_lock, timedelta(days=1)))
    installed.packages.sources[0] = Source(newer, SOURCE_PATH)
    assert installed.packages.upgradable(PLUGIN_ID, newer)
    installed.packages.install(PLUGIN_ID, newer)
    assert installed.digest() != old_digest and (installed.data / "queue.db").stat().st_ino == queue_inode

    installed.host = installed.plugin_host()  # Stash restarted with the default, auto mode
    second_id, second_key = installed.add_scene("after", "Edited after the upgrade")
    assert kept(installed.edit(second_id), second_id)  # a new lock: set up again
    for rating_key, title in ((first_key, "Queued before the upgrade"), (second_key, "Edited after the upgrade")):
        wait_until(lambda rk=rating_key, t=title: installed.synced(rk, t), timeout=90, message=title)
    deps = installed.folder / layout.DEPS
    assert {p.name for p in deps.iterdir() if p.is_dir()} == {old_digest, installed.digest()}  # the previous kept
    [pid] = installed.worker_pids()
    path = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"{layout.ENV_DIGEST}={installed.digest()}".encode() in path


def test_the_scene_page_opened_before_the_set_up_answers_at_once_and_starts_it(installed: StashWithPlexSync):
    """The scene page waits for its one plugin run (issue #19): opened on a freshly installed package, the
    tab's operation does not run the set-up in the foreground as a task does; it starts it in the background
    and answers at once with the words the tab shows as "still setting up" (ui/plexsync.js)."""
    scene_id, _ = installed.add_scene("page", "Opened before the set-up")
    first = installed.host.run_operation({"mode": "scene_panel", "scene_id": scene_id})
    assert first.returncode == 0 and first.output is None, first
    assert first.error.startswith("PlexSync: being set up") and "this page works once it is done" in first.error
    assert not first.progress  # no foreground set-up with Stash's progress bar
    wait_until(lambda: (installed.status() or {}).get("state") == "done", timeout=90, message="the background set-up")
    again = installed.host.run_operation({"mode": "scene_panel", "scene_id": scene_id})
    assert again.error is None and isinstance(again.output, dict), again
    assert installed.setup_log().count("set-up started") == 1


def test_the_set_up_task_runs_in_the_foreground_with_the_progress_bar(installed: StashWithPlexSync):
    scene_id, rating_key = installed.add_scene("task", "Synced after the set-up task")
    assert kept(installed.edit(scene_id), scene_id)
    task = installed.host.run_task("Set up PlexSync")  # follows the set-up the hook started, or runs it
    assert task.error is None, task
    assert task.progress and task.progress[-1] == 1.0 and task.progress == sorted(task.progress)
    wait_until(lambda: installed.synced(rating_key, "Synced after the set-up task"), timeout=90)
    # Run again on a ready set-up: everything is checked and unpacked anew (a repair), in the foreground.
    repair = installed.host.run_task("Set up PlexSync")
    assert repair.error is None and repair.output.startswith("set up: "), repair
    assert [line for line in repair.messages("info") if "installing huey" in line]
    assert installed.host.run_task("Status").error is None


def _zip_names(source: Path) -> list[str]:
    with zipfile.ZipFile(source / f"{PLUGIN_ID}.zip") as archive:
        return archive.namelist()


def test_an_optional_feature_that_cannot_be_installed_is_one_line_saying_exactly_what_to_do(
    installed: StashWithPlexSync,
):
    """Poster shape: portrait needs Pillow, compiled: installed with pip at set-up, and this Python has no pip."""
    installed.host = installed.plugin_host(PLEXSYNC_POSTER_SHAPE="portrait")
    scene_id, rating_key = installed.add_scene("portrait", "Synced without its portrait poster")
    assert kept(installed.edit(scene_id), scene_id)
    wait_until(lambda: (installed.status() or {}).get("state") == "done", timeout=90, message="the set-up")
    [warning] = installed.edit(scene_id).messages("warning")
    pin = next(p for p in lock.read(str(REPO), layout.LOCK_FILES[1]) if p.key == "pillow")
    target = installed.folder / layout.DEPS / f"{installed.digest()}-pillow-{layout.interpreter_tag()}"
    assert warning.startswith("PlexSync: set up: ") and "\n" not in warning
    assert warning.endswith(
        f"; Poster shape: portrait needs pillow {pin.version} and Stash's Python has no pip to install it: "
        f"run `{installed.python} -m pip install --target {target} pillow=={pin.version}` where Stash runs, "
        "then the task 'Set up PlexSync' (or set Poster shape to cover)"
    )
    # The core is set up all the same; the sync that needs Pillow says what to do instead of cutting nothing.
    wait_until(lambda: installed.synced(rating_key, "Synced without its portrait poster"), timeout=60)
    letter = wait_until(lambda: _dead_letters(installed.data), timeout=60, message="the poster's dead letter")
    assert "Poster shape: portrait needs Pillow, which is not installed: run the task 'Set up PlexSync'" in letter[0]


def _dead_letters(data: Path) -> list[str]:
    from tests.support import dead_letters

    return [row["message"] for row in dead_letters(data)]


def test_a_worker_running_on_the_previous_set_up_stops_and_the_next_edit_runs_on_the_new_one(
    installed: StashWithPlexSync, source_dir: Path, tmp_path: Path
):
    installed.host = installed.plugin_host(PLEXSYNC_WORKER_IDLE_EXIT="600")  # it would stay for 10 minutes
    first_id, first_key = installed.add_scene("old", "Synced by the old worker")
    installed.edit(first_id)
    wait_until(lambda: installed.synced(first_key, "Synced by the old worker"), timeout=90)
    [old_pid] = installed.worker_pids()

    def new_lock(files: dict[str, bytes]) -> None:
        files["requirements.lock"] += b"# the next release\n"

    newer = installed.serve(derive_source(source_dir, tmp_path / "v2", new_lock, timedelta(days=1)))
    installed.packages.sources[0] = Source(newer, SOURCE_PATH)
    installed.packages.install(PLUGIN_ID, newer)
    wait_until(lambda: not Path(f"/proc/{old_pid}").exists() or _zombie(old_pid), timeout=30, message="old stops")
    assert "PlexSync was upgraded: stopping" in installed.worker_log()
    second_id, second_key = installed.add_scene("new", "Synced by the new worker")
    assert kept(installed.edit(second_id), second_id)
    wait_until(lambda: installed.synced(second_key, "Synced by the new worker"), timeout=90)
    [_, new_pid] = installed.worker_pids()
    environ = Path(f"/proc/{new_pid}/environ").read_bytes().split(b"\0")
    assert f"{layout.ENV_DIGEST}={installed.digest()}".encode() in environ


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True
