"""The consumer's log filters and the summariser of repeated failures."""

from __future__ import annotations

import logging

import pytest

from plexsync.errors import ItemNotInPlex
from plexsync.worker.logs import (
    ExpectedFailureFilter,
    FailureSummary,
    JobChatterFilter,
    first_quoted,
    folder_of,
    reason_pattern,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def captured() -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger("plexsync.test.summary")
    handler = Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


def test_first_failure_in_full_then_one_summary_line_per_interval(captured):
    logger, handler = captured
    clock = Clock()
    summary = FailureSummary(logger, interval=60, clock=clock)
    for i in range(20):
        summary.report(
            "k", logging.WARNING, f"scene {i} failed: full reason", "{n} scene(s) wait for Plex", f"scene {i}"
        )
        clock.now += 1
    assert handler.lines == ["scene 0 failed: full reason"]
    summary.flush(everything=False)  # the interval is not over: nothing yet
    assert len(handler.lines) == 1
    clock.now += 60
    summary.flush(everything=False)
    assert handler.lines[1] == "19 scene(s) wait for Plex (19 more time(s) in the last 60 s; latest: scene 19)"
    # the next failure of that kind starts a new interval with a full line
    summary.report("k", logging.WARNING, "scene 99 failed: full reason", "{n} scene(s) wait for Plex", "scene 99")
    assert handler.lines[2] == "scene 99 failed: full reason"


def test_kinds_are_summarised_apart_and_a_lone_failure_has_no_summary(captured):
    logger, handler = captured
    clock = Clock()
    summary = FailureSummary(logger, interval=60, clock=clock)
    summary.report("a", logging.WARNING, "a0", "{n} a", "scene 1")
    summary.report("b", logging.ERROR, "b0", "{n} b", "scene 2")
    summary.report("a", logging.WARNING, "a1", "{n} a", "scene 3")
    summary.report("a", logging.WARNING, "a2", "{n} a", "scene 3")  # same scene again: counted, one subject
    summary.flush()
    assert handler.lines == ["a0", "b0", "1 a (2 more time(s) in the last 1 s; latest: scene 3)"]


def test_reason_pattern_masks_paths_and_ids_but_keeps_http_statuses():
    one = "no Plex item has the file '/media/a.mp4' (Stash path '/data/a.mp4') scene 12"
    two = "no Plex item has the file '/media/b.mp4' (Stash path '/data/b.mp4') scene 977"
    assert reason_pattern(one) == reason_pattern(two.replace("977", "13"))
    assert reason_pattern("Plex answered HTTP 503") == "Plex answered HTTP 503"
    assert first_quoted(one) == "/media/a.mp4"
    assert folder_of("/media/plex/movies/a.mp4") == "/media/plex/movies"
    assert folder_of("D:\\Videos\\a.mp4") == "D:\\Videos"


def _record(msg: str, level: int = logging.INFO, exc: BaseException | None = None, name: str = "huey"):
    exc_info = (type(exc), exc, None) if exc else None
    return logging.LogRecord(name, level, __file__, 1, msg, (), exc_info)


def test_huey_per_job_lines_become_debug_and_are_dropped_unless_verbose():
    huey_logger = logging.getLogger("huey")
    old = huey_logger.level
    try:
        huey_logger.setLevel(logging.INFO)
        chatter = JobChatterFilter()
        for message in (
            "Executing plexsync.tasks.sync_scene: 1b2c",
            "plexsync.tasks.sync_scene: 1b2c executed in 0.012s",
            "Task 1b2c raised RetryTask, retrying.",
            "Requeueing 1b2c, 3 retries",
            "Added task 1b2c to schedule, eta 2026-12-01 23:36:05",
        ):
            assert chatter.filter(_record(message)) is False, message
        assert chatter.filter(_record("Huey consumer started with 2 thread")) is True
        huey_logger.setLevel(logging.DEBUG)
        record = _record("Executing plexsync.tasks.sync_scene: 1b2c")
        assert chatter.filter(record) is True and record.levelname == "DEBUG"
    finally:
        huey_logger.setLevel(old)


def test_a_classified_failure_is_never_an_unhandled_exception_traceback():
    huey_logger = logging.getLogger("huey")
    old = huey_logger.level
    try:
        huey_logger.setLevel(logging.INFO)
        record = _record("Unhandled exception in task 1b2c.", logging.ERROR, ItemNotInPlex("no Plex item has the file"))
        assert ExpectedFailureFilter().filter(record) is False
        huey_logger.setLevel(logging.DEBUG)
        record = _record("Unhandled exception in task 1b2c.", logging.ERROR, ItemNotInPlex("no Plex item has the file"))
        assert ExpectedFailureFilter().filter(record) is True
        assert record.getMessage() == "task 1b2c failed: ItemNotInPlex: no Plex item has the file"
        assert record.exc_info is None and record.levelno == logging.DEBUG
        bug = _record("Unhandled exception in task 1b2c.", logging.ERROR, KeyError("x"))
        assert ExpectedFailureFilter().filter(bug) is True and bug.exc_info is not None  # bugs keep their traceback
    finally:
        huey_logger.setLevel(old)
