"""A Plex Media Server emulator that the real plexapi talks to over loopback HTTP."""

from .model import PlexItem
from .server import PlexEmulator

__all__ = ["PlexEmulator", "PlexItem"]
