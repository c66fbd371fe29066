"""The README's "Install it from Stash", followed step by step as a Stash user follows it, with no terminal.

The steps are read out of README.md, and each key phrase they name is what the user meets: the source URL
form and the names on Stash's Available Plugins page, the task names, the line Stash's log shows with the
code, the setting's name on the plugin page, the scene page's PlexSync tab. When the README and the product
part ways, this test fails.

The world is a new user's: Stash with a login and an API key generated (Settings > Security), nothing of
PlexSync's in Stash's environment but plex.tv's address (the emulator's; no ``PLEXSYNC_STASH_API_KEY``: the
plugin takes Stash's key itself), Stash's Python with the standard library only (``bare_python``), the
package ``python3 run.py package`` builds (``source_dir``) served over HTTP at the README's path and
installed by the emulated package manager, the plex.tv emulator with an account owning the Plex emulator's
server, and a library that Stash and Plex see under different paths (so the README's path rule is needed).
Everything runs as real processes: the plugin host runs each task and hook as Stash does, the plugin sets
itself up and starts its worker. What the user reads is Stash's log page at its default level, Info
(:meth:`Invocation.shown`); what the user does on a page is the GraphQL request that page sends, with the
browser's session cookie.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from emulators.plex import PlexEmulator
from emulators.plextv import Connection, PlexTvEmulator
from emulators.plugin_host import Invocation, PluginHost, RunningTask
from emulators.plugin_settings import CONFIGURE, READ, typed
from emulators.stash import StashEmulator
from emulators.stash.packages import PackageManager, Source, SourceHost
from plexsync.config import PLUGIN_ID, SYNC_SETTINGS
from plexsync.environment import lock
from plexsync.stash.settings_store import page_value
from tests.integration.test_link_plex_account import enter_code
from tests.support import REPO, wait_until

STASH_API_KEY = "stash-api-key-readme-91e4c2"
PLEX_TOKEN = "plex-token-readme-5a7f0b"
SCENES = 5
#: The worker's own log in the data folder (worker mode auto), where its start is written.
STARTED = re.compile(r"worker started \(auto mode\): pid (\d+)")


# -- the README's steps ---------------------------------------------------------------------------------------


def readme_steps() -> tuple[dict[int, str], str]:
    """The numbered steps of "Install it from Stash" (each one line), and the section's text after them."""
    text = (REPO / "README.md").read_text()
    match = re.search(r"^## Install it from Stash\n(.*?)^## ", text, re.S | re.M)
    assert match, "README.md has no section 'Install it from Stash'"
    steps: dict[int, str] = {}
    after: list[str] = []
    for line in match.group(1).splitlines():
        numbered = re.match(r"^(\d+)\. (.*)", line)
        if numbered:
            steps[int(numbered.group(1))] = numbered.group(2)
        elif line.startswith("   ") and steps and not after:
            steps[max(steps)] += " " + line.strip()
        elif steps and line.strip():
            after.append(line.strip())
    assert sorted(steps) == [1, 2, 3, 4], steps
    return steps, " ".join(after)


def phrase(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text)
    assert found, f"the README's step no longer says {pattern!r}: {text}"
    return found


