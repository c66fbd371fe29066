"""Signing in to Plex with a code, and finding the server to sync and its token.

The user opens plex.tv/link and types the 4-character code this module asks
plex.tv for (plexapi's ``MyPlexPinLogin``); the account's token then lists the
account's devices (``MyPlexAccount.resources()``), each Plex Media Server with
its own access token and the addresses plex.tv knows for it (local, remote,
relay). PlexSync needs one server it can reach from this machine and that
server's token, never the account's token, which is used here and forgotten.

**Aiming plexapi at plex.tv.** plexapi names ``https://plex.tv/...`` in class
attributes (``MyPlexPinLogin.PINS``, ``MyPlexAccount.key``,
``MyPlexResource.key``) but takes a ``requests`` session from its caller. So
the one seam is :class:`PlexTvSession`: it sends every request for
``https://plex.tv`` to ``Bootstrap.plex_tv_url`` (``PLEXSYNC_PLEX_TV_URL``,
read once in :mod:`plexsync.config`, documented with the other environment
variables), and plexapi is otherwise untouched: no patched class attribute, no
global state, nothing different from production but the address. Tests and the
the demo point it at ``emulators/plextv``.

**Choosing the server.** An explicit choice wins (a name or machine id, the
task's ``server`` argument), then the server already at the stored Plex URL.
Otherwise every address of every owned server is tried at once with
``GET /identity`` (no token: Plex answers it without one, so the server's
token is never sent to an address that may now be another machine; the answer's
``machineIdentifier`` must be the server's), in plexapi's order
(``preferred_connections``: local, then remote, then relay; https before http).
The server that answers is the one; when several answer, the one answering on
a local address; otherwise the caller is told which were found
(:class:`SeveralServers`). The chosen address is then checked with the token
through plexapi's ``PlexServer``, as the worker will use it.

Every message is one line without a token: both tokens are registered with
:mod:`plexsync.redact` the moment they arrive.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import requests
from plexapi.exceptions import PlexApiException, Unauthorized
from plexapi.myplex import MyPlexAccount, MyPlexPinLogin, MyPlexResource
from plexapi.server import PlexServer

from plexsync.config import PLEX_TV
from plexsync.redact import redact, register_secret

#: How PlexSync shows up in the account's list of devices (plex.tv > Authorized Devices).
#: The identifier is stable per machine and PlexSync's own: a new link replaces the old device.
HEADERS = {
    "X-Plex-Product": "PlexSync",
    "X-Plex-Device-Name": "PlexSync (Stash plugin)",
    "X-Plex-Client-Identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"plexsync:{uuid.getnode():x}")),
}
#: How long the task waits for the code to be entered: plex.tv's lifetime of a
#: 4-character code (900 s; plexapi does not read ``expiresIn``). plex.tv
#: forgetting the code first ends the wait too (plexapi's ``expired``).
CODE_WAIT = 900.0
#: plexapi's own polling interval (``MyPlexPinLogin.POLLINTERVAL``).
POLL_INTERVAL = 1.0
#: Seconds each address of a server gets to answer ``/identity``.
PROBE_TIMEOUT = 5.0
LOCATIONS = ("local", "remote", "relay")


class SigninError(Exception):
    """Signing in or finding the server failed; the message is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(redact(message).split()))


class CodeExpired(SigninError):
    pass


@dataclass(frozen=True)
class Address:
    url: str
    location: str  # local | remote | relay


@dataclass
class Server:
    """A Plex Media Server of the account, with what the probe found."""

    name: str
    machine_identifier: str
    token: str = field(repr=False)
    addresses: list[Address]
    reached: Address | None = None
    #: Each address that did not answer as this server, with why.
    failures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = self.reached.url if self.reached else (self.addresses[0].url if self.addresses else "no address")
        return f"'{self.name}' ({where})"


@dataclass(frozen=True)
class Link:
    """What signing in found: the server's address and its token."""

    url: str
    token: str = field(repr=False)
    server_name: str
    location: str  # local | remote | relay | stored (the address already set)
    account: str


class SeveralServers(SigninError):
    """More than one server could be the one: the caller says how to choose."""

    def __init__(self, servers: list[Server], why: str) -> None:
        self.servers = servers
        names = ", ".join(server.describe() for server in servers)
        super().__init__(f"{why}: {names}")


