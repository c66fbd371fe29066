"""The exit statuses of ``plexsync``: one per kind of problem, so a script or a
monitoring check can tell what is wrong without reading the text.

When several problems are found, the command exits with the most basic one
(the lowest number): a Plex that cannot be reached also hides every path rule.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    #: 1 and 2 are click's: an unexpected error, and a command used wrongly.
    USAGE = 2
    SETTINGS = 3  # a setting is missing or invalid
    STASH_UNREACHABLE = 4  # Stash does not answer at PLEXSYNC_STASH_URL
    STASH_AUTH = 5  # Stash wants a login: the API key is missing or refused
    PLEX_UNREACHABLE = 6  # Plex does not answer at "Plex URL"
    PLEX_AUTH = 7  # Plex refused the Plex token
    PATH_RULES = 8  # Stash's files are not found in Plex: "Path rules" do not match
    WORKER_DOWN = 9  # jobs are waiting and no worker is running
    OUTAGE = 10  # the worker cannot reach Plex or Stash right now
    DEAD_LETTERS = 11  # some syncs failed for good
    SYNC_FAILED = 12  # `plexsync sync`: some scenes failed
    DATA_FOLDER = 13  # the data folder cannot be written (its disk is full or read-only)

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "no problem",
    ExitCode.USAGE: "the command was used wrongly",
    ExitCode.SETTINGS: "a setting is missing or invalid",
    ExitCode.STASH_UNREACHABLE: "Stash cannot be reached",
    ExitCode.STASH_AUTH: "Stash's API key is missing or refused",
    ExitCode.PLEX_UNREACHABLE: "Plex cannot be reached",
    ExitCode.PLEX_AUTH: "Plex refused the token",
    ExitCode.PATH_RULES: "Stash's files are not found in Plex (path rules)",
    ExitCode.WORKER_DOWN: "jobs wait and no worker is running",
    ExitCode.OUTAGE: "the worker cannot reach Plex or Stash",
    ExitCode.DEAD_LETTERS: "some syncs failed for good (dead letters)",
    ExitCode.SYNC_FAILED: "some scenes failed to sync",
    ExitCode.DATA_FOLDER: "the data folder cannot be written (full or read-only disk)",
}


def worst(codes: list[ExitCode]) -> ExitCode:
    """The exit status for several problems: the most basic one."""
    problems = [code for code in codes if code != ExitCode.OK]
    return min(problems) if problems else ExitCode.OK
