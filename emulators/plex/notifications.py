"""Plex's notification websocket: what a client such as plexapi's ``AlertListener``
receives while it listens.

The socket (sources read December 2026):

- ``ws(s)://<server>/:/websockets/notifications`` with the token as ``X-Plex-Token`` (a
  query parameter: plexapi's ``AlertListener`` builds ``server.url(key,
  includeToken=True)``; a header: Tautulli's ``web_socket.py``). The community spec
  documents ``/:/websocket/notifications`` (singular; both are served). No Plex Pass
  is needed (../shared/plex-facts.md). A server or proxy without it answers the
  upgrade with an HTTP error: here 404 while :attr:`Notifications.enabled` is off.
- Every message is one JSON text frame, ``{"NotificationContainer": {"type": ...,
  "size": 1, <array>: [...]}}``; plexapi's ``AlertListener._onMessage`` hands the
  container to its callback.
- ``playing``: ``PlaySessionStateNotification`` entries with ``sessionKey``,
  ``clientIdentifier``, ``guid``, ``ratingKey`` (text), ``url``, ``key``
  (``/library/metadata/<ratingKey>``), ``viewOffset`` (ms) and ``state``
  (``playing``, ``paused``, ``stopped``, ``buffering``): a capture in
  PlexKodiConnect issue #162, the fields PlexTraktSync's ``watch/events.py`` reads.
  Sent here on every player progress report (``/:/timeline``) and by
  :meth:`PlexEmulator.play`/``partial_play`` (a client's last report, ``stopped``).
- ``timeline``: ``TimelineEntry`` entries with ``identifier``
  (``com.plexapp.plugins.library``), ``sectionID``, ``itemID``, ``type`` (1 movie, 4
  episode...), ``title``, ``state`` and, on creation, ``metadataState: "created"``
  (Tautulli's ``activity_handler.TimelineHandler``; PlexKodiConnect's
  ``store_timeline_message``). States (plexapi ``alert.py``): 0 created, 1 progress,
  2 matching, 3 downloading, 4 processing, 5 processed, 9 deleted. Sent here for each
  item a scan adds (0, then 5).
- ``activity``: ``ActivityNotification`` entries ``{event: started|updated|ended,
  uuid, Activity: {uuid, type, cancellable, userID, title, subtitle, progress,
  Context}}`` (PlexTraktSync's ``tests/mock_data/events.json``). A section scan is
  ``library.update.section`` with ``Context.librarySectionID``; sent here when a scan
  starts and ends.
- **Not sent**: anything for a rating (``/:/rate``) or a mark as played: no source
  documents a websocket message for them (Plex's ``media.rate`` is a webhook, Plex
  Pass only), so a client learns of them by reading the library, as it must anyway.

The server side of RFC 6455 is written here on the emulator's HTTP server (the
connection is taken over by :meth:`EmulatorServer.upgrade`): the handshake, unmasked
text frames out, masked frames in (a ping is answered with a pong, a close with a
close). :meth:`Notifications.drop` cuts every socket without a close frame, as a
restarting server or a proxy's idle timeout does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import uuid
from typing import Any, BinaryIO

from emulators.http import Request, Upgrade

PATHS = ("/:/websockets/notifications", "/:/websocket/notifications")
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA
IDENTIFIER = "com.plexapp.plugins.library"
#: Timeline states (plexapi ``alert.py``).
CREATED, PROCESSED, DELETED = 0, 5, 9


def container(kind: str, array: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"NotificationContainer": {"type": kind, "size": len(entries), array: entries}}


def playing(rating_key: int, state: str, view_offset: int, session_key: int, client: str) -> dict[str, Any]:
    entry = {
        "sessionKey": str(session_key),
        "clientIdentifier": client,
        "guid": "",
        "ratingKey": str(rating_key),
        "url": "",
        "key": f"/library/metadata/{rating_key}",
        "viewOffset": int(view_offset),
        "playQueueItemID": session_key,
        "state": state,
    }
    return container("playing", "PlaySessionStateNotification", [entry])


def timeline(section_id: int, rating_key: int, item_type: int, title: str, state: int, at: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "identifier": IDENTIFIER,
        "sectionID": str(section_id),
        "itemID": str(rating_key),
        "type": item_type,
        "title": title,
        "state": state,
        "updatedAt": at,
    }
    if state == CREATED:
        entry["metadataState"] = "created"
    elif state == DELETED:
        entry["metadataState"] = "deleted"
    return container("timeline", "TimelineEntry", [entry])


def activity(event: str, activity_id: str, section_id: int, title: str, progress: int) -> dict[str, Any]:
    entry = {
        "event": event,
        "uuid": activity_id,
        "Activity": {
            "uuid": activity_id,
            "type": "library.update.section",
            "cancellable": False,
            "userID": 1,
            "title": f"Scanning {title}",
            "subtitle": "",
            "progress": progress,
            "Context": {"librarySectionID": str(section_id)},
        },
    }
    return container("activity", "ActivityNotification", [entry])


def new_activity_id() -> str:
    return str(uuid.uuid4())


class _Client:
    def __init__(self, connection: socket.socket, writer: BinaryIO) -> None:
        self.connection = connection
        self._writer = writer
        self._lock = threading.Lock()

    def send(self, opcode: int, payload: bytes) -> bool:
        """One unmasked frame (a server never masks); False when the socket is gone."""
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self._lock:
            try:
                self._writer.write(header + payload)
                self._writer.flush()
                return True
            except OSError:
                return False

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class Notifications:
    """The server's websocket clients, and every message sent to them (:attr:`sent`)."""

    def __init__(self) -> None:
        #: Off: the upgrade is refused (404), as by a server or proxy without the socket.
        self.enabled = True
        #: Every NotificationContainer published, in order (whether or not anyone listened).
        self.sent: list[dict[str, Any]] = []
        self._clients: list[_Client] = []
        self._lock = threading.Lock()

    @property
    def listeners(self) -> int:
        """Clients connected now."""
        with self._lock:
            return len(self._clients)

    def publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
        with self._lock:
            self.sent.append(message)
            clients = list(self._clients)
        for client in clients:
            client.send(_TEXT, payload)

    def drop(self) -> int:
        """Cut every connection without a close frame; returns how many."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.cut()
        return len(clients)

    def session(self, request: Request) -> Upgrade | None:
        """The RFC 6455 handshake's answer and the connection's service, or None to
        answer over HTTP (not an upgrade, or switched off)."""
        key = request.header("sec-websocket-key")
        upgrade = (request.header("upgrade") or "").lower()
        if not self.enabled or upgrade != "websocket" or not key or request.method != "GET":
            return None
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode("ascii")).digest()).decode("ascii")

        def serve(connection: socket.socket, reader: BinaryIO, writer: BinaryIO) -> None:
            writer.write(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode("ascii")
            )
            writer.flush()
            client = _Client(connection, writer)
            with self._lock:
                self._clients.append(client)
            try:
                _read_frames(reader, client)
            finally:
                with self._lock:
                    if client in self._clients:
                        self._clients.remove(client)

        return serve


def _read_frames(reader: BinaryIO, client: _Client) -> None:
    """Serve the client's frames (always masked, RFC 6455 5.1) until it closes or goes."""
    while True:
        head = _exactly(reader, 2)
        if head is None:
            return
        opcode, masked, size = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
        if size == 126:
            raw = _exactly(reader, 2)
            size = struct.unpack("!H", raw)[0] if raw else -1
        elif size == 127:
            raw = _exactly(reader, 8)
            size = struct.unpack("!Q", raw)[0] if raw else -1
        mask = _exactly(reader, 4) if masked else b""
        payload = _exactly(reader, size) if size >= 0 and mask is not None else None
        if payload is None or not masked:
            client.cut()  # a client frame must be masked: RFC 6455 says close the connection
            return
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if opcode == _PING:
            client.send(_PONG, data)
        elif opcode == _CLOSE:
            client.send(_CLOSE, data[:2])
            client.cut()
            return


def _exactly(reader: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = reader.read(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data

