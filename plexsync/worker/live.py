"""Live while a worker runs: Plex's notifications turned into the jobs that would
otherwise wait for a schedule or a retry.

* A player stopped or paused (:class:`~plexsync.plex.notifications.PlaybackStopped`):
  the copy from Plex is queued now, when it is on (*Copy from Plex every (minutes)*
  above 0). It is the same job as the scheduled one and "Copy from Plex now": it reads
  Plex's history and view state from its watermarks, and claims each view, so a play
  seen live and again by the schedule is added once. The queue keeps one copy waiting
  (a burst of stops is one copy), and one that arrives while a copy runs waits for it.
* A scan added items to a library or ended there
  (:class:`~plexsync.plex.notifications.LibraryScanned`): the scenes whose sync waits
  for a scan of that library (:func:`plexsync.state.scans.take_waiting`) get one more
  try now (``sync_scene(..., scanned=True)``). Still without an item, that try ends
  quietly and the waiting job's own retry stays the wait: each scene keeps one chain
  of retries ending in one dead letter, however many scans Plex announces (a scan
  that adds nothing ends too, and a wrong path rule never finds the file).

Never required: without the socket (an old server, a proxy that refuses it, a dropped
connection) nothing changes but the delay, as the scheduled copy, the reconcile and the
scan retries keep running. One listener per consumer process, started with the clock;
it follows the settings (a new Plex address or token reconnects within
:data:`SETTINGS_EVERY` seconds). It says in the worker's log when it connects and when
the connection goes, once per change.
"""

from __future__ import annotations

import logging
import threading
import time

from plexsync.errors import SyncError
from plexsync.plex.notifications import Event, LibraryScanned, NotificationListener, PlaybackStopped
from plexsync.worker import clock

log = logging.getLogger("plexsync.worker.live")

#: How often the settings are looked at for a new Plex address or token (seconds).
SETTINGS_EVERY = 60.0
#: The first look waits this long (the worker's first jobs read the settings meanwhile).
FIRST_LOOK = 1.0

def _follow_settings() -> None:
    stop = threading.Event()  # never set: the daemon thread ends with the process
    listener: NotificationListener | None = None
    identity: tuple[str, str] | None = None
    wait = FIRST_LOOK
    while not stop.wait(wait):
        wait = SETTINGS_EVERY
        try:
            wanted = _plex_address()
        except Exception:  # a locked database, Stash away: the next look tries again
            log.debug("could not read the settings for Plex's notifications", exc_info=True)
            continue
        if wanted == identity:
            continue
        if listener is not None:
            listener.stop()
            listener = None
        identity = wanted
        if wanted is not None:
            listener = NotificationListener(wanted[0], wanted[1], on_event, _connected).start()


def _plex_address() -> tuple[str, str] | None:
    """(Plex URL, token) of the current settings; None while they cannot be read."""
    from plexsync.sync import worker

    try:
        settings = worker.context.current_settings() or worker.context.settings()
    except SyncError:
        return None
    return settings.plex_url, settings.plex_token


def _connected(up: bool, reason: str | None) -> None:
    if up:
        log.info("Plex's notifications: listening (plays and scans reach Stash as they happen)")
    else:
        log.info(
            "Plex's notifications are not available (%s): plays wait for the scheduled copy and new files "
            "for their retry; trying again",
            reason,
        )


def on_event(event: Event) -> None:
    """Queue what ``event`` calls for (quick: it runs in the listener's thread)."""
    if isinstance(event, PlaybackStopped):
        _copy_from_plex(event)
    elif isinstance(event, LibraryScanned):
        _end_scan_waits(event)


def _copy_from_plex(event: PlaybackStopped) -> None:
    from plexsync.sync import worker
    from plexsync.tasks import PRIORITY_EDIT, sync_playback

    settings = worker.context.current_settings()
    if settings is None or settings.playback_interval <= 0:
        return  # the copy from Plex is off
    sync_playback(priority=PRIORITY_EDIT)
    log.debug("Plex item %s %s: copy from Plex queued", event.rating_key, event.state)


#: A scan adding many items announces each: the waits of its library are looked up at
#: most this often while it goes on (seconds), and always when it ends.
LOOK_EVERY = 1.0
_looked_at: dict[int, float] = {}


def _end_scan_waits(event: LibraryScanned) -> None:
    from plexsync.state import scans
    from plexsync.tasks import PRIORITY_EDIT, sync_scene

    section_id, now = event.section_id, time.monotonic()
    if not event.ended and now - _looked_at.get(section_id, -LOOK_EVERY) < LOOK_EVERY:
        return
    _looked_at[section_id] = now
    scene_ids = scans.take_waiting(section_id)
    for scene_id in scene_ids:
        sync_scene(scene_id, priority=PRIORITY_EDIT, scanned=True)  # one more try; its own retry stays
    if scene_ids:
        log.debug("Plex scanned library %s: %d scene(s) waiting for it queued", section_id, len(scene_ids))


#: Start listening (once per consumer process, with the clock).
start = clock.once_per_process("plexsync-live", _follow_settings)
