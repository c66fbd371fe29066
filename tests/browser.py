"""A real headless Chromium for the UI tests, driven by Playwright's Python package.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it):
Playwright is told its path and never downloads a browser of its own. The
emulated Stash page needs React and friends from the npm registry
(``emulators/stash/ui``: ``npm ci``, which ``.ci/run`` runs once per CI run;
a developer's first run of these tests runs it when ``node_modules`` is
missing). Tests skip, saying why, only when Chromium, Playwright or npm are
absent; with ``PLEXSYNC_REQUIRE_BROWSER=1`` (CI) they fail instead.

Launch flags known to work as root in a container: no sandbox (root), no GPU,
no QUIC, nothing that phones home (first-run, background networking,
component updates, sync); Playwright adds ``--headless`` and a new empty
profile directory of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.stash import webui

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    explicit = os.environ.get("PLEXSYNC_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((path for path in CHROMIUM_CANDIDATES if Path(path).is_file()), None)


def _skip(reason: str) -> None:
    if os.environ.get("PLEXSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the UI tests are required (PLEXSYNC_REQUIRE_BROWSER=1) but cannot run: {reason}")
    pytest.skip(reason)


def ensure_npm_packages() -> None:
    """``npm ci`` in the emulator's UI folder when its packages are missing (CI did it already)."""
    if not webui.vendor_missing():
        return
    npm = shutil.which("npm")
    if npm is None:
        _skip(f"npm is not installed: the Stash emulator's page needs `npm ci` in {webui.UI_DIR}")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=webui.UI_DIR, check=True, timeout=600
    )
    assert not webui.vendor_missing(), webui.vendor_missing()


def launch() -> Iterator[object]:
    """One Chromium for the whole test session (a generator for a fixture)."""
    path = chromium_path()
    if path is None:
        _skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("the playwright package is not installed (requirements-dev.txt)")
    ensure_npm_packages()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
