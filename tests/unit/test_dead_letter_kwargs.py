"""A dead letter keeps its job's keyword arguments, so that a retry runs the job as it was asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plexsync import dlq
from plexsync.config import Bootstrap
from plexsync.state import db


@pytest.fixture
def state(tmp_path: Path) -> None:
    db.open_state(Bootstrap.from_env({"PLEXSYNC_DATA_DIR": str(tmp_path)}))


def test_a_flag_set_by_any_failure_of_the_job_stays_set(state):
    dlq.record("plexsync.tasks.sync_scene", ["5"], "SceneNotFound", "gone", attempts=1, kwargs={"force": True})
    letter = dlq.record("plexsync.tasks.sync_scene", ["5"], "SceneNotFound", "gone", attempts=1, kwargs={})
    assert json.loads(letter.kwargs) == {"force": True} and letter.failures == 2
    letter = dlq.record("sync_page", [0, 100], "X", "y", attempts=1, kwargs={"done": 40, "force": False})
    letter = dlq.record("sync_page", [0, 100], "X", "y", attempts=1, kwargs={"done": 70})
    assert json.loads(letter.kwargs) == {"done": 70, "force": False}  # the newest counts


def test_a_job_without_keywords_and_an_unreadable_row_retry_without_them(state):
    letter = dlq.record("sync_scene", ["6"], "X", "y", attempts=1)
    assert json.loads(letter.kwargs) == {}
    assert dlq._loads("not json") == {} and dlq._loads("[1]") == {} and dlq._loads(None) == {}
