"""The demo a new user runs first (``python3 run.py demo``) works, quickly, and cleans up after itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.support import REPO


def test_demo_shows_the_edits_reaching_plex():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(REPO / "demo.py"), "--scenes", "30"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert "before the edit" in output and "after the edit" in output
    for field in ("title", "genres", "actors", "studio", "date", "locked"):
        assert f"\n  {field} " in output, field
    assert "PlexSync: open plex.tv/link and enter " in output  # Plex URL and token linked by code
    assert "code entered at plex.tv/link (emulated)" in output
    assert "all edits reached Plex" in output
    assert '"Sync all scenes" synced' in output
    assert "Stash emulator  http://127.0.0.1:" in output
    assert elapsed < 60, f"the demo took {elapsed:.0f} s"