class PlexTvSession(requests.Session):
    """A session that sends plexapi's requests for ``https://plex.tv`` to ``base`` (see the module doc)."""

    def __init__(self, base: str = PLEX_TV) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and self.base != PLEX_TV and (url == PLEX_TV or url.startswith(PLEX_TV + "/")):
            url = self.base + url[len(PLEX_TV) :]
        return super().request(method, url, *args, **kwargs)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout | TimeoutError):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "its TLS certificate is not accepted"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unknown"
    return " ".join(redact(exc).split())[:160] or type(exc).__name__


class CodeSignin:
    """One sign-in by code: :meth:`code` asks plex.tv for it, :meth:`wait` for the user to enter it."""

    def __init__(self, plex_tv_url: str = PLEX_TV, timeout: float = 30.0) -> None:
        self.plex_tv_url = plex_tv_url
        self.session = PlexTvSession(plex_tv_url)
        self.timeout = timeout
        self._login = MyPlexPinLogin(session=self.session, requestTimeout=timeout, headers=HEADERS)

    def code(self) -> str:
        try:
            code = self._login.pin
        except (requests.RequestException, PlexApiException, ElementTree.ParseError) as exc:
            raise SigninError(f"plex.tv ({self.plex_tv_url}) did not give a code: {_failure(exc)}") from None
        if not code:
            raise SigninError(f"plex.tv ({self.plex_tv_url}) answered without a code")
        return code

    def wait(self, seconds: float = CODE_WAIT, tick: Callable[[float], None] | None = None) -> str:
        """The account's token once the code is entered; ``tick`` gets the fraction of the wait used."""
        began = time.monotonic()
        while True:
            if self._login.checkLogin():
                token = self._login.token
                register_secret(token)
                return token
            waited = time.monotonic() - began
            if self._login.expired:
                raise CodeExpired(
                    f"plex.tv no longer knows the code {self._login.pin} (it expired, or plex.tv stopped answering)"
                )
            if waited >= seconds:
                raise CodeExpired(f"nobody entered the code {self._login.pin} within {seconds / 60:.0f} minutes")
            if tick is not None:
                tick(waited / seconds)
            time.sleep(POLL_INTERVAL)


def account_servers(session: requests.Session, account_token: str, timeout: float) -> tuple[str, list[Server]]:
    """(the account's name, its own Plex servers with their addresses in plexapi's order)."""
    try:
        account = MyPlexAccount(token=account_token, session=session, timeout=timeout)
        resources = account.resources()
    except Unauthorized:
        raise SigninError("plex.tv refused the sign-in it just gave (HTTP 401): run Link Plex account again") from None
    except (requests.RequestException, PlexApiException, ElementTree.ParseError) as exc:
        raise SigninError(f"could not read the Plex account's servers from plex.tv: {_failure(exc)}") from None
    servers = [_server(resource) for resource in resources if _is_own_server(resource)]
    return account.username or account.email or "your Plex account", servers


def _is_own_server(resource: MyPlexResource) -> bool:
    """A Plex Media Server the account owns: PlexSync writes metadata, which a shared server refuses."""
    return "server" in (resource.provides or "").split(",") and bool(resource.owned)


def _server(resource: MyPlexResource) -> Server:
    register_secret(resource.accessToken)
    location_of = {}
    for connection in resource.connections:
        location = "relay" if connection.relay else ("local" if connection.local else "remote")
        location_of.setdefault(connection.uri, location)
        location_of.setdefault(connection.httpuri, location)
    urls = resource.preferred_connections()
    addresses = [Address(url.rstrip("/"), location_of.get(url, "remote")) for url in dict.fromkeys(urls)]
    return Server(resource.name, resource.clientIdentifier, resource.accessToken, addresses)


def identity(url: str, timeout: float = PROBE_TIMEOUT) -> str:
    """The machine identifier of the Plex server answering at ``url`` (``/identity`` needs no token)."""
    answer = requests.get(f"{url}/identity", headers={"Accept": "application/xml"}, timeout=timeout)
    answer.raise_for_status()
    machine = ElementTree.fromstring(answer.content).attrib.get("machineIdentifier")
    if not machine:
        raise ValueError("not a Plex server (no machine identifier)")
    return machine


