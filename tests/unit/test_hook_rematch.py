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


def test_a_rematch_job_wants_a_listing_newer_than_its_hook_never_than_its_first_attempt():
    import time

    from plexsync.sync.worker import changed_since

    now = time.time()
    assert changed_since(False, now, None) is None
    assert changed_since(True, now - 30, None) == now - 30  # the hook's time: listings since then serve it
    assert now <= changed_since(True, now + 3600, None) <= time.time()  # a hook clock ahead: the attempt's start
    assert now <= changed_since(True, None, None) <= time.time()  # a job queued by an older PlexSync
    assert now <= changed_since(True, float("nan"), None) <= time.time()