@dataclass(frozen=True)
class Readme:
    """What the README's four steps tell the user to type, click and read."""

    source_name: str
    source_url: str
    local_path: str
    package_name: str
    link_task: str
    code_line: str  # e.g. "PlexSync: open plex.tv/link and enter ABCD"
    code_example: str  # "ABCD"
    settings_page: str  # "Stash Plex Sync"
    path_setting: str  # "Path rules"
    path_rule: str  # "/data=/media"
    doctor_task: str
    sync_task: str
    status_task: str
    scene_tab: str  # "PlexSync"
    tab_says: tuple[str, ...]  # "Open in Plex", "Sync now"

    @classmethod
    def read(cls) -> Readme:
        steps, after = readme_steps()
        one, two, three, four = (steps[n] for n in (1, 2, 3, 4))
        phrase(r"\*Settings → Plugins → Available Plugins → Add Source\*", one)
        code_line = phrase(
            r"Stash's log \(\*Settings → Logs\*\) says `(PlexSync: open plex\.tv/link and enter (\w+))`", two
        )
        phrase(r"sets up PlexSync's Python packages, from the package itself: the log says so", two)
        phrase(r"If Stash has a login, generate an API key once in \*Settings → Security\*", two)
        page = phrase(r"set \*\*([^*]+)\*\* on \*Settings → Plugins → ([^*]+)\*, e\.g\. `([^`=]+=[^`]+)`", three)
        four_tasks = phrase(
            r"Run \*\*([^*]+)\*\*: it checks Stash, Plex and the path rules in one run.*run \*\*([^*]+)\*\* once", four
        )
        tab = phrase(
            r"each scene's page in Stash has a \*\*(\w+)\*\* tab \(in Plex or not and why, ((?:\*[^*]+\*(?:, )?)+)\)",
            after,
        )
        return cls(
            source_name=phrase(r"\*\*Name\*\* `([^`]+)`", one).group(1),
            source_url=phrase(r"\*\*Source URL\*\* `([^`]+)`", one).group(1),
            local_path=phrase(r"\*\*Local Path\*\* `([^`]+)`", one).group(1),
            package_name=phrase(r"Tick \*([^*]+)\* under it and click \*Install\*", one).group(1),
            link_task=phrase(r"run \*\*([^*]+)\*\*", two).group(1),
            code_line=code_line.group(1),
            code_example=code_line.group(2),
            settings_page=page.group(2),
            path_setting=page.group(1),
            path_rule=page.group(3),
            doctor_task=four_tasks.group(1),
            sync_task=four_tasks.group(2),
            status_task=phrase(r"\*([^*]+)\* says what PlexSync is doing", after).group(1),
            scene_tab=tab.group(1),
            tab_says=tuple(re.findall(r"\*([^*]+)\*", tab.group(2))),
        )


def test_the_readme_names_what_this_test_follows():
    """The names the steps give are the ones this test then meets (a changed README is followed anew)."""
    readme = Readme.read()
    assert re.fullmatch(r"https://[\w.-]+/[\w/.-]*index\.yml", readme.source_url), readme.source_url
    assert (readme.link_task, readme.doctor_task, readme.sync_task) == (
        "Link Plex account",
        "Doctor",
        "Sync all scenes",
    )
    assert readme.code_line == f"PlexSync: open plex.tv/link and enter {readme.code_example}"
    assert readme.path_setting == "Path rules" and readme.scene_tab == "PlexSync"
    assert readme.tab_says == ("Open in Plex", "Sync now")


# -- the world --------------------------------------------------------------------------------------------------


class Browser:
    """Stash's web UI as a logged-in user drives it: GraphQL with the session cookie of the login."""

    def __init__(self, stash: StashEmulator) -> None:
        self.stash = stash
        self.session = requests.Session()
        self.cookie = stash.new_session()
        self.session.cookies.set("session", self.cookie)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.session.post(
            self.stash.graphql_url, json={"query": query, "variables": variables or {}}, timeout=120
        )
        answer.raise_for_status()
        document = answer.json()
        assert not document.get("errors"), document["errors"]
        return document["data"]

    def plugin_page(self) -> dict[str, Any]:
        """Settings > Plugins > the plugin: what Stash has stored for it."""
        return self.graphql(READ, {"ids": [PLUGIN_ID]})["configuration"]["plugins"].get(PLUGIN_ID) or {}

    def save_setting(self, display_name: str, raw: str) -> None:
        """Type ``raw`` into the setting the page shows as ``display_name`` and leave the field: the page sends
        the whole stored map with that one value changed (``configurePlugin`` replaces what is stored)."""
        [setting] = [s for s in SYNC_SETTINGS if s.display_name == display_name]
        merged = {**self.plugin_page(), setting.key: typed(setting.key, raw)}
        self.graphql(CONFIGURE, {"id": PLUGIN_ID, "input": merged})

    def edit_scene_title(self, scene_id: str, title: str) -> None:
        """The scene's Edit tab, Save: ``sceneUpdate`` (the hook fires inside it, as Stash runs it)."""
        done = self.graphql(
            "mutation($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id title } }",
            {"input": {"id": scene_id, "title": title}},
        )
        assert done["sceneUpdate"]["title"] == title

    def scene_panel(self, scene_id: str) -> dict[str, Any]:
        """What the scene page's PlexSync tab asks (ui/plexsync.js): one plugin run through runPluginOperation."""
        return self.graphql(
            f'mutation($args: Map) {{ runPluginOperation(plugin_id: "{PLUGIN_ID}", args: $args) }}',
            {"args": {"mode": "scene_panel", "scene_id": scene_id}},
        )["runPluginOperation"]

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.stash.url + path, timeout=30)


