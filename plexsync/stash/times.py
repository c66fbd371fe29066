"""Stash's ``created_at``/``updated_at`` as instants.

Stash writes them as RFC3339 text in its machine's local zone with the offset then in
force (``2026-10-25T02:30:00+02:00``; ``Z`` on a UTC machine) and compares and sorts
them as text (stashapp/stash ``pkg/sqlite/timestamp.go``, ``pkg/sqlite/sql.go``
``getTimestampWhereClause``; ../shared/stash-plugins.md, "Timestamps"). Text order is
time order only while the offset stays the same: after a daylight-saving fall-back,
``02:10:00+01:00`` is later than ``02:30:00+02:00`` and sorts before it. So PlexSync
reads the offsets and compares instants, and asks Stash for text windows widened by
:data:`OFFSET_SLACK` on each side, which hold every instant it wants whatever the
offsets, then keeps the instants it wants.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: How far two of Stash's offsets may differ around a window: every daylight-saving rule
#: moves clocks by at most 2 hours. A zone change between two offsets already seen is
#: added to it (:func:`slack`).
OFFSET_SLACK = timedelta(hours=3)


def parse(text: str) -> datetime:
    """Stash's time text as an aware datetime (its own offset kept; none means UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def instant(text: str) -> float:
    """Stash's time text as Unix seconds."""
    return parse(text).timestamp()


def text(moment: float, like: str | None = None) -> str:
    """``moment`` (Unix time, whole seconds) written as Stash writes its times (Go's RFC 3339,
    ``Z`` for UTC), in the zone of ``like`` (a time Stash served; none: UTC, the zone Stash
    keeps play dates in). A time compares right in a scene filter only in that form."""
    zone = parse(like).tzinfo if like else UTC
    written = datetime.fromtimestamp(int(moment), zone).isoformat(timespec="seconds")
    utc_as_z = written.endswith("+00:00") and (not like or like.endswith("Z"))
    return written.removesuffix("+00:00") + "Z" if utc_as_z else written


def slack(*texts: str) -> timedelta:
    """:data:`OFFSET_SLACK`, plus how far apart the offsets of ``texts`` are (Stash's zone was changed)."""
    offsets = [parse(text).utcoffset() or timedelta(0) for text in texts if text]
    return OFFSET_SLACK + (max(offsets) - min(offsets) if offsets else timedelta(0))


def wall_bound(text: str, shift: timedelta) -> str:
    """The local wall time of ``text`` moved by ``shift``, as text Stash compares with
    its stored values (``YYYY-MM-DDTHH:MM:SS``: the part that decides a text comparison
    of two RFC3339 times)."""
    wall = parse(text).replace(tzinfo=None) + shift
    return wall.strftime("%Y-%m-%dT%H:%M:%S")
