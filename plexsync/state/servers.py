"""The Plex servers PlexSync has talked to: their ``machineIdentifier``, name
and the address the worker reaches them at, so the scene page can link to an
item in Plex Web without asking Plex (and without the token, which never
belongs in a link).

Plex Web addresses an item by server identity, not by address
(``#!/server/<machineIdentifier>/details?key=/library/metadata/<ratingKey>``,
as plexapi's ``PlexServer._buildWebURL`` builds it); the identity comes with
the server's root answer, which the worker reads anyway when it connects
(``PlexServer.machineIdentifier``). One row per server, written when a
process connects and only when something changed.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import peewee

from plexsync.state.db import BaseModel, upsert_target


class PlexServerSeen(BaseModel):
    machine_identifier = peewee.CharField(primary_key=True)
    address = peewee.TextField()  # scheme://host:port[/path], no credentials, no query
    name = peewee.TextField(null=True)
    seen_at = peewee.DoubleField()


def public_address(url: str) -> str:
    """``url`` without user, password, query or fragment: what may be shown and linked."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def remember(machine_identifier: str, url: str, name: str | None) -> bool:
    """Keep where this server was reached; True when that is news (then written)."""
    address = public_address(url)
    row = PlexServerSeen.get_or_none(PlexServerSeen.machine_identifier == machine_identifier)
    if row is not None and (row.address, row.name) == (address, name):
        return False
    PlexServerSeen.insert(
        machine_identifier=machine_identifier, address=address, name=name, seen_at=time.time()
    ).on_conflict(
        **upsert_target(PlexServerSeen.machine_identifier),
        preserve=[PlexServerSeen.address, PlexServerSeen.name, PlexServerSeen.seen_at],
    ).execute()
    return True


def get(machine_identifier: str | None) -> PlexServerSeen | None:
    if not machine_identifier:
        return None
    return PlexServerSeen.get_or_none(PlexServerSeen.machine_identifier == machine_identifier)
