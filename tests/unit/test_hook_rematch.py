"""A scene hook fired by a Stash scan (input null) asks the job to match afresh."""

import pytest

from plexsync import hooks
from plexsync.queue import producer


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(producer, "enqueue_scene", lambda scene_id, **kw: calls.append((scene_id, kw)))
    return calls


def test_a_scan_update_rematches(queued):
    hooks.handle({"type": "Scene.Update.Post", "id": 5, "input": None})
    assert queued == [("5", {"rematch": True})]


@pytest.mark.parametrize(
    "context",
    [
        {"type": "Scene.Update.Post", "id": 5, "input": {"id": "5", "title": "x"}, "inputFields": ["id", "title"]},
        {"type": "Scene.Create.Post", "id": 5, "input": None},  # a new file: nothing cached to doubt
    ],
)
def test_other_hooks_do_not(queued, context):
    hooks.handle(context)
    assert queued == [("5", {"rematch": False})]
