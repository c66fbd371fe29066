"""Pure rules of the copy from Plex into Stash: the path back, the units, the
time watched, and which rating wins. No I/O here, so all of it is unit-tested.

* **Path back**: a Plex file is found in Stash under every path that the path
  rules could have turned into it (the rules reversed: a rule's Plex prefix
  replaced by its Stash prefix, in the Stash side's separators). A candidate
  counts only when the rules, applied forwards to the Stash file, give the
  Plex path again (:func:`same_file`), so both directions agree on every
  match, Windows case and Unicode forms included. Stash's path filter is SQL
  ``LIKE`` without an escape (``folder || sep || basename LIKE ?``, stashapp/stash
  ``getPathSearchClause``): ``_`` and ``%`` in a name match more, which the
  forward check drops. ``LIKE`` compares code points, so a name Stash stores
  in another Unicode form than Plex reports (NFD from a macOS share, NFC from
  Plex on Linux) is not found as it is: a path with accents is also looked
  up in its other form.
* **Units**: Plex ``viewOffset`` and ``duration`` are milliseconds, Stash's
  ``resume_time`` and ``play_duration`` seconds; Plex ``userRating`` is 0-10,
  Stash's ``rating100`` 0-100 (x10).
* **Time watched** (added to Stash's ``play_duration``, which Stash adds up):
  how far the resume point moved since the last copy, plus the rest of the
  item for each view finished since then.
* **Ratings**: when only one side changed since the last copy, that side's;
  when both did, the newer change (Plex ``lastRatedAt`` against the scene's
  ``updated_at``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from plexsync.matching.paths import PathMap, is_under, path_key, split


def _reversed(plex_path: str, path_map: PathMap) -> list[str]:
    if not path_map.rules:
        return [plex_path]
    found = []
    rules = sorted(path_map.rules, key=lambda rule: len(split(rule.plex_prefix).parts), reverse=True)
    for rule in rules:
        if not is_under(plex_path, rule.plex_prefix):
            continue
        plex, prefix, stash = split(plex_path), split(rule.plex_prefix), split(rule.stash_prefix)
        candidate = stash.join(stash.parts + plex.parts[len(prefix.parts) :])
        if candidate not in found:
            found.append(candidate)
    return found


def stash_paths(plex_path: str, path_map: PathMap) -> list[str]:
    """Every Stash path the rules could have turned into ``plex_path``
    (longest Plex prefix first), then each in its other Unicode forms."""
    found = _reversed(plex_path, path_map)
    for candidate in list(found):
        for form in ("NFC", "NFD"):
            other = unicodedata.normalize(form, candidate)
            if other not in found:
                found.append(other)
    return found


def same_file(stash_path: str, plex_path: str, path_map: PathMap) -> bool:
    return path_key(path_map.to_plex(stash_path)) == path_key(plex_path)


def rating100(user_rating: float) -> int:
    """Plex's 0-10 (half stars are odd numbers) as Stash's 0-100."""
    return max(0, min(100, round(user_rating * 10)))


def seconds(milliseconds: int) -> float:
    return milliseconds / 1000.0


@dataclass(frozen=True)
class Applied:
    """An item's view state as the last copy left it (None: never copied)."""

    view_count: int | None
    view_offset: int | None


def watched_ms(before: Applied, view_count: int, view_offset: int, duration_ms: int) -> int:
    """Milliseconds watched since the last copy, as far as Plex's state tells.

    First sight of an item counts only its resume point: views from before
    PlexSync copied anything are in the history, not in the duration.
    """
    if before.view_count is None:
        return view_offset
    offset_before = before.view_offset or 0
    finished = view_count - before.view_count
    if finished > 0:
        return max(0, duration_ms - offset_before) + (finished - 1) * duration_ms + view_offset
    if view_offset >= offset_before:
        return view_offset - offset_before
    return view_offset  # started again from the beginning


@dataclass(frozen=True)
class RatingChoice:
    write: int | None  # the rating100 to write into Stash; None: leave Stash as it is
    conflict: bool  # both sides changed: the newer won
    plex_won: bool


def choose_rating(
    plex_rating: float,
    plex_rated_at: int,
    stash_rating: int | None,
    stash_updated_at: float,
    stash_rating_before: int | None,
) -> RatingChoice:
    """Plex's rating changed at ``plex_rated_at``; what goes into Stash.

    Stash changed it too when its rating differs from what the last copy left
    (``stash_rating_before``); then the newer of the two changes wins.
    """
    wanted = rating100(plex_rating)
    if stash_rating == wanted:
        return RatingChoice(None, False, True)
    stash_changed = stash_rating is not None and stash_rating != stash_rating_before
    if not stash_changed:
        return RatingChoice(wanted, False, True)
    if plex_rated_at > stash_updated_at:
        return RatingChoice(wanted, True, True)
    return RatingChoice(None, True, False)
