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
* **Views and marks**: Plex's ``viewCount`` rises with each view and each
  mark as played. A view writes a history entry; a mark writes none since PMS
  1.40 (before, one per item, and one per episode of a marked show or season:
  ../shared/plex-facts.md). So a rise the item's history entries do not explain
  is marks; entries of one account at one second for several items are a
  show's or season's mark (nobody watches two items to their ends in one
  second). A single movie or episode marked on a server before 1.40 cannot be
  told from a view: it counts as one.
* **Time watched** (added to Stash's ``play_duration``, which Stash adds up)
  is an estimate: Plex keeps no time watched, only where playback stopped and
  how many views ended. It is how far the resume point moved since the last
  copy, plus the rest of the item for each view that ended since; a mark adds
  nothing. At first sight of an item only its resume point counts.
* **Resume points**: Stash keeps no date for its own, so a resume point set in
  Stash's player is dated by the newest play Stash's player added (``play_history``
  without PlexSync's plays; Stash's player adds one as a session starts) and by
  when PlexSync last saw the scene's resume point; Plex's replaces it only
  when Plex's ``lastViewedAt`` is later than both.
* **Ratings**: :mod:`plexsync.ratings` (the same rules serve both directions).
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


def watched_ms(before: Applied, views: int, marked: bool, view_offset: int, duration_ms: int) -> int:
    """Milliseconds watched since the last copy, as far as Plex's state tells:
    ``views`` ended (history entries) since, ``marked``: a mark as played
    reset the resume point since.

    First sight of an item counts only its resume point: views from before
    PlexSync copied anything are in the history, not in the duration.
    """
    if before.view_count is None:
        return view_offset
    offset_before = before.view_offset or 0
    if views > 0:
        return max(0, duration_ms - offset_before) + (views - 1) * duration_ms + view_offset
    if marked:
        return view_offset  # watched since the mark, from its beginning
    if view_offset >= offset_before:
        return view_offset - offset_before
    return view_offset  # started again from the beginning


def mark_batches(entries: list[tuple[int, int, int, int]]) -> set[int]:
    """History ids that are a show's or season's mark as played: (history id,
    account, viewedAt, rating key) entries of one account at one second for
    more than one item."""
    items: dict[tuple[int, int], set[int]] = {}
    for _, account, viewed_at, rating_key in entries:
        items.setdefault((account, viewed_at), set()).add(rating_key)
    return {number for number, account, viewed_at, _ in entries if len(items[(account, viewed_at)]) > 1}


def plex_is_newer(plex_at: int | None, stash_at: float | None, stash_seen_at: float | None) -> bool:
    """Whether Plex's resume point (set at ``plex_at``) is newer than one Stash's own
    player set: Stash's is dated by its player's newest play (``stash_at``) and
    by when PlexSync last saw the scene's resume point (``stash_seen_at``)."""
    if plex_at is None:
        return False
    return plex_at > max(stash_at or 0.0, stash_seen_at or 0.0)


def plex_value(rating100: int | None) -> float | None:
    """Stash's rating100 on Plex's 0-10 scale (one decimal)."""
    return None if rating100 is None else round(rating100 / 10, 1)
