"""``python -m emulators.plex``: documented, and serving its library in the foreground."""

from __future__ import annotations

import subprocess
import sys

import pytest
from plexapi.server import PlexServer

from tests.support import REPO


def test_help_documents_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators.plex", "--help"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for option in ("--port", "--token", "--movies"):
        assert option in result.stdout


@pytest.mark.parametrize(("extra", "movies"), [(["--movies", "25"], 25), ([], 2)])
def test_serves_its_library_until_stopped(extra: list[str], movies: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.plex", "--port", "0", "--token", "cli-token", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()  # printed once listening
        assert url.startswith("http://127.0.0.1:")
        server = PlexServer(url, "cli-token", timeout=5)
        sections = {s.type: s for s in server.library.sections()}
        assert len(sections["movie"].search(libtype="movie", container_size=10)) == movies
        assert len(sections["show"].searchEpisodes()) == 2
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
