"""Issue #19: the PlexSync tab on Stash's scene page, in a real headless Chromium.

The Stash emulator serves a scene page built like Stash's (``emulators/stash/ui``:
its ``PluginApi`` follows Stash's own patch registry, React 17 and
react-bootstrap 1.6 from the npm registry), loads this folder's plugin UI
(``ui/plexsync.js``, through ``/plugin/StashPlexSync/javascript`` as Stash
serves it) and answers ``runPluginOperation`` by running the plugin as Stash
does (the plugin host: stdin JSON with ``args`` as given). Real consumers do
the syncs; Plex is the Plex emulator. One Chromium serves the whole module.

With ``PLEXSYNC_SCREENSHOT_DIR`` set (e.g. ``docs/images``), each state's tab
is saved there as ``scene-panel-<state>.png`` (the pictures in docs/scene-panel.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from emulators import play
from emulators.plugin_host import PluginHost
from tests import browser as chromium
from tests.integration.conftest import PLEX_TOKEN, STASH_API_KEY, World
from tests.support import REPO, wait_until

SCREENSHOTS = os.environ.get("PLEXSYNC_SCREENSHOT_DIR")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium.launch()


class StashPage:
    """One browser tab on the emulated Stash, logged in (a session cookie, as after Stash's login)."""

    def __init__(self, browser: object, world: World) -> None:
        self.world = world
        self.context = browser.new_context(viewport={"width": 900, "height": 1000})  # type: ignore[attr-defined]
        self.context.add_cookies([{"name": "session", "value": world.stash.new_session(), "url": world.stash.url}])
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, scene_id: str, query: str = "") -> None:
        self.page.goto(f"{self.world.stash.url}/scenes/{scene_id}{query}")
        self.page.wait_for_selector(".scene-header")

    def panel(self, state: str) -> str:
        """Open the PlexSync tab and wait until it shows ``state``; its text."""
        self.page.click(".nav-tabs .plexsync-tab-title")
        selector = f'.plexsync-panel[data-state="{state}"]'
        self.page.wait_for_selector(selector, timeout=60_000)
        return self.page.inner_text(selector)

    def panel_problem(self) -> str:
        """Open the PlexSync tab and wait until it says why it cannot show the scene; its text."""
        self.page.click(".nav-tabs .plexsync-tab-title")
        selector = ".plexsync-setup, .plexsync-problem"
        self.page.wait_for_selector(selector, timeout=60_000)
        return self.page.inner_text(selector)

    def shot(self, name: str) -> None:
        if SCREENSHOTS:
            folder = Path(SCREENSHOTS) if Path(SCREENSHOTS).is_absolute() else REPO / SCREENSHOTS
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"scene-panel-{name}.png"
            self.page.locator(".scene-tabs").screenshot(path=str(path))
            from PIL import Image  # a small PNG for the docs: 64 colours are plenty for text on a flat theme

            with Image.open(path) as shot:
                small = shot.convert("RGB").quantize(colors=64)
            small.save(path, optimize=True)

    def assert_no_secret(self) -> None:
        shown = self.page.content()
        for secret in (PLEX_TOKEN, STASH_API_KEY, *self.world.stash_sessions()):
            assert secret not in shown

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors


def operations(world: World) -> int:
    return sum(1 for invocation in world.host.invocations if invocation.kind == "operation")


@pytest.fixture
def stash_page(browser: object, world: World) -> Iterator[StashPage]:
    world.host.attach()
    page = StashPage(browser, world)
    yield page
    page.close()


def sync_by_hook(world: World, *scene_ids: str) -> None:
    for scene_id in scene_ids:
        world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])