def probe(servers: list[Server], timeout: float = PROBE_TIMEOUT) -> None:
    """Set each server's ``reached`` to its first address (plexapi's order) that answers as that server.

    All addresses are tried at once, in daemon threads: an address that hangs
    (a name that does not resolve, a host that drops packets) is given up on at
    the deadline without keeping the process alive.
    """
    answers: dict[tuple[int, str], str | BaseException] = {}

    def ask(index: int, url: str) -> None:
        try:
            answers[index, url] = identity(url, timeout)
        except Exception as exc:  # each address's own failure, reported by the caller
            answers[index, url] = exc

    threads = [
        threading.Thread(target=ask, args=(index, address.url), daemon=True, name="plexsync-probe")
        for index, server in enumerate(servers)
        for address in server.addresses
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for index, server in enumerate(servers):
        server.reached, server.failures = None, []
        for address in server.addresses:
            answer = answers.get((index, address.url), TimeoutError())
            if answer == server.machine_identifier:
                server.reached = address
                break
            if isinstance(answer, str):
                server.failures.append(f"{address.url}: another Plex server answers there")
            else:
                server.failures.append(f"{address.url}: {_failure(answer)}")


def choose(servers: list[Server], wanted: str | None = None) -> Server:
    """The server to sync (see the module doc); :class:`SigninError` says why none could be chosen."""
    if not servers:
        raise SigninError(
            "your Plex account has no Plex Media Server of its own (a server shared with you cannot be "
            "written to): sign in with the account that owns the server"
        )
    if wanted:
        named = [s for s in servers if wanted.casefold() in (s.name.casefold(), s.machine_identifier.casefold())]
        if not named:
            names = ", ".join(f"'{s.name}'" for s in servers)
            raise SigninError(f"your Plex account has no server named '{wanted}' (its servers: {names})")
        servers = named[:1]
    probe(servers)
    reached = [s for s in servers if s.reached is not None]
    if len(reached) == 1:
        return reached[0]
    if not reached:
        tried = "; ".join(f"'{s.name}': " + ", ".join(s.failures or ["no address known"]) for s in servers)
        raise SigninError(
            f"no address of your Plex server answers from this machine ({tried}); is Plex running? "
            "If Stash reaches it at another address (Docker, VPN), put that address into 'Plex URL' and run "
            "Link Plex account again"
        )
    local = [s for s in reached if s.reached is not None and s.reached.location == "local"]
    if len(local) == 1:
        return local[0]
    raise SeveralServers(local or reached, f"your Plex account has {len(local or reached)} servers that answer here")


def check_token(url: str, token: str, timeout: float) -> str:
    """The server's name, once it accepts ``token`` at ``url`` (as the worker will connect)."""
    try:
        server = PlexServer(url, token, session=requests.Session(), timeout=timeout)
    except Unauthorized:
        raise SigninError(f"the Plex server at {url} refused the token plex.tv gave for it (HTTP 401)") from None
    except (requests.RequestException, PlexApiException, ElementTree.ParseError) as exc:
        raise SigninError(f"the Plex server at {url} stopped answering: {_failure(exc)}") from None
    return server.friendlyName


def stored_server(servers: list[Server], url: str | None) -> Server | None:
    """The account's server already answering at the stored Plex URL, if any."""
    if not url:
        return None
    try:
        machine = identity(url)
    except Exception:  # not answering (any more): choose again
        return None
    return next((server for server in servers if server.machine_identifier == machine), None)


def find_server(
    signin: CodeSignin, account_token: str, wanted: str | None = None, current_url: str | None = None
) -> Link:
    """The server to sync and its token, for the account that just signed in."""
    account, servers = account_servers(signin.session, account_token, signin.timeout)
    kept = None if wanted else stored_server(servers, current_url)
    if kept is not None and current_url:
        url, server, location = current_url, kept, "stored"
    else:
        server = choose(servers, wanted)
        assert server.reached is not None
        url, location = server.reached.url, server.reached.location
    name = check_token(url, server.token, signin.timeout)
    return Link(url, server.token, name or server.name, location, account)
