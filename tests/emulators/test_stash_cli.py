"""``python -m emulators.stash``: the emulator as a standalone server for demos and manual runs."""

from __future__ import annotations

import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import REPO as REPO_ROOT

COUNT = "{ findScenes(filter: {per_page: 0}) { count } findStudios { studios { name parent_studio { name } } } }"


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the CLI and return it with the GraphQL URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.stash", "--port", "0", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            line = process.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+/graphql)", line)
            if match:
                return process, match.group(1)
            if not line:
                break
    process.kill()
    raise AssertionError(f"the emulator printed no URL: {process.communicate()[1]}")


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_help_documents_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators.stash", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for option in ("--port", "--api-key", "--scenes"):
        assert option in result.stdout


def test_generated_scenes_are_served_and_ctrl_c_stops_cleanly(running: list[subprocess.Popen[str]]) -> None:
    process, url = start("--scenes", "7")
    running.append(process)
    answer = requests.post(url, json={"query": COUNT}, timeout=10).json()["data"]
    assert answer["findScenes"]["count"] == 7
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def test_the_sample_library_behind_an_api_key(running: list[subprocess.Popen[str]]) -> None:
    process, url = start("--api-key", "cli-key")
    running.append(process)
    assert requests.post(url, json={"query": COUNT}, timeout=10).status_code == 401
    answer = requests.post(url, json={"query": COUNT}, headers={"ApiKey": "cli-key"}, timeout=10).json()["data"]
    assert answer["findScenes"]["count"] == 3
    assert {"name": "Northwind Network"} in [s["parent_studio"] for s in answer["findStudios"]["studios"]]