def test_the_tab_shows_a_synced_a_waiting_an_outside_and_a_dead_lettered_scene(world: World, stash_page: StashPage):
    synced, rating_key = world.add_scene("in-plex", title="Sunrise Over Dunes")
    waiting, _ = world.add_scene("not-scanned-yet", title="Waiting Room", scanned=False)
    outside = world.stash.add_scene(
        title="Far Away", files=[{"path": "/data/stash/elsewhere/far.mp4", "size": 1000, "duration": 60.0}]
    )
    world.plex.add_movie(world.section_id, files=["/media/plex/movies/far.mp4"], title="far")  # same name, elsewhere
    dead = world.stash.add_scene(title="No File", files=[])  # no file, no match: a dead letter at once
    world.start_consumer(PLEXSYNC_RETRY_DELAY="300", PLEXSYNC_RETRY_MAX_DELAY="600")  # the scan wait lasts
    sync_by_hook(world, synced, waiting, outside, dead)
    wait_until(lambda: world.plex.item(rating_key).title == "Sunrise Over Dunes", timeout=60, message="synced")
    wait_until(lambda: len(world.dead_letters()) == 1, timeout=60, message="the dead letter")
    wait_until(lambda: len(world.state_rows("scene_match")) == 3, timeout=60, message="the other matches recorded")

    before = operations(world)
    stash_page.open(synced)
    text = stash_page.panel("synced")
    stash_page.page.wait_for_load_state("networkidle")
    assert operations(world) == before + 1  # one plugin run per scene page opened
    assert "In Plex" in text and f"In Plex as Plex item {rating_key}, last written" in text
    assert f"Plex item {rating_key} in Movies" in text and "(matched by path)" in text
    assert "title" in text and "Nothing copied from Plex yet." in text
    link = stash_page.page.get_attribute(".plexsync-open", "href")
    assert link is not None and PLEX_TOKEN not in link
    address = urlsplit(link)
    assert f"{address.scheme}://{address.netloc}{address.path}" == f"{world.plex.url}/web/index.html"
    route, _, query = address.fragment.partition("?")
    assert route == f"!/server/{world.plex.library.machine_identifier}/details"
    key = unquote(query.removeprefix("key="))
    assert key == f"/library/metadata/{rating_key}"
    item = requests.get(f"{world.plex.url}{key}", headers={"X-Plex-Token": PLEX_TOKEN}, timeout=10)
    assert 'title="Sunrise Over Dunes"' in item.text  # the link addresses the matched item on this server
    stash_page.assert_no_secret()
    stash_page.shot("synced")

    stash_page.open(waiting)
    text = stash_page.panel("waiting")
    assert "Waiting for Plex" in text
    assert "Waiting for Plex to scan /media/plex/movies: Plex has no item for this file yet." in text
    assert "a sync of this scene will be tried again" in text and "scan asked" in text
    stash_page.shot("waiting")

    stash_page.open(outside)
    text = stash_page.panel("outside")
    assert "Not in Plex" in text and "Outside every Plex library (/media/plex/elsewhere/far.mp4)" in text
    assert "add /data/stash/elsewhere=/media/plex/movies to Path rules (Plex has /media/plex/movies/far.mp4)" in text
    assert stash_page.page.query_selector(".plexsync-open") is None
    stash_page.shot("outside")

    stash_page.open(dead)
    text = stash_page.panel("failed")
    assert "Failed" in text and f"The sync failed for good: scene {dead} has no file in Stash" in text
    assert "dead letter" in text
    stash_page.shot("failed")


def test_sync_now_syncs_and_copy_from_plex_now_shows_a_play_made_in_plex(world: World, stash_page: StashPage):
    scene_id, rating_key = world.add_scene("sync-now", title="Before")
    world.start_consumer()
    sync_by_hook(world, scene_id)
    wait_until(lambda: world.plex.item(rating_key).title == "Before", timeout=60, message="first sync")
    world.stash.update_scene(scene_id, title="After")  # changed in Stash without a hook (as Auto Tag does)

    stash_page.open(scene_id)
    stash_page.panel("synced")
    stash_page.page.click(".plexsync-sync")
    stash_page.page.wait_for_selector(".plexsync-note:has-text('Synced.')", timeout=90_000)
    assert world.plex.item(rating_key).title == "After"
    text = stash_page.page.inner_text(".plexsync-panel")
    assert "written: title " in text  # the newest write: the title alone (the rest was unchanged)

    # A Plex client watches the item to the end (its HTTP report, as `python -m emulators.play` sends it).
    assert play.main([str(rating_key), "--watched", "--plex-url", world.plex.url, "--token", PLEX_TOKEN]) == 0
    stash_page.page.click(".plexsync-copy")
    stash_page.page.wait_for_selector(".plexsync-note:has-text('Copied from Plex.')", timeout=90_000)
    text = stash_page.page.inner_text(".plexsync-panel")
    assert "plays from Plex" in text and "1 copied" in text
    assert "resume point" in text and "none (watched to the end)" in text
    assert world.stash.scene(scene_id)["play_count"] == 1
    stash_page.shot("copied")


