"""A task's report in Stash's log (plexsync.plugin.report): one Stash log line per line, secrets out."""

from __future__ import annotations

import pytest

from plexsync.plugin import report
from plexsync.redact import register_secret


def test_each_line_is_a_stash_log_line_named_for_its_task_and_the_summary_comes_last(capsys: pytest.CaptureFixture):
    register_secret("s3cret-token-xyz")
    report.tell("Doctor", [("info", "a\nwrapped line"), ("warning", "token s3cret-token-xyz refused")], ("info", "ok"))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "\x01i\x02PlexSync Doctor: a wrapped line",
        "\x01w\x02PlexSync Doctor: token *** refused",
        "\x01i\x02PlexSync Doctor: ok",
    ]
    assert report.told()


def test_a_long_report_is_cut_with_the_worst_level_of_what_was_cut(capsys: pytest.CaptureFixture):
    lines = [("info", f"line {i}") for i in range(report.MAX_LINES)] + [("warning", "late"), ("info", "later")]
    report.tell("List dead letters", lines, ("warning", "summary"))
    err = capsys.readouterr().err.splitlines()
    assert len(err) == report.MAX_LINES + 2
    assert err[-2] == (
        "\x01w\x02PlexSync List dead letters: ... and 2 more line(s); Stash's log at level Debug shows the task's "
        "whole output"
    )
