"""Plex's notification websocket: what Plex pushes while a worker runs, as events
PlexSync acts on, over a connection that comes back by itself.

Plex pushes JSON messages on ``ws(s)://<server>/:/websockets/notifications`` to the
owner's token, without Plex Pass (../shared/plex-facts.md; the formats and their
sources are in emulators/plex/notifications.py). PlexSync acts on two kinds:

* a player stopped or paused (``playing``, ``PlaySessionStateNotification`` with
  ``state`` and ``ratingKey``): Plex has just saved a resume point, or recorded a
  view (:class:`PlaybackStopped`);
* a library scan added items (``timeline`` entries of a movie or an episode,
  ``state`` 0 "created" or 5 "processed") or ended (``activity`` of type
  ``library.update.section``, ``event`` "ended"), with the section's id
  (:class:`LibraryScanned`).

Nothing is announced for a rating or a mark as played, as far as anyone has
documented: those are found by the scheduled reads, which stay the ground truth for
everything (a socket can drop, a proxy can refuse it, a message can be missed).

The listener is websocket-client's ``WebSocketApp`` (the package plexapi's
``AlertListener`` needs), parsing each message as ``AlertListener._onMessage`` does
(``json.loads(message)["NotificationContainer"]``). Not ``AlertListener`` itself:
it logs every failed connection at ERROR through plexapi's logger, puts the token in
the URL, sends no keep-alive ping (a silently dead connection is never noticed) and
never reconnects (PlexTraktSync's ``WebSocketListener`` wraps it in a restart loop
for that). Here the token travels in the ``X-Plex-Token`` header (as Tautulli's
``web_socket.py`` sends it), a ping every :data:`PING_INTERVAL` seconds detects a
dead link, and a dropped or refused connection is tried again after a growing,
jittered delay (:data:`RECONNECT_MIN` to :data:`RECONNECT_MAX` seconds).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import websocket

from plexsync.redact import redact

log = logging.getLogger("plexsync.plex.notifications")

PATH = "/:/websockets/notifications"
#: The first and the longest wait before connecting again (seconds).
RECONNECT_MIN, RECONNECT_MAX = 1.0, 60.0
#: A connection that lived this long starts the next wait from :data:`RECONNECT_MIN` again.
STABLE_AFTER = 30.0
#: Keep-alive: a ping this often, and the connection counts as dead without a pong this soon.
PING_INTERVAL, PING_TIMEOUT = 30.0, 10.0
LIBRARY = "com.plexapp.plugins.library"
#: Timeline states that mean "a library item is there now" (plexapi ``alert.py``).
_ITEM_THERE = (0, 5)
#: Plex's type numbers of the items PlexSync writes (movie, episode).
_VIDEO_TYPES = (1, 4)


@dataclass(frozen=True)
class PlaybackStopped:
    """A player stopped or paused: Plex saved the item's resume point, or recorded a view."""

    rating_key: int
    state: str
    view_offset: int


@dataclass(frozen=True)
class LibraryScanned:
    """A scan added an item to the section (``ended`` False: more may follow), or a
    scan of the section ended."""

    section_id: int
    ended: bool = False


Event = PlaybackStopped | LibraryScanned


def events_of(container: Mapping[str, Any]) -> list[Event]:
    """The events PlexSync acts on in one ``NotificationContainer``; [] for any other
    message, or one it cannot read (a notification is a hint, never worth a failure)."""
    try:
        return list(_events(container))
    except (AttributeError, KeyError, TypeError, ValueError):
        return []


def _events(container: Mapping[str, Any]) -> Iterator[Event]:
    kind = container.get("type")
    if kind == "playing":
        for entry in container.get("PlaySessionStateNotification") or ():
            if entry.get("state") in ("stopped", "paused"):
                yield PlaybackStopped(int(entry["ratingKey"]), entry["state"], int(entry.get("viewOffset") or 0))
    elif kind == "timeline":
        for entry in container.get("TimelineEntry") or ():
            if (
                entry.get("identifier") == LIBRARY
                and int(entry.get("type", 0)) in _VIDEO_TYPES
                and int(entry.get("state", -1)) in _ITEM_THERE
                and int(entry.get("sectionID", 0)) > 0
            ):
                yield LibraryScanned(int(entry["sectionID"]))
    elif kind == "activity":
        for entry in container.get("ActivityNotification") or ():
            found = entry.get("Activity") or {}
            section = (found.get("Context") or {}).get("librarySectionID")
            if entry.get("event") == "ended" and found.get("type") == "library.update.section" and section:
                yield LibraryScanned(int(section), ended=True)


