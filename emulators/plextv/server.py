"""plex.tv's sign-in by code and its device list, as plexapi 4.18.3 calls and parses them.

Read from plexapi's ``myplex.py`` (the version pinned in requirements.txt):

* ``MyPlexPinLogin`` (``PINS = 'https://plex.tv/api/v2/pins'``): ``POST`` it
  (``?strong=True`` only for OAuth) and keep the answer's ``id`` and ``code``
  attributes; then ``GET /api/v2/pins/{id}`` once a second (``POLLINTERVAL``)
  until the answer's ``authToken`` attribute is not empty. Any non-2xx answer
  raises ``BadRequest``, which its poller takes for "expired". Each request
  carries ``BASE_HEADERS`` (``X-Plex-Client-Identifier``, ``X-Plex-Product``...)
  and no ``Accept`` header: the answer is parsed as XML.
* ``MyPlexAccount(token=...)`` reads ``https://plex.tv/api/v2/user`` with
  ``X-Plex-Token``; ``_loadData`` needs the ``scrobbleTypes`` attribute (it
  splits it) and the ``<subscription>`` and ``<profile>`` children, and casts
  ``0``/``1`` flags (an empty flag raises ``ValueError``). ``joinedAt`` and
  ``rememberExpiresAt`` are Unix seconds.
* ``MyPlexAccount.resources()`` reads ``MyPlexResource.key``,
  ``https://plex.tv/api/v2/resources?includeHttps=1&includeRelay=1&includeIPv6=1``:
  a ``<resources>`` list of ``<resource>`` (``accessToken``, ``clientIdentifier``,
  ``owned``, ``provides``, ``presence``, ``createdAt``/``lastSeenAt`` as
  ``%Y-%m-%dT%H:%M:%SZ``...), each with ``<connections><connection protocol
  address port uri local relay IPv6/></connections>``. plexapi's
  ``preferred_connections`` tries local, then remote, then relay, each ``uri``
  (https first) and ``http://address:port``, and skips local ones of a server
  the account does not own.
* ``MyPlexAccount.link(pin)`` is what the plex.tv/link page does for a signed-in
  user: ``PUT /api/v2/pins/link`` with the form field ``code`` and the
  account's token. Tests "enter the code" with it (or :meth:`PlexTvEmulator.enter_code`).

Not in plexapi's source, from plex.tv's API description (plexapi.dev, the
OpenAPI document ../shared/plex-api-spec describes ``/user`` and
``/resources`` with): a code answers ``201 Created``, lives ``expiresIn`` =
900 s (1800 s when strong), and a request without ``X-Plex-Client-Identifier``
is refused with 400 (error code 1000); a wrong token with 401 (code 1001). A
code read by another client identifier than the one that asked for it, or
expired, is 404 "Code not found or expired" (code 1020), as clients of the
real service report it. plex.tv answers JSON to ``Accept: application/json``;
plexapi never asks for it, so this emulator answers 406 rather than pretend.
"""

from __future__ import annotations

import re
import time
from typing import ClassVar
from urllib.parse import parse_qsl
from xml.sax.saxutils import quoteattr

from emulators.http import EmulatorServer, Request, Response

from .model import PIN_LIFETIME, Pin, PlexTv, Resource

_XML = "application/xml; charset=utf-8"


def _element(tag: str, attributes: dict[str, str], children: str = "") -> str:
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    return f"<{tag}{attrs}>{children}</{tag}>" if children else f"<{tag}{attrs}/>"


