"""Folder scans are claimed once per folder per interval in the shared state DB,
and outside-Plex scenes are news only once."""

import multiprocessing

import pytest

from plexsync.config import Bootstrap
from plexsync.state import db, placement, scans


@pytest.fixture
def state(tmp_path):
    db.open_state(_bootstrap(tmp_path))
    yield tmp_path
    db._bound = None  # the next test opens its own file


def test_a_folder_is_claimed_once_per_interval(state):
    assert scans.claim(1, "/m/new")
    assert not scans.claim(1, "/m/new")
    assert scans.claim(2, "/m/new")  # another section
    assert scans.claim(1, "/m/new", interval=0)  # the interval is over
    scans.release(1, "/m/new")
    assert scans.claim(1, "/m/new")
    assert scans.last_requested([(1, "/m/new"), (9, "/x")]) is not None
    assert scans.last_requested([(9, "/x")]) is None


def _bootstrap(data_dir):
    return Bootstrap.from_env({"PLEXSYNC_DATA_DIR": str(data_dir)})


def _claim(data_dir, results):
    db._bound = None
    db.open_state(_bootstrap(data_dir))
    results.put(scans.claim(3, "/shared/folder"))


def test_only_one_process_wins_a_claim(state):
    results = multiprocessing.get_context("fork").Queue()
    processes = [multiprocessing.get_context("fork").Process(target=_claim, args=(state, results)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert sorted(results.get(timeout=10) for _ in processes) == [False, False, False, True]


def test_an_outside_scene_is_news_once_per_path(state):
    assert placement.record_outside("7", "/private/a.mp4")
    assert not placement.record_outside("7", "/private/a.mp4")
    assert placement.record_outside("7", "/private/b.mp4")
    placement.clear("7")
    assert placement.outside_scenes() == []


def test_scenes_waiting_for_a_scan_are_taken_once_per_library_and_old_waits_are_forgotten(state):
    """The waits news of a Plex scan ends (plexsync.worker.live): taken, they are gone;
    a day-old wait is dropped (its job synced or became a dead letter long ago)."""
    import time

    scans.wait("7", (1, 2))
    scans.wait("8", (1,))
    scans.wait("7", (1,))  # again: still one wait
    assert scans.take_waiting(1) == ["7", "8"]
    assert scans.take_waiting(1) == []
    assert scans.take_waiting(2) == ["7"]
    scans.wait("9", (3,))
    scans.ScanWait.update(since=time.time() - scans.FORGET_AFTER - 1).execute()
    assert scans.forget_old_waits() == 1
    assert scans.take_waiting(3) == []