class NewUser:
    """A Stash with a login and an API key, a Plex server owned by a plex.tv account, a small library whose
    files Stash and Plex see under different folders, PlexSync's source published; nothing installed yet."""

    def __init__(self, tmp: Path, source: Path, python: str, readme: Readme) -> None:
        self.tmp, self.python, self.readme = tmp, python, readme
        stash_prefix, plex_prefix = readme.path_rule.split("=")
        self.stash_root, self.plex_root = f"{stash_prefix}/videos", f"{plex_prefix}/videos"
        self.stash = StashEmulator(api_key=STASH_API_KEY, login=True).start()
        self.plex = PlexEmulator(token=PLEX_TOKEN).start()
        self.plextv = PlexTvEmulator().start()
        self.plextv.add_server(
            "Living room", self.plex.library.machine_identifier, PLEX_TOKEN, [Connection(self.plex.url)]
        )
        self.section = self.plex.add_section(title="Movies", kind="movie", locations=[self.plex_root])
        self.scenes: list[tuple[str, int, str]] = []
        for n in range(SCENES):
            title = f"Scene {n} as titled in Stash"
            scene_id = self.stash.add_scene(
                title=title, files=({"path": f"{self.stash_root}/scene-{n}.mp4", "size": 1000 + n, "duration": 60.0},)
            )
            self.scenes.append(
                (scene_id, self.plex.add_movie(self.section, files=[f"{self.plex_root}/scene-{n}.mp4"]), title)
            )
        # Published as GitHub Pages would, at the README's path.
        self.site = tmp / "site"
        url_path = Path(readme.source_url.split("://", 1)[1].split("/", 1)[1]).parent
        (self.site / url_path).parent.mkdir(parents=True)
        (self.site / url_path).symlink_to(source, target_is_directory=True)
        self.source_host = SourceHost(self.site).start()
        self.source_url = f"{self.source_host.url}/{url_path.as_posix()}/index.yml"
        self.packages = PackageManager(tmp / "plugins")
        self.browser = Browser(self.stash)
        self.host: PluginHost | None = None
        self.network_log = tmp / "network.log"

    @property
    def folder(self) -> Path:
        return self.packages.plugins_dir / self.readme.local_path / PLUGIN_ID

    def stash_loads_plugins(self) -> PluginHost:
        """Stash reloads its plugins after an install: the installed folder's, run with Stash's Python."""
        env = {"PLEXSYNC_PLEX_TV_URL": self.plextv.url, "PLEXSYNC_TEST_NETWORK_LOG": str(self.network_log)}
        self.host = PluginHost(self.folder, self.stash, python=self.python, env=env, stash_dir=self.tmp / "stash")
        self.host.attach()
        return self.host

    def worker_log(self) -> str:
        path = self.folder / "data" / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for pid in STARTED.findall(self.worker_log()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGKILL)
        if self.host is not None:
            self.host.detach()
        for server in (self.source_host, self.stash, self.plex, self.plextv):
            server.stop()


