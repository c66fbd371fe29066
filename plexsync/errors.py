"""What can go wrong in a sync, sorted by what the queue should do about it.

* :class:`Transient`: try again later, spending one of the job's retries
  (a 5xx, a dropped connection, a garbage answer, an item Plex has not
  scanned yet). When the retries run out the job becomes a dead letter.
* :class:`Permanent`: retrying cannot help (the scene was deleted, Plex
  rejects the data): straight to the dead letters with the reason.
* :class:`OutsidePlex` is none of these: the scene's files lie outside every
  Plex library used, so there is nothing to do (recorded once, not retried).
  :class:`NotScannedYet` is a :class:`Transient` the worker retries without
  a traceback while Plex scans the folder it was asked to scan.
* :class:`Unavailable`: a whole server cannot be reached or refuses our
  credentials. Jobs then wait for the server without spending retries
  (see :mod:`plexsync.state.outage`), and the condition is reported once.

Every message is redacted and fits on one line: it is what a user reads in
the log, in the dead-letter list and on Stash's task page.
"""

from __future__ import annotations

import requests

from plexsync.redact import redact


class SyncError(Exception):
    """A failure with a one-line, secret-free reason."""

    def __init__(self, reason: str) -> None:
        self.reason = " ".join(redact(reason).split())[:1000]
        super().__init__(self.reason)


class Transient(SyncError):
    pass


class Permanent(SyncError):
    pass


class Unavailable(SyncError):
    """``service`` ('plex' or 'stash') is down, unreachable or misconfigured."""

    def __init__(self, service: str, reason: str) -> None:
        self.service = service
        super().__init__(reason)


class AuthFailed(Unavailable):
    """The server answered, but refused our credentials."""


class Misconfigured(Unavailable):
    """A setting the sync needs is missing or invalid."""


class SceneNotFound(Permanent):
    pass


class ItemNotInPlex(Transient):
    """No Plex item has the scene's file (yet): Plex may still be scanning."""


class NotScannedYet(ItemNotInPlex):
    """The file lies inside a Plex library's folder, but Plex has no item for it
    yet: the worker asked Plex to scan the folder and waits for it. ``section_ids``:
    the libraries whose scan it waits for (a scan's news there ends the wait)."""

    def __init__(self, reason: str, section_ids: tuple[int, ...] = ()) -> None:
        self.section_ids = tuple(section_ids)
        super().__init__(reason)


class OutsidePlex(SyncError):
    """The scene's files lie under no folder of any Plex library used: nothing
    to sync and nothing to retry. Not an error: a library may hold only part of Stash."""

    def __init__(self, reason: str, plex_path: str) -> None:
        self.plex_path = plex_path
        super().__init__(reason)


#: What a connection error says when there is no server to talk to.
_ABSENT_MARKERS = ("refused", "name or service", "nodename", "resolution", "no route")


def root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def server_absent(exc: requests.RequestException) -> bool:
    """The server is not there (refused, unknown host, no route, connect timeout):
    every request would fail the same way, so neither a request nor a job retry helps."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause = root_cause(exc)
    text = f"{type(cause).__name__} {cause}".lower()
    return isinstance(cause, ConnectionRefusedError) or any(marker in text for marker in _ABSENT_MARKERS)


def from_requests_error(service: str, exc: requests.RequestException) -> SyncError:
    """Tell "the server is not there" from "this one request went wrong".

    A refused connection, a failed name lookup or a connect timeout mean the
    server is down: every job would fail the same way. A reset or dropped
    connection, or a slow answer, is a fault of this request.
    """
    label = service.capitalize()
    if isinstance(exc, requests.ConnectTimeout):
        return Unavailable(service, f"{label} did not accept a connection in time")
    if server_absent(exc):
        return Unavailable(service, f"{label} is unreachable (connection refused or host unknown)")
    if isinstance(exc, requests.ConnectionError):
        return Transient(f"{label} dropped the connection ({type(root_cause(exc)).__name__})")
    if isinstance(exc, requests.Timeout):
        return Transient(f"{label} did not answer in time")
    return Transient(f"{label} request failed: {type(exc).__name__}: {exc}")


def from_status(service: str, status: int, detail: str = "") -> SyncError:
    """Classify an HTTP error status from ``service``."""
    label = service.capitalize()
    suffix = f": {detail}" if detail else ""
    if status == 401:
        # No variable name here: this reason reaches Stash's log too, where the fix is in the page's words
        # (plexsync.tools.words); the worker's log adds the command line's.
        credential = "token" if service == "plex" else "API key"
        return AuthFailed(service, f"{label} rejected the {credential} (HTTP 401)")
    if status == 429 or status >= 500:
        return Transient(f"{label} answered HTTP {status}{suffix}")
    return Permanent(f"{label} refused the request with HTTP {status}{suffix}")
