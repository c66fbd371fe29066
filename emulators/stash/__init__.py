"""An emulated Stash: a real GraphQL server on loopback that stashapi can talk to.

See :class:`StashEmulator`. The schema it serves (schema.graphql) is a strict
subset of real Stash's, so documents valid here are valid against Stash.
"""

from .server import StashEmulator

__all__ = ["StashEmulator"]
