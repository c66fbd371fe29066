"""Who may talk to the emulated Stash, decided as Stash's authenticateHandler does.

- An ``ApiKey`` header (or ``?apikey=``) that differs from the configured key
  is refused with 401 on every path, even when Stash has no login configured
  at all (its configured key is then empty, so *any* key is wrong).
- A login (username and password) may exist with no API key generated yet
  (Stash's Settings > Security: "Username must be saved before generating API
  key"): then only a session cookie gets in, and ``configuration { general
  { apiKey } }`` answers an empty key.
- With a login configured and no key: a valid ``session`` cookie passes;
  otherwise ``/graphql`` and paths with a file extension get 401 (empty body,
  ``WWW-Authenticate: FormBased``) and every other path (screenshots, images)
  is redirected (302) to ``/login?returnURL=...``, whose page answers 200.
"""

from __future__ import annotations

import enum
import posixpath
import secrets
import threading
from urllib.parse import urlencode

from ..http import Request, Response

LOGIN_PATH = "/login"
GRAPHQL_PATH = "/graphql"


class Verdict(enum.Enum):
    ALLOW = "allow"
    UNAUTHORIZED = "unauthorized"
    LOGIN = "login"


class Credentials:
    """The configured API key and the session cookies handed out so far."""

    def __init__(self, api_key: str | None, login: bool = False) -> None:
        self.api_key = api_key or None
        #: A username and password are set (always so when a key exists: Stash makes one only then).
        self.login = login
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    def new_session(self) -> str:
        value = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions.add(value)
        return value

    def expire_session(self, value: str) -> None:
        with self._lock:
            self._sessions.discard(value)

    @property
    def needs_login(self) -> bool:
        return self.login or self.api_key is not None

    def has_session(self, value: str | None) -> bool:
        with self._lock:
            return value is not None and value in self._sessions

    def check(self, request: Request) -> Verdict:
        key = request.header("ApiKey") or request.arg("apikey") or ""
        if key:
            return Verdict.ALLOW if key == self.api_key else Verdict.UNAUTHORIZED
        if not self.needs_login or request.path.startswith(LOGIN_PATH):
            return Verdict.ALLOW
        if self.has_session(request.cookies.get("session")):
            return Verdict.ALLOW
        extension = posixpath.splitext(request.path)[1]
        if request.path == GRAPHQL_PATH or extension not in ("", ".html"):
            return Verdict.UNAUTHORIZED
        return Verdict.LOGIN


def unauthorized() -> Response:
    return Response(status=401, body=b"", headers={"WWW-Authenticate": "FormBased"})


def to_login(request: Request) -> Response:
    """Go's http.Redirect to the login page, remembering where the client was going."""
    target = request.path + (("?" + urlencode(request.query)) if request.query else "")
    location = f"{LOGIN_PATH}?{urlencode({'returnURL': target})}"
    body = f'<a href="{location}">Found</a>.\n\n'.encode()
    return Response(status=302, body=body, content_type="text/html; charset=utf-8", headers={"Location": location})


def login_page() -> Response:
    body = (
        b"<!doctype html><html><head><title>Login | Stash</title></head><body><form method=post></form></body></html>"
    )
    return Response(status=200, body=body, content_type="text/html; charset=utf-8")
