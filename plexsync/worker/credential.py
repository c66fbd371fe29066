"""Stash's API key for the worker the plugin starts: asked of Stash, handed over in memory.

A worker outlives the invocation that started it, so the session cookie
Stash gives every plugin process (valid for that invocation) is no use to
it; with a login, it needs Stash's API key. Inside an invocation the plugin
can read that key (``configuration { general { apiKey } }`` with the
session cookie, ../shared/stash-plugins.md), so the user never copies it.

**Who asks.** Only the hook or task that starts a worker
(:func:`plexsync.worker.autostart.ensure_worker`): one GraphQL request, with
``http.client`` (a hook may not import requests), paid once per worker start,
never by the hooks that find a worker running. With a login and no key yet,
no worker is started (it could not read Stash) and the hook says where to
generate one; each later hook asks again until a key exists, since nothing
tells a hook that the user has generated one.

**How it is handed over.** Through the started process's **stdin**: the
starting hook writes the key into the pipe and closes it; the child
(:mod:`plexsync.worker.launch`) reads it before anything else and keeps it in
this module's memory. Not the child's environment: ``ps e`` and
``/proc/<pid>/environ`` show an environment to every process of the same
user for the child's whole life. Not its command line: ``ps`` shows that to
everyone. Not a file: it would be on disk. A pipe's content exists only in
the kernel until read, and stdin works the same on Windows, where inheriting
an extra descriptor does not (handles are passed differently there). The key
is never logged: :func:`plexsync.redact.register_secret` removes it from
every log line and error.

**When Stash refuses it** (the key was regenerated in Stash, or it was
cleared): an auto-started worker cannot ask Stash again (it has no session),
so it stops (:func:`rejected`), releasing its presence lock first; the next
hook or task then starts a new worker with the key Stash has now. A worker a
user runs keeps ``PLEXSYNC_STASH_API_KEY`` from its environment and waits, as
before, for the user to correct it.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # not typing's: a hook loads this module (issue #9)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: The GraphQL request: the key, and whether Stash has a login at all (a username).
QUERY = "query PlexSyncStashKey { configuration { general { apiKey username } } }"
#: Seconds the starting hook waits for Stash's answer.
TIMEOUT = 5.0

_handed: str | None = None
#: Whether the starting hook asked Stash at all (then ``_handed`` is Stash's answer, None meaning "no key needed").
_asked = False
#: Whether Stash has a login, as the starting hook was told; and whether a hand-over came at all.
_login = False
_received = False
_on_rejected: Callable[[], None] | None = None


class KeyUnavailable(Exception):
    """Stash did not tell its key (unreachable, or the session refused); the message says which."""


def fetch(server_connection: Any, timeout: float = TIMEOUT) -> tuple[str | None, bool]:
    """(Stash's API key or None when none is generated, whether Stash has a login), asked with the invocation's
    session cookie; :class:`KeyUnavailable` when Stash does not answer it."""
    import http.client

    from plexsync.worker.autostart import stash_url

    url = stash_url(server_connection)
    if url is None:
        raise KeyUnavailable("the invocation did not say where Stash is")
    scheme, _, hostport = url.partition("://")
    host, _, port = hostport.rpartition(":")
    connection_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    cookie = (server_connection or {}).get("SessionCookie") or {}
    if isinstance(cookie, dict) and cookie.get("Value"):
        headers["Cookie"] = f"{cookie.get('Name') or 'session'}={cookie['Value']}"
    body = json.dumps({"query": QUERY}).encode()
    connection = connection_class(host.strip("[]"), int(port), timeout=timeout)
    try:
        connection.request("POST", "/graphql", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise KeyUnavailable(f"Stash at {url} did not answer ({type(exc).__name__})") from None
    finally:
        connection.close()
    if response.status != 200:
        raise KeyUnavailable(f"Stash at {url} answered HTTP {response.status}")
    try:
        general = json.loads(payload)["data"]["configuration"]["general"]
        key, username = general.get("apiKey") or None, general.get("username") or ""
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyUnavailable(f"Stash at {url} did not tell its configuration") from None
    return key, bool(username) or key is not None


def no_key_warning() -> str:
    from plexsync.tools.words import STASH_KEY_PAGE

    return (
        "Stash has a login and no API key, so the worker cannot read Stash: generate one in "
        f"{STASH_KEY_PAGE}; syncs wait in the queue until then, and the next edit or task starts the worker with it"
    )


# -- the worker's side ------------------------------------------------------------------------


def for_new_worker(server_connection: Any) -> tuple[str | None, bool, bool]:
    """(key, whether Stash has a login, whether Stash was asked) for a worker this process starts.

    A hook asks Stash now, with its session cookie. The set-up a hook started in
    the background (:mod:`plexsync.environment.background`) has no cookie of its
    own and runs after the hook ended: the hook asked for it and handed the answer
    over, as to a worker, and that answer is what it passes on."""
    if _received:
        return _handed, _login, _asked
    try:
        key, login = fetch(server_connection)
    except KeyUnavailable:  # the worker finds out for itself, and says so
        return None, False, False
    return key, login, True


def handover(api_key: str | None, asked: bool, login: bool = False) -> bytes:
    """What the starting process writes into the child's stdin: the key, whether Stash was asked at all,
    and whether it has a login."""
    return json.dumps({"api_key": api_key, "asked": asked, "login": login}).encode()


def receive(stream: Any) -> None:
    """Read what the starting hook wrote into ``stream`` (the child's stdin), up to its end."""
    global _handed, _asked, _login, _received
    data = stream.read()
    try:
        message = json.loads(data or b"{}")
    except ValueError:
        message = {}
    if not isinstance(message, dict):
        message = {}
    key = message.get("api_key")
    _handed = key if isinstance(key, str) and key else None
    _asked = bool(message.get("asked"))
    _login = bool(message.get("login"))
    _received = bool(message)
    if _handed:
        from plexsync.redact import register_secret

        register_secret(_handed)


def handed() -> str | None:
    """The key handed to this process by the hook that started it (None: none, or a worker a user runs)."""
    return _handed


def api_key(environment_key: str | None) -> str | None:
    """The key this worker sends: what Stash told the starting hook when it was asked (its only valid key,
    or none when Stash has no login: either wins over a stale variable), else ``PLEXSYNC_STASH_API_KEY``."""
    return _handed if _asked else environment_key


def on_rejected(callback: Callable[[], None] | None) -> None:
    """What to do when Stash refuses the handed key (the lifecycle: stop, so a new worker gets the new key)."""
    global _on_rejected
    _on_rejected = callback


def rejected() -> bool:
    """Stash refused this worker's key: True when the worker stops for a replacement (see the module doc)."""
    callback = _on_rejected
    if callback is None or not _asked:  # Stash was not asked: a new worker would send the same refused key
        return False
    callback()
    return True
