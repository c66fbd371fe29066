"""The account, its devices and the sign-in codes of the plex.tv emulator, in plain Python.

A test builds the world here (``PlexTv.add_server(...)``) and reads it back;
:mod:`emulators.plextv.server` serves it the way plex.tv answers plexapi.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: plex.tv's lifetime of a 4-character code (``expiresIn`` of ``POST /api/v2/pins``
#: without ``strong``: 900 s, plexapi.dev's description of plex.tv's API; strong
#: codes, for OAuth, live 1800 s).
PIN_LIFETIME = 900.0
STRONG_PIN_LIFETIME = 1800.0
#: The characters of a 4-character code (the ones plex.tv/link shows: capitals and digits).
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Connection:
    """One way to reach a device, as ``/api/v2/resources`` lists it.

    ``uri`` is what plexapi calls ``uri``; ``address``/``port``/``protocol``
    default to the URI's (plexapi builds its ``httpuri`` from address and port).
    For an ``https`` connection real plex.tv gives a plex.direct URI whose host
    spells the address with dashes (:func:`plex_direct`).
    """

    uri: str
    local: bool = True
    relay: bool = False
    ipv6: bool = False
    address: str | None = None
    port: int | None = None
    protocol: str | None = None

    def attributes(self) -> dict[str, str]:
        parts = urlsplit(self.uri)
        protocol = self.protocol or parts.scheme
        port = self.port or parts.port or (443 if protocol == "https" else 80)
        return {
            "protocol": protocol,
            "address": self.address or parts.hostname or "",
            "port": str(port),
            "uri": self.uri,
            "local": "1" if self.local else "0",
            "relay": "1" if self.relay else "0",
            "IPv6": "1" if self.ipv6 else "0",
        }


def plex_direct(
    address: str, port: int, *, local: bool = True, relay: bool = False, server_hash: str = ""
) -> Connection:
    """An https connection as plex.tv lists it for a server with a certificate:
    ``https://192-168-1-10.<hash>.plex.direct:32400`` (the address dashed, the
    server's certificate hash), beside the address itself."""
    digest = server_hash or uuid.uuid5(uuid.NAMESPACE_DNS, address).hex
    host = address.replace(".", "-").replace(":", "-")
    return Connection(
        f"https://{host}.{digest}.plex.direct:{port}",
        local=local,
        relay=relay,
        address=address,
        port=port,
        protocol="https",
    )


@dataclass
class Resource:
    """A device of the account (``<resource>``): a Plex Media Server or a player."""

    name: str
    client_identifier: str
    access_token: str
    connections: list[Connection] = field(default_factory=list)
    product: str = "Plex Media Server"
    provides: str = "server"
    owned: bool = True
    #: Whether plex.tv has heard from it lately (``presence``).
    presence: bool = True
    #: The owner's name, for a server shared with the account (``owned`` false).
    source_title: str | None = None


@dataclass
class Pin:
    """One code: created by a device, entered by the account's user, read back once with its token."""

    id: int
    code: str
    client_identifier: str
    product: str
    strong: bool
    created_at: float
    expires_at: float
    auth_token: str | None = None


@dataclass
class Account:
    id: int
    uuid: str
    username: str
    email: str
    auth_token: str


class PlexTv:
    """State of the emulated plex.tv: one account, its devices, the codes asked for."""

    def __init__(self, clock: Callable[[], float] = time.time, pin_lifetime: float = PIN_LIFETIME) -> None:
        self.clock = clock
        #: How long a new 4-character code lives (a test shortens it to see one expire).
        self.pin_lifetime = pin_lifetime
        self.lock = threading.RLock()
        self.account = Account(
            id=7263841,
            uuid=uuid.uuid4().hex[:16],
            username="stash-fan",
            email="stash-fan@example.com",
            auth_token="account-" + secrets.token_urlsafe(15),
        )
        self.resources: list[Resource] = []
        self.pins: dict[int, Pin] = {}
        self._next_pin = 1_127_400_000

    # -- the account's devices ------------------------------------------------
    def add_server(
        self,
        name: str,
        machine_identifier: str,
        access_token: str,
        connections: list[Connection],
        *,
        owned: bool = True,
        presence: bool = True,
        source_title: str | None = None,
    ) -> Resource:
        """A Plex Media Server of the account (its ``clientIdentifier`` is the server's machine identifier)."""
        resource = Resource(
            name=name,
            client_identifier=machine_identifier,
            access_token=access_token,
            connections=list(connections),
            owned=owned,
            presence=presence,
            source_title=source_title,
        )
        with self.lock:
            self.resources.append(resource)
        return resource

    def add_player(self, name: str, product: str = "Plex Web") -> Resource:
        """A player the account signed in on: listed among the resources too, with no connections."""
        resource = Resource(
            name=name,
            client_identifier=uuid.uuid4().hex,
            access_token="device-" + secrets.token_urlsafe(12),
            product=product,
            provides="client,player,pubsub-player",
        )
        with self.lock:
            self.resources.append(resource)
        return resource

    # -- codes ------------------------------------------------------------------
    def new_pin(self, client_identifier: str, product: str, strong: bool) -> Pin:
        now = self.clock()
        lifetime = STRONG_PIN_LIFETIME if strong else self.pin_lifetime
        length = 25 if strong else 4
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789" if strong else CODE_ALPHABET
        with self.lock:
            code = "".join(secrets.choice(alphabet) for _ in range(length))
            pin = Pin(self._next_pin, code, client_identifier, product, strong, now, now + lifetime)
            self._next_pin += 1
            self.pins[pin.id] = pin
        return pin

    def live_pin(self, pin_id: int, client_identifier: str) -> Pin | None:
        """The code with this id, if it was made by this client and has not expired."""
        with self.lock:
            pin = self.pins.get(pin_id)
        if pin is None or pin.client_identifier != client_identifier or self.clock() >= pin.expires_at:
            return None
        return pin

    def enter_code(self, code: str) -> bool:
        """What the user does at plex.tv/link, signed in: the device that asked for
        ``code`` gets the account's token. False when no live code matches."""
        now = self.clock()
        with self.lock:
            for pin in self.pins.values():
                if not pin.strong and pin.code == code.strip().upper() and now < pin.expires_at:
                    pin.auth_token = self.account.auth_token
                    return True
        return False

    def codes_waiting(self) -> list[str]:
        """The live codes nobody has entered yet (what a test 'sees' to type in)."""
        now = self.clock()
        with self.lock:
            return [pin.code for pin in self.pins.values() if pin.auth_token is None and now < pin.expires_at]
