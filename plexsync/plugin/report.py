"""A task's result as lines in Stash's log, where a user reads it.

Stash logs a task's ``output`` at Debug (``internal/manager/task_plugin.go``:
"Plugin returned: ...") and its log shows Info and above by default, so an
answer left in ``output`` is never seen. Every task therefore also writes its
result to stderr as Stash log lines (:func:`plexsync.plugin.protocol.log`):
info, warning where something needs the user, error where nothing works.
The ``output`` stays as it was for whatever reads it (``runPluginOperation``,
scripts).

Stash's log page lists the newest line first, so the lines are written
details first and the summary last: the summary sits on top, the details
under it. Each line names its task ("PlexSync Doctor: ...") because other
plugins' and Stash's own lines interleave with it, and each is one line
(Stash makes every stderr line an entry of its own) with secrets removed.
"""

from __future__ import annotations

from collections.abc import Iterable

INFO, WARNING, ERROR = "info", "warning", "error"
#: At most this many detail lines per report; the rest are counted in one line.
MAX_LINES = 40

_told = 0


def _one_line(text: str) -> str:
    from plexsync.redact import redact

    return " ".join(redact(text).split())[:1000]


def tell(title: str, lines: Iterable[tuple[str, str]], summary: tuple[str, str] | None = None) -> None:
    """Write ``lines`` (level, text), then ``summary``, as ``PlexSync <title>: text`` lines in Stash's log."""
    global _told
    from plexsync.plugin.protocol import log

    lines = [(level, text) for level, text in lines if text.strip()]
    if len(lines) > MAX_LINES:
        rest = lines[MAX_LINES:]
        worst = max((level for level, _ in rest), key=(INFO, WARNING, ERROR).index)
        more = f"... and {len(rest)} more line(s); Stash's log at level Debug shows the task's whole output"
        lines = [*lines[:MAX_LINES], (worst, more)]
    for level, text in [*lines, *([summary] if summary else [])]:
        log(level, _one_line(f"PlexSync {title}: {text}"))
        _told += 1


def told() -> bool:
    """Whether this process has written a report line (a task that did not gets its output written as one)."""
    return _told > 0