def socket_url(plex_url: str) -> str:
    """``http(s)://host:port[/prefix]`` -> ``ws(s)://host:port[/prefix]/:/websockets/notifications``."""
    base = plex_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    return ("wss" if scheme.lower() == "https" else "ws") + "://" + rest + PATH


def next_delay(previous: float | None, lived: float) -> float:
    """The wait before the next attempt: doubled after a short-lived or failed one,
    back to the minimum after a connection that lasted; jittered so that several
    workers do not knock together."""
    base = RECONNECT_MIN if previous is None or lived >= STABLE_AFTER else min(RECONNECT_MAX, previous * 2)
    return base * random.uniform(0.8, 1.2)


def _reason(error: object) -> str:
    """One line about a failed or dropped connection (websocket-client puts the
    answer's headers and body after ``-+-+-``)."""
    text = str(error).split(" -+-+- ")[0].strip() or type(error).__name__
    return " ".join(redact(text).split())[:200]


class NotificationListener:
    """Listens on one Plex server's notifications in a daemon thread until :meth:`stop`.

    ``on_event`` gets each :data:`Event` in the listener's thread (it must be quick:
    queue work, do not do it there); ``on_connected(True|False, reason)`` is told each
    time the connection comes up or goes (once per change, not per retry).
    """

    def __init__(
        self,
        plex_url: str,
        token: str,
        on_event: Callable[[Event], None],
        on_connected: Callable[[bool, str | None], None] | None = None,
    ) -> None:
        self.url = socket_url(plex_url)
        self._token = token
        self._on_event = on_event
        self._on_connected = on_connected
        self._stop = threading.Event()
        self._app: websocket.WebSocketApp | None = None
        self._thread: threading.Thread | None = None
        self._up: bool | None = None  # None: never tried
        self._lock = threading.Lock()
        #: Connections made so far (for the status and the tests).
        self.connections = 0

    @property
    def connected(self) -> bool:
        return bool(self._up)

    def start(self) -> NotificationListener:
        self._thread = threading.Thread(target=self._run, name="plexsync-plex-notifications", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            app = self._app
        if app is not None:
            app.keep_running = False
            sock = app.sock
            if sock is not None:
                with contextlib.suppress(Exception):  # closing a socket that is going anyway
                    sock.close(timeout=1)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait)

    def _run(self) -> None:
        delay: float | None = None
        while not self._stop.is_set():
            lived, reason = self._listen_once()
            if self._stop.is_set():
                return
            self._went_down(reason)
            delay = next_delay(delay, lived)
            self._stop.wait(delay)

    def _listen_once(self) -> tuple[float, str]:
        """Connect and listen until the connection ends: (seconds it lived, why it ended)."""
        opened_at: list[float] = []
        failure: list[object] = []
        app = websocket.WebSocketApp(
            self.url,
            header={"X-Plex-Token": self._token},
            on_open=lambda _app: self._opened(opened_at),
            on_message=lambda _app, message: self._message(message),
            on_error=lambda _app, error: failure.append(error),
        )
        with self._lock:
            self._app = app
        if not self._stop.is_set():
            try:
                app.run_forever(ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, reconnect=0)
            except Exception as exc:  # a library surprise must not end the listening
                failure.append(exc)
        lived = time.monotonic() - opened_at[0] if opened_at else 0.0
        return lived, _reason(failure[-1]) if failure else "the connection was closed"

    def _opened(self, opened_at: list[float]) -> None:
        opened_at.append(time.monotonic())
        self.connections += 1
        if self._up is not True:
            self._up = True
            self._tell(True, None)

    def _went_down(self, reason: str) -> None:
        if self._up is not False:
            self._up = False
            self._tell(False, reason)

    def _tell(self, up: bool, reason: str | None) -> None:
        if self._on_connected is not None:
            try:
                self._on_connected(up, reason)
            except Exception:  # a reporting failure must not end the listening
                log.debug("on_connected failed", exc_info=True)

    def _message(self, message: str | bytes) -> None:
        try:
            container = json.loads(message)["NotificationContainer"]
        except (ValueError, KeyError, TypeError):
            return
        for event in events_of(container):
            try:
                self._on_event(event)
            except Exception:
                log.warning("could not act on Plex's notification %s", event, exc_info=True)
