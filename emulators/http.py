"""The HTTP plumbing both emulators share: a threaded loopback server with a
request log, fault injection, and an outage switch that closes the port.

Emulators subclass :class:`EmulatorServer` and implement :meth:`handle`.
Everything about a request that a test may want to count or check is kept in
:attr:`EmulatorServer.requests`; everything that should go wrong is declared
with :attr:`EmulatorServer.faults`.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    """One decoded HTTP request, as the emulator's handler sees it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter (Plex's own rule for repeats)."""
        for key, value in reversed(self.query):
            if key == name:
                return value
        return default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in self.header("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


#: Serves a connection taken over by :meth:`EmulatorServer.upgrade`: (socket, reader, writer).
Upgrade = Callable[[socket.socket, BinaryIO, BinaryIO], None]


@dataclass(frozen=True)
class RequestRecord:
    """What the request log keeps: enough to count and assert on requests."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int  # 0 when the connection was dropped without an answer

    def arg(self, name: str) -> str | None:
        for key, value in reversed(self.query):
            if key == name:
                return value
        return None


@dataclass
class FaultRule:
    """A declared failure: which requests it hits, how often, and what happens.

    Exactly one effect is meant per rule: ``status`` (answer with that code),
    ``drop`` (close the connection without an answer), ``garbage`` (200 with
    a body no parser accepts), ``error`` (the server handles the request but
    fails inside with this message, answering as that server does: see
    :meth:`EmulatorServer.fail_inside`; ``where`` narrows what fails) or only
    ``delay`` (answer late, then normally).
    """

    pattern: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    garbage: bool = False
    error: str | None = None
    where: tuple[str, ...] = ()  # for ``error``: which parts fail (the emulator's names); empty: all
    times: int | None = None  # None: unlimited
    fraction: float = 1.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return bool(self.pattern.search(path))


class FaultInjector:
    """Thread-safe list of :class:`FaultRule` consulted on every request."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(
        self,
        pattern: str = ".*",
        *,
        method: str | None = None,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        garbage: bool = False,
        error: str | None = None,
        where: tuple[str, ...] = (),
        times: int | None = None,
        fraction: float = 1.0,
    ) -> FaultRule:
        """Declare a fault on paths matching the regular expression ``pattern``."""
        if not (status or drop or garbage or delay or error):
            raise ValueError("a fault needs a status, drop, garbage, error or delay")
        rule = FaultRule(
            pattern=re.compile(pattern),
            method=method,
            status=status,
            delay=delay,
            drop=drop,
            garbage=garbage,
            error=error,
            where=tuple(where),
            times=times,
            fraction=fraction,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def refund(self, rule: FaultRule) -> None:
        """Give back a hit of a rule that fired but found nothing to fail (see ``where``)."""
        with self._lock:
            rule.hits = max(0, rule.hits - 1)

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request, counting the hit."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if rule.fraction < 1.0 and self._random.random() >= rule.fraction:
                    continue
                rule.hits += 1
                return rule
        return None


class _Handler(BaseHTTPRequestHandler):
    # Without this every small request waits ~40 ms for delayed ACKs.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is the emulator's record; stderr stays quiet

    def _serve(self) -> None:
        emulator = self.server.emulator
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        rule = emulator.faults.pick(request.method, request.path)
        if rule and rule.delay:
            time.sleep(rule.delay)
        if rule and rule.drop:
            emulator._record(request, 0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if rule and rule.status:
            response = Response(
                status=rule.status,
                body=f"<html><body><h1>{rule.status}</h1></body></html>".encode(),
                content_type="text/html",
            )
        elif rule and rule.garbage:
            response = Response(
                status=200, body=os.urandom(64) + b"\x00<<not xml", content_type=emulator.garbage_content_type
            )
        elif (session := emulator.upgrade(request)) is not None:
            # the connection becomes the emulator's (a websocket): answered and served by ``session``
            emulator._record(request, 101)
            self.close_connection = True
            session(self.connection, self.rfile, self.wfile)
            return
        else:
            try:
                failing = rule is not None and rule.error is not None
                response = emulator.fail_inside(request, rule) if failing else emulator.handle(request)  # type: ignore[arg-type]
            except Exception as exc:  # an emulator bug must still answer like a server
                response = emulator.internal_error(request, exc)
        emulator._record(request, response.status)
        self._send(response, head_only=request.method == "HEAD")

    def _send(self, response: Response, head_only: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):  # type: ignore[override]
        """A client that hung up before a (late) answer is normal, not an error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def process_request(self, request, client_address):  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        """Cut keep-alive connections too, as a stopped server process would."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class EmulatorServer:
    """A loopback HTTP server with a request log, faults and an outage switch.

    ``start()`` binds a free port (or the one given) and serves in a daemon
    thread; ``down()`` closes the port and every open connection, as a
    stopped server would; ``up()`` listens again on the same port.
    """

    #: Content type announced with a garbage body (the emulator's usual one).
    garbage_content_type = "text/xml"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.faults = FaultInjector()
        self.requests: list[RequestRecord] = []
        self._requests_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- to implement -------------------------------------------------------
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def upgrade(self, request: Request) -> Upgrade | None:
        """Take the connection over instead of answering (an HTTP ``Upgrade``, e.g. to a
        websocket): a callable that writes the switch and serves the connection until it
        ends, given the socket and its buffered reader and writer. None (the default):
        answer with :meth:`handle`. Faults are applied before it, as to any request."""
        return None

    def internal_error(self, request: Request, exc: Exception) -> Response:
        """Answer an unexpected emulator failure without a traceback in the body."""
        return Response(status=500, body=b"Internal Server Error")

    def fail_inside(self, request: Request, rule: FaultRule) -> Response:
        """Handle ``request`` while the server's own work fails with ``rule.error``.

        The default is a 500 with the message; an emulator whose server answers
        such failures differently (Stash: HTTP 200 with GraphQL ``errors``) overrides it.
        """
        return Response(status=500, body=(rule.error or "").encode())

    # -- lifecycle ----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def down(self) -> None:
        """Close the port: clients now see 'connection refused'."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all_connections()
        if thread is not None:
            thread.join(timeout=5)

    def up(self) -> None:
        """Listen again on the same port after :meth:`down`."""
        deadline = time.monotonic() + 5
        while True:
            try:
                self.start()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    stop = down

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- request log --------------------------------------------------------
    def _record(self, request: Request, status: int) -> None:
        record = RequestRecord(request.method, request.path, tuple(request.query), status)
        with self._requests_lock:
            self.requests.append(record)

    def requests_matching(self, method: str | None = None, path: str = ".*") -> list[RequestRecord]:
        """Logged requests whose method equals ``method`` and path matches ``path``."""
        pattern = re.compile(path)
        with self._requests_lock:
            log = list(self.requests)
        return [r for r in log if (method is None or r.method == method) and pattern.search(r.path)]

    def clear_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (for ``python -m``)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
