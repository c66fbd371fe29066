"""A plex.tv emulator: sign-in by code (``/api/v2/pins``), the account (``/api/v2/user``)
and its servers with their connections (``/api/v2/resources``), as plexapi 4.18 sees them."""

from .model import Connection, PlexTv, Resource, plex_direct
from .server import PlexTvEmulator

__all__ = ["Connection", "PlexTv", "PlexTvEmulator", "Resource", "plex_direct"]