def test_the_tab_says_when_no_worker_runs_and_when_the_plugin_is_still_setting_up(
    world: World, stash_page: StashPage, tmp_path: Path
):
    scene_id, _ = world.add_scene("no-worker", title="Nobody Home")
    sync_by_hook(world, scene_id)  # queued; the tests' Stash runs the plugin in external worker mode, none started

    stash_page.open(scene_id)
    text = stash_page.panel("queued")
    assert "A sync of this scene is queued." in text
    assert "no worker is running (Worker mode is external, set by PLEXSYNC_WORKER_MODE in Stash's environment)" in text
    assert "syncs wait in the queue until the worker you run starts" in text
    stash_page.shot("no-worker")

    # The same plugin folder without its packages, run by a Python that has none of them (Stash's own Python
    # before `run.py setup`, or while an installer is still at work): the plugin answers with an error.
    bare_python = _python_without_packages()
    if bare_python is None:
        pytest.skip("no Python 3.11+ without PlexSync's packages on this machine to play Stash's own")
    bare = tmp_path / "plugins" / "StashPlexSync"
    for name in ("StashPlexSync.yml", "stash_plugin.py"):
        bare.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, bare / name)
    for folder in ("plexsync", "ui"):
        shutil.copytree(REPO / folder, bare / folder, ignore=shutil.ignore_patterns("__pycache__"))
    world.host.detach()
    PluginHost(bare, world.stash, python=bare_python, env=world.hook_env()).attach()
    stash_page.open(scene_id)
    text = stash_page.panel_problem()
    assert "PlexSync is still setting up" in text and "not set up" in text
    stash_page.shot("setting-up")


def _python_without_packages() -> str | None:
    """A system Python new enough for the entry script that lacks PlexSync's packages (Debian's, here)."""
    found = shutil.which("python3", path="/usr/bin:/bin")
    if found is None or Path(found).resolve() == Path(sys.executable).resolve():
        return None
    probe = (
        "import sys\nif sys.version_info < (3, 11): sys.exit(1)\n"
        "try:\n import peewee\nexcept ImportError: sys.exit(0)\nsys.exit(1)"
    )
    return found if subprocess.run([found, "-c", probe], check=False).returncode == 0 else None


@pytest.mark.parametrize(
    "query",
    ["?without=ScenePage.Tabs,ScenePage.TabContent", "?nobootstrap=1", "?nopatch=1"],
    ids=["components renamed", "no Bootstrap", "no patch API"],
)
def test_a_stash_without_what_the_tab_patches_keeps_its_page_working(world: World, stash_page: StashPage, query: str):
    scene_id, _ = world.add_scene("plain-page", title="Plain Page")
    before = operations(world)
    stash_page.open(scene_id, query)
    stash_page.page.wait_for_load_state("networkidle")
    assert stash_page.page.inner_text(".scene-header") == "Plain Page"
    stash_page.page.click(".nav-tabs a:has-text('File Info')")
    stash_page.page.wait_for_selector(".file-info-panel.active:has-text('/data/stash/movies/plain-page.mp4')")
    assert stash_page.page.query_selector(".plexsync-tab-title") is None
    assert operations(world) == before  # nothing asked of the plugin
    # no uncaught error on the page: StashPage.close checks