def _document(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _error(status: int, code: int, message: str) -> Response:
    body = _element("errors", {}, _element("error", {"code": str(code), "message": message, "status": str(status)}))
    return Response(status=status, body=_document(body), content_type=_XML)


class PlexTvEmulator(EmulatorServer):
    """plex.tv on loopback for the real plexapi (see the module docstring).

    Point plexapi at it with ``PLEXSYNC_PLEX_TV_URL`` (:mod:`plexsync.plex.signin`).
    ``state`` holds the account, its servers and the codes (:class:`~emulators.plextv.model.PlexTv`).
    """

    #: Routes as plex.tv's API description names them under ``https://plex.tv/api/v2``.
    ROUTES: ClassVar[list[tuple[str, str]]] = [
        ("POST", "/api/v2/pins"),
        ("GET", "/api/v2/pins/{pinID}"),
        ("PUT", "/api/v2/pins/link"),
        ("GET", "/api/v2/user"),
        ("GET", "/api/v2/resources"),
    ]

    def __init__(self, port: int = 0, pin_lifetime: float = PIN_LIFETIME) -> None:
        super().__init__(port=port)
        self.state = PlexTv(pin_lifetime=pin_lifetime)

    @property
    def account_token(self) -> str:
        return self.state.account.auth_token

    def add_server(self, *args, **kwargs) -> Resource:
        return self.state.add_server(*args, **kwargs)

    def enter_code(self, code: str) -> bool:
        return self.state.enter_code(code)

    # -- HTTP -----------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if "application/json" in (request.header("Accept") or ""):
            return Response(status=406, body=b"JSON answers are not emulated (plexapi asks for XML)")
        client = request.header("X-Plex-Client-Identifier") or request.arg("X-Plex-Client-Identifier")
        if not client:
            return _error(400, 1000, "X-Plex-Client-Identifier is missing")
        path = request.path.rstrip("/")
        if path == "/api/v2/pins" and request.method == "POST":
            return self._new_pin(request, client)
        if path == "/api/v2/pins/link" and request.method == "PUT":
            return self._link(request)
        if (match := re.fullmatch(r"/api/v2/pins/(\d+)", path)) and request.method == "GET":
            return self._pin(int(match.group(1)), client)
        if path == "/api/v2/user" and request.method == "GET":
            return self._user(request)
        if path == "/api/v2/resources" and request.method == "GET":
            return self._resources(request)
        return _error(404, 1002, "Not Found")

    def _signed_in(self, request: Request) -> bool:
        token = request.header("X-Plex-Token") or request.arg("X-Plex-Token")
        return bool(token) and token == self.state.account.auth_token

    def _pin_answer(self, pin: Pin, status: int = 200) -> Response:
        attributes = {
            "id": str(pin.id),
            "code": pin.code,
            "product": pin.product,
            "trusted": "0",
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "expiresIn": str(max(0, round(pin.expires_at - self.state.clock()))),
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(pin.expires_at),
            "authToken": pin.auth_token or "",
            "newRegistration": "",
        }
        location = _element("location", {"code": "US", "country": "United States", "time_zone": "America/New_York"})
        return Response(status=status, body=_document(_element("pin", attributes, location)), content_type=_XML)

    def _new_pin(self, request: Request, client: str) -> Response:
        strong = (request.arg("strong") or "").lower() in ("1", "true")
        pin = self.state.new_pin(client, request.header("X-Plex-Product") or "", strong)
        return self._pin_answer(pin, status=201)

    def _pin(self, pin_id: int, client: str) -> Response:
        pin = self.state.live_pin(pin_id, client)
        if pin is None:
            return _error(404, 1020, "Code not found or expired")
        return self._pin_answer(pin)

    def _link(self, request: Request) -> Response:
        if not self._signed_in(request):
            return _error(401, 1001, "User could not be authenticated")
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        if not self.state.enter_code(form.get("code", "")):
            return _error(404, 1020, "Code not found or expired")
        return Response(status=204, body=b"", content_type=_XML)

    def _user(self, request: Request) -> Response:
        if not self._signed_in(request):
            return _error(401, 1001, "User could not be authenticated")
        account = self.state.account
        flags = {"confirmed": "1", "emailOnlyAuth": "0", "hasPassword": "1", "protected": "0", "restricted": "0"}
        flags |= {"guest": "0", "home": "0", "homeAdmin": "0", "experimentalFeatures": "0"}
        flags |= {"twoFactorEnabled": "0", "backupCodesCreated": "0", "mailingListActive": "0"}
        attributes = {
            "id": str(account.id),
            "uuid": account.uuid,
            "username": account.username,
            "title": account.username,
            "email": account.email,
            "friendlyName": "",
            "locale": "",
            "joinedAt": "1546300800",
            "thumb": f"https://plex.tv/users/{account.uuid}/avatar",
            "authToken": account.auth_token,
            "mailingListStatus": "inactive",
            "scrobbleTypes": "",
            "country": "US",
            "subscriptionDescription": "",
            "homeSize": "1",
            "maxHomeSize": "15",
            "rememberExpiresAt": str(int(self.state.clock()) + 30 * 86400),
            **flags,
        }
        subscription = _element("subscription", {"active": "0", "subscribedAt": "", "status": "Inactive"})
        profile = _element(
            "profile",
            {
                "autoSelectAudio": "1",
                "defaultAudioLanguage": "en",
                "defaultSubtitleLanguage": "en",
                "autoSelectSubtitle": "0",
                "defaultSubtitleAccessibility": "0",
                "defaultSubtitleForces": "0",
            },
        )
        children = subscription + profile + "<entitlements/><roles/><services/>"
        return Response(body=_document(_element("user", attributes, children)), content_type=_XML)

    def _resources(self, request: Request) -> Response:
        if not self._signed_in(request):
            return _error(401, 1001, "User could not be authenticated")
        https = request.arg("includeHttps") == "1"
        relay = request.arg("includeRelay") == "1"
        ipv6 = request.arg("includeIPv6") == "1"
        with self.state.lock:
            resources = list(self.state.resources)
        listed = "".join(self._resource(resource, https, relay, ipv6) for resource in resources)
        return Response(body=_document(_element("resources", {"size": str(len(resources))}, listed)), content_type=_XML)

    def _resource(self, resource: Resource, https: bool, relay: bool, ipv6: bool) -> str:
        connections = ""
        for connection in resource.connections:
            attributes = connection.attributes()
            if (connection.relay and not relay) or (connection.ipv6 and not ipv6):
                continue
            if attributes["protocol"] == "https" and not https:
                # without includeHttps plex.tv lists the plain address instead of the plex.direct name
                attributes |= {"protocol": "http", "uri": f"http://{attributes['address']}:{attributes['port']}"}
            connections += _element("connection", attributes)
        now = self.state.clock()
        attributes = {
            "name": resource.name,
            "product": resource.product,
            "productVersion": "1.41.6.9685-d301f511a" if "server" in resource.provides else "4.145.1",
            "platform": "Linux",
            "platformVersion": "6.1.0",
            "device": "PC",
            "clientIdentifier": resource.client_identifier,
            "createdAt": _iso(now - 86400 * 400),
            "lastSeenAt": _iso(now - (60 if resource.presence else 86400 * 3)),
            "provides": resource.provides,
            "ownerId": "" if resource.owned else "9120001",
            "sourceTitle": resource.source_title or "",
            "publicAddress": "203.0.113.7",
            "accessToken": resource.access_token,
            "owned": "1" if resource.owned else "0",
            "home": "0",
            "synced": "0",
            "relay": "1",
            "presence": "1" if resource.presence else "0",
            "httpsRequired": "0",
            "publicAddressMatches": "1",
            "dnsRebindingProtection": "0",
            "natLoopbackSupported": "0",
        }
        if resource.owned:
            del attributes["ownerId"], attributes["sourceTitle"]
        return _element(
            "resource", attributes, _element("connections", {}, connections) if connections else "<connections/>"
        )
