"""Who played what: the server's accounts, their view state, and what a server
version writes into the watch history when an item is marked as played.

* **Accounts** (plexapi ``server.systemAccounts()``: ``GET /accounts``, not in
  the community spec): id 0 is the server's own account with an empty name,
  id 1 the owner (whose token PlexSync holds; plexapi's ``LibrarySection.history``
  asks for ``accountID=1``), managed and shared users have other ids and
  names (plexapi tests/test_server.py ``test_server_system_accounts``).
* **View state** (``viewCount``, ``viewOffset``, ``lastViewedAt``) is kept per
  account: what one account watches never shows in another's. Plex keys it by
  the item's guid (``metadata_item_settings``), so items sharing a guid (the
  same movie in two libraries) share it.
* **Mark as played** (``/:/scrobble``) raises ``viewCount``, clears
  ``viewOffset`` and moves ``lastViewedAt`` on every version. Before PMS
  1.40.0.7998 it also wrote a history entry per movie, episode or track (one per
  episode for a show or season); 1.40.0.7998 stopped that for movies, episodes
  and tracks ("No longer create a view history entry for items marked as played
  (#10888)"), and 1.40.1.8120 for shows and seasons too ("Marking a show or
  season as watched created view history entries (PM-935)"): plexapi pull
  requests #1366 and #1374, which changed its history tests accordingly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The version the emulator reports unless told otherwise (a current server).
DEFAULT_VERSION = "1.41.6.9685-d301f511a"
SYSTEM_ACCOUNT, OWNER_ACCOUNT = 0, 1
#: Managed users' ids are plex.tv user ids: large numbers.
FIRST_MANAGED_ID = 20_571_400
#: From these versions on a mark writes no history: for a leaf, and for a show or season.
LEAF_MARKS_UNRECORDED = (1, 40, 0, 7998)
FOLDER_MARKS_UNRECORDED = (1, 40, 1, 8120)


@dataclass
class ViewState:
    view_count: int = 0
    view_offset: int = 0  # milliseconds into the item where playback stopped; 0: not in progress
    last_viewed_at: int | None = None


def version_tuple(version: str) -> tuple[int, ...]:
    """``1.40.0.7998-c29d4c0c8`` -> (1, 40, 0, 7998)."""
    return tuple(int(n) for n in re.findall(r"\d+", version.split("-", 1)[0]))


def mark_writes_history(version: str, folder: bool) -> bool:
    """Whether marking an item as played writes history entries on this server version
    (``folder``: a show or season was marked, each of its episodes gets an entry)."""
    since = FOLDER_MARKS_UNRECORDED if folder else LEAF_MARKS_UNRECORDED
    return version_tuple(version) < since
