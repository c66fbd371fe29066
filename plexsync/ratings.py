"""Which rating stays when Plex's and Stash's differ: one rule for both directions
(the sync into Plex and the copy from Plex). Pure code.

Each side changed when its value differs from the one PlexSync last saw there:
not by ``updated_at``, which every edit, scan, Identify and Auto Tag run moves
(it only dates a change). When only one side changed, that side's rating goes
to the other. When both did, the *Rating conflicts* setting decides: ``newer``
(Plex's ``lastRatedAt`` against the scene's ``updated_at``, the latest Stash
edit and so an upper bound of when its rating changed), ``plex``, ``stash``,
or ``fill`` (no rating is overwritten; a side without one is filled). A rating
cleared on one side is a change like another.
"""

from __future__ import annotations

from dataclasses import dataclass

RATING_POLICIES = ("newer", "plex", "stash", "fill")


@dataclass(frozen=True)
class Side:
    """One side's rating on Plex's 0-10 scale (None: none), whether it changed since
    PlexSync last saw it, and when (best known; None: unknown)."""

    value: float | None
    changed: bool
    at: float | None = None


def rating_winner(policy: str, plex: Side, stash: Side) -> str | None:
    """ "plex" (Plex's rating goes to Stash), "stash" (Stash's to Plex) or None (leave both)."""
    if plex.value == stash.value:
        return None
    if policy == "fill":
        if stash.value is None:
            return "plex"
        return "stash" if plex.value is None else None
    if plex.changed != stash.changed:
        return "plex" if plex.changed else "stash"
    if not plex.changed:
        return None
    if policy in ("plex", "stash"):
        return policy
    return "plex" if (plex.at or 0.0) > (stash.at or 0.0) else "stash"