@pytest.fixture
def new_user(tmp_path: Path, source_dir: Path, bare_python: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[NewUser]:
    for name in [k for k in os.environ if k.startswith(("PLEXSYNC_", "PYTHON", "VIRTUAL_ENV"))]:
        monkeypatch.delenv(name)  # Stash's environment: nothing of PlexSync's (no PLEXSYNC_STASH_API_KEY)
    world = NewUser(tmp_path, source_dir, bare_python, Readme.read())
    try:
        yield world
    finally:
        world.stop()
        print(f"--- worker.log ---\n{world.worker_log()}")
        if world.host is not None:
            for invocation in world.host.invocations:
                print(f"--- {invocation.kind} {invocation.name} ---\n{invocation.shown_text('debug')}")


# -- following the steps ----------------------------------------------------------------------------------------


def shown(invocation: Invocation) -> str:
    return invocation.shown_text()


def finished(task: RunningTask, timeout: float = 120) -> Invocation:
    invocation = task.wait(timeout)
    assert invocation.error is None and not invocation.timed_out, shown(invocation)
    return invocation


def run_task(host: PluginHost, name: str, timeout: float = 120) -> Invocation:
    return finished(host.start_task(name), timeout)


def test_a_stash_user_follows_the_readme_and_every_scene_reaches_plex(new_user: NewUser):
    readme, plex, browser = new_user.readme, new_user.plex, new_user.browser
    assert not [name for name in os.environ if "STASH_API_KEY" in name]

    # 1. Add Source (name, URL, local path); the package is listed under it; tick it, Install.
    source = Source(new_user.source_url, readme.local_path, readme.source_name)
    new_user.packages.sources.append(source)
    [listed] = new_user.packages.list_remote(source.url)
    assert (listed.name, listed.id) == (readme.package_name, PLUGIN_ID)
    zip_url = new_user.packages.resolve(source.url, listed.path)
    assert hashlib.sha256(requests.get(zip_url, timeout=30).content).hexdigest() == listed.sha256
    folder = new_user.packages.install(listed.id, source.url)  # checks the zip's sha256 against the index's
    assert folder == new_user.tmp / "plugins" / readme.local_path / PLUGIN_ID
    installed = yaml.safe_load((folder / "manifest").read_text())
    assert (installed["name"], installed["source_repository"]) == (readme.package_name, source.url)
    host = new_user.stash_loads_plugins()
    assert host.manifest.name == readme.settings_page  # the plugin's page: Settings > Plugins > Stash Plex Sync
    tasks = {task.name for task in host.manifest.tasks}
    assert {readme.link_task, readme.doctor_task, readme.sync_task, readme.status_task} <= tasks
    assert readme.path_setting in {setting.display_name for setting in host.manifest.settings.values()}

    # 2. Link Plex account: the code appears in Stash's log; the user enters it at plex.tv/link.
    task = host.start_task(readme.link_task)
    code_line = re.escape(readme.code_line).replace(re.escape(readme.code_example), "([A-Z0-9]{4})") + r"\b"

    def code_shown() -> str | None:
        for m in task.invocation.shown():
            if m.level == "info" and re.match(code_line, m.message):
                return m.message
        assert not task.done, f"the task ended without the README's line:\n{shown(task.invocation)}"
        return None

    line = wait_until(code_shown, timeout=120, message="the code in Stash's log")
    assert not task.done  # waiting for the user
    enter_code(new_user.plextv, re.match(code_line, line).group(1))
    link = finished(task)
    # The first run set PlexSync up from the package itself and said so, in its own run.
    setup = f"PlexSync: set up: {len(lock.read(str(REPO)))} Python packages installed from the plugin package in "
    assert [m for m in link.messages("info") if m.startswith(setup)], shown(link)
    assert "PlexSync set-up: installing huey" in shown(link)
    assert [line for line in link.shown() if line.level != "info"] == [], shown(link)
    page = browser.plugin_page()
    assert (page["plex_url"], page["plex_token"]) == (plex.url, PLEX_TOKEN)
    for setting in SYNC_SETTINGS:  # and the page shows what is in force: every default, stored
        if setting.default is not None:
            assert page[setting.key] == page_value(setting, setting.default), setting.key

    # 3. Stash and Plex see the files under other folders: Path rules on the plugin's page.
    assert not any(item_path(plex, rating_key).startswith(new_user.stash_root) for _, rating_key, _ in new_user.scenes)
    browser.save_setting(readme.path_setting, readme.path_rule)
    assert browser.plugin_page() == {**page, "path_map": readme.path_rule}

    # 4. Doctor: Stash, Plex and the path rules checked in one run, all well; then Sync all scenes.
    doctor = run_task(host, readme.doctor_task)
    assert [line for line in doctor.shown() if line.level != "info"] == [], shown(doctor)
    for part in ("Stash", "Settings", "Plex", "Path rules"):
        assert f"PlexSync Doctor: [ok] {part}: " in shown(doctor), part
    # Stash has a login: Doctor checked Stash with the API key the plugin took from Stash for its worker
    assert "Stash's API key (PlexSync hands it to the worker it starts) is accepted" in shown(doctor)
    assert f"Path rules: {SCENES} of {SCENES} sampled Stash files are found in Plex" in shown(doctor)
    assert doctor.shown()[-1].message == "PlexSync Doctor: Everything PlexSync needs works."
    assert not [setup_line for setup_line in doctor.messages() if setup_line.startswith(setup)]  # said once
    assert all(plex.item(rating_key).title != title for _, rating_key, title in new_user.scenes)
    sync = run_task(host, readme.sync_task, timeout=180)
    assert [line for line in sync.shown() if line.level != "info"] == [], shown(sync)
    assert re.search(rf"^PlexSync {readme.sync_task}: sync all: {SCENES} of {SCENES} scenes done ", shown(sync), re.M)
    for scene_id, rating_key, title in new_user.scenes:
        assert plex.item(rating_key).title == title, scene_id

    # From then on every scene edited reaches Plex within seconds; its page's PlexSync tab says so.
    scene_id, rating_key, _ = new_user.scenes[2]
    browser.edit_scene_title(scene_id, "Renamed on Stash's scene page")
    wait_until(lambda: plex.item(rating_key).title == "Renamed on Stash's scene page", timeout=60, message="the edit")
    javascript = browser.get(f"/plugin/{PLUGIN_ID}/javascript")  # the tab the scene page draws
    assert javascript.ok and re.search(
        r'"plexsync-tab-title" \},\s*"' + re.escape(readme.scene_tab) + '"', javascript.text
    )
    assert all(f'"{words}"' in javascript.text for words in readme.tab_says)
    panel = browser.scene_panel(scene_id)
    assert (panel["state"], panel["label"]) == ("synced", "In Plex"), panel
    [item] = panel["items"]
    assert (item["rating_key"], item["matched_by"]) == (rating_key, "path") and item["open_url"], panel
    status = run_task(host, readme.status_task)
    assert [line for line in status.shown() if line.level != "info"] == [], shown(status)
    assert "0 dead letter(s)" in shown(status) and "all good" in status.shown()[-1].message

    assert_no_secret_anywhere(new_user)


def item_path(plex: PlexEmulator, rating_key: int) -> str:
    return plex.library.items[rating_key].files[0]


def assert_no_secret_anywhere(new_user: NewUser) -> None:
    """Stash's API key, the Plex token, plex.tv's account token and the session cookies: in no log, no file of the
    plugin's folder (its data, its set-up), no plugin answer or line Stash logged, no worker's environment."""
    assert new_user.host is not None
    cookies = [inv.stdin["server_connection"]["SessionCookie"]["Value"] for inv in new_user.host.invocations]
    secrets = {
        "Stash's API key": STASH_API_KEY,
        "the Plex token": PLEX_TOKEN,
        "the plex.tv account token": new_user.plextv.account_token,
        **{f"a session cookie ({n})": cookie for n, cookie in enumerate([*cookies, new_user.browser.cookie])},
    }
    places = {"worker.log": new_user.worker_log().encode()}
    for path in new_user.folder.rglob("*"):
        if path.is_file():
            places[str(path.relative_to(new_user.folder))] = path.read_bytes()
    for invocation in new_user.host.invocations:
        text = invocation.stdout + "\n".join(line.message for line in invocation.stash_log)
        places[f"{invocation.kind} {invocation.name}"] = text.encode()
    pids = [int(pid) for pid in STARTED.findall(new_user.worker_log())]
    assert pids, "the plugin started no worker"
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            places[f"the environment of worker {pid}"] = Path(f"/proc/{pid}/environ").read_bytes()
    assert any("data/" in place for place in places) and any(".deps/" in place for place in places)
    for place, content in places.items():
        for name, secret in secrets.items():
            assert secret.encode() not in content, f"{name} leaked into {place}"
    assert new_user.network_log.exists() is False, new_user.network_log.read_text()  # nothing beyond this machine
