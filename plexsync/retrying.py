"""Request-level retries: one failed request is tried again at once, a few
times within about a second and a half, before the whole job is retried
(which costs the job its next slot in the schedule, 15 s, 30 s, 60 s... later).

Both servers' sessions are a :class:`RetryingSession` with their own
:class:`RequestPolicy`, which says which requests are safe to send twice and
which answers are a passing fault.

Only a fault of *this request* is retried: a reset or dropped connection, an
incomplete body, HTTP 500/502/503/504, a body that cannot be what the server
sends (not XML where XML was announced, not JSON where JSON was), and a
GraphQL answer that carries only a transient error ("database is locked" in a
200: Stash's SQLite was busy). A refused connection, an unknown host or a
connect timeout mean the server is not there: they are raised at once, so the
outage breaker (:mod:`plexsync.state.outage`) opens after one try, not after
a round of retries. A read timeout is not retried either: the next try would
wait as long again, which is the job retry's business.

Why a loop of our own and not urllib3's ``Retry`` on an ``HTTPAdapter``:
measured against the emulators' faults (:mod:`emulators.http`), ``Retry``
covers the 5xx statuses and the dropped connection, but never sees a body
that is garbage or cut short in a 200 (the adapter returns before anything
reads it), nor a GraphQL error inside a 200. This loop sees the whole answer,
since a session that does not stream reads the body inside ``send``.

After the last try the last answer is handed on unchanged (or the last error
raised), and the caller classifies it exactly as it would have without
retries.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from plexsync.errors import root_cause, server_absent

log = logging.getLogger("plexsync.retrying")

#: Waits before the 2nd, 3rd and 4th try (plus up to 50% jitter): ~1.3 s in all at most ~2 s.
BACKOFF = (0.1, 0.3, 0.9)
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: GraphQL error messages that mean "try the same request again shortly".
TRANSIENT_GRAPHQL = ("database is locked", "sqlite_busy")


def request_fault(exc: requests.RequestException) -> bool:
    """This request failed on the way (reset, dropped, body cut short); another may not."""
    if server_absent(exc) or isinstance(exc, requests.Timeout):
        return False
    return isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError)


def malformed_body(response: requests.Response) -> str | None:
    """Why a 2xx body cannot be a whole answer of the type it announces, or None.

    Cheap checks only (the caller parses the body anyway): a document of either
    type starts and ends with its delimiters, and XML never holds a NUL byte.
    """
    body = response.content
    if not body or not 200 <= response.status_code < 300:
        return None
    kind = response.headers.get("Content-Type", "").lower()
    if "xml" in kind:
        stripped = body.strip()
        if not (stripped.startswith(b"<") and stripped.endswith(b">")) or b"\0" in stripped:
            return "a body that is not XML"
    elif "json" in kind:
        stripped = body.strip()
        if stripped[:1] not in (b"{", b"[") or stripped[-1:] not in (b"}", b"]"):
            return "a body that is not JSON"
    return None


def transient_graphql_error(response: requests.Response) -> str | None:
    """The transient error a 200 GraphQL answer carries, or None.

    Only answers that mention errors are decoded here (a plain answer costs
    one substring search).
    """
    if response.status_code != 200 or b'"errors"' not in response.content:
        return None
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return None
    messages = [str(error.get("message", "")) for error in errors if isinstance(error, dict)]
    if messages and all(any(mark in m.lower() for mark in TRANSIENT_GRAPHQL) for m in messages):
        return f"a GraphQL error ({messages[0][:80]})"
    return None


@dataclass(frozen=True)
class RequestPolicy:
    """Per server: which requests may be sent twice, which answers are a passing fault."""

    service: str
    is_safe: Callable[[requests.PreparedRequest], bool]
    answer_checks: tuple[Callable[[requests.Response], str | None], ...] = (malformed_body,)

    def fault_in(self, response: requests.Response) -> str | None:
        if response.status_code in RETRY_STATUSES:
            return f"HTTP {response.status_code}"
        for check in self.answer_checks:
            reason = check(response)
            if reason:
                return reason
        return None


_PLEX_POSTER = re.compile(r"/library/metadata/\d+/(posters|arts)$")


def _plex_safe(request: requests.PreparedRequest) -> bool:
    """GET reads. PUT ``/library/sections/{id}/all`` is the edit, and it sends
    whole values (every field, every tag list, every lock), so a second copy
    leaves the item as the first did. A poster or art POST carries the image
    bytes: sent twice, Plex holds the same image selected (one upload more in
    its list of choices, the one already chosen), idempotent in effect."""
    method = (request.method or "").upper()
    if method in ("GET", "HEAD", "PUT"):
        return True
    path = requests.utils.urlparse(request.url or "").path
    return method == "POST" and bool(_PLEX_POSTER.search(path))


def _stash_safe(request: requests.PreparedRequest) -> bool:
    """GET reads (covers, images). A GraphQL POST is safe when it is a query:
    queries read. A mutation is never sent twice by this layer (it could
    create twice, or fire Stash's hooks twice)."""
    method = (request.method or "").upper()
    if method in ("GET", "HEAD"):
        return True
    if method != "POST" or not (request.url or "").split("?", 1)[0].endswith("/graphql"):
        return False
    body = request.body
    try:
        query = json.loads(body).get("query", "") if body else ""
    except (ValueError, AttributeError, UnicodeDecodeError):
        return False
    if not isinstance(query, str):
        return False
    operation = query.lstrip()
    return operation.startswith(("{", "query"))


PLEX = RequestPolicy("plex", _plex_safe)
STASH = RequestPolicy("stash", _stash_safe, (malformed_body, transient_graphql_error))


class RetryingSession(requests.Session):
    """A ``requests.Session`` that retries a safe request after a passing fault."""

    def __init__(
        self,
        policy: RequestPolicy,
        backoff: tuple[float, ...] = BACKOFF,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        super().__init__()
        self.policy = policy
        self.backoff = backoff
        self.sleep = sleep
        self._environment: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(  # type: ignore[override]
        self, url: str, proxies: dict[str, str] | None, stream: bool | None, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """The environment's proxies and CA bundle, looked up once per server and set of options.

        requests looks them up again for every request (``HTTP_PROXY``, ``NO_PROXY``...
        read through ``os.environ`` twice, ``REQUESTS_CA_BUNDLE``): profiled, that was
        a tenth of a bulk sync's worker CPU. A worker's environment does not change
        while it runs; ``NO_PROXY`` still applies per server, as the key holds it.
        """
        if proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        try:
            known = self._environment.get(key)
        except TypeError:  # an unhashable option: requests' own way
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        if known is None:
            known = self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        return {**known, "proxies": dict(known["proxies"])}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("stream") or not self.policy.is_safe(request):
            return super().send(request, **kwargs)
        for attempt, delay in enumerate((*self.backoff, None)):
            try:
                response = super().send(request, **kwargs)
            except requests.RequestException as exc:
                if delay is None or not request_fault(exc):
                    raise
                reason = type(root_cause(exc)).__name__
            else:
                reason = self.policy.fault_in(response)
                if reason is None or delay is None:
                    return response
                response.close()
            log.debug("%s: %s on try %d of %s; trying again", self.policy.service, reason, attempt + 1, request.method)
            self.sleep(delay * random.uniform(1.0, 1.5))
        raise AssertionError("unreachable")  # the last round returns or raises
