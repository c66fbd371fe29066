"""Stash hook -> queued job. Runs in a fresh process for every hook firing.

Stash waits for this process before it finishes the edit that fired it (and
fires one process per object in bulk edits), so it does the least possible:
check the hook context, enqueue ``sync_scene`` and return. It sends nothing
to Stash or Plex and imports only huey; the worker does the rest (and is
started by :mod:`plexsync.ops.autostart` when none runs).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs every hook process milliseconds (issue #9)
if TYPE_CHECKING:
    from typing import Any

#: The hooks the manifest subscribes to.
SCENE_HOOKS = ("Scene.Update.Post", "Scene.Create.Post")
#: Stash ids are signed 64-bit integers (../shared/stash-plugins.md).
MAX_SCENE_ID = 2**63 - 1


class HookInputError(ValueError):
    """The hook context is not something PlexSync can act on."""


def scene_id_of(hook_context: Any) -> str:
    """The scene id of a scene hook, or :class:`HookInputError` saying why not."""
    if not isinstance(hook_context, dict):
        raise HookInputError("hookContext is not an object")
    hook_type = hook_context.get("type")
    if hook_type not in SCENE_HOOKS:
        raise HookInputError(f"hook {_shown(hook_type)} is not handled (only {', '.join(SCENE_HOOKS)})")
    raw_id = hook_context.get("id")
    refusal = "is not a scene id (a whole number from 1 to 2^63-1)"
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        if 0 < raw_id <= MAX_SCENE_ID:
            return str(raw_id)
        raise HookInputError(f"hookContext.id {_shown(raw_id)} {refusal}")
    if not isinstance(raw_id, str):
        raise HookInputError(f"hookContext.id {_shown(raw_id)} {refusal}")
    text = raw_id.strip()
    # The length check comes first: int() of a few thousand digits raises.
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > 19 or not 0 < int(text) <= MAX_SCENE_ID:
        raise HookInputError(f"hookContext.id {_shown(raw_id)} {refusal}")
    return str(int(text))


def _shown(value: Any) -> str:
    """A short, safe rendering of a bad value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 128 else "(a number too large to be an id)"
    if isinstance(value, str):
        return repr(value[:40]) + (f"... ({len(value)} characters)" if len(value) > 40 else "")
    if isinstance(value, dict):
        return "(an object)"
    if isinstance(value, list):
        return "(a list)"
    return f"({str(value)[:60]})"


def _skip_redis_import() -> None:
    """huey imports redis at load time if it is installed (~100 ms, more than
    the whole hook otherwise). With the SQLite queue it is never used."""
    if not os.environ.get("PLEXSYNC_REDIS_URL"):
        sys.modules.setdefault("redis", None)  # type: ignore[arg-type]


def handle(hook_context: Any) -> str:
    """Enqueue the sync of the hook's scene; returns what Stash should log."""
    scene_id = scene_id_of(hook_context)
    _skip_redis_import()
    from plexsync.queue.producer import enqueue_scene  # not plexsync.tasks: all of huey (issue #9)

    # A scan found the scene's file changed or moved: Plex's copy may have moved too.
    rematch = hook_context.get("type") == "Scene.Update.Post" and hook_context.get("input") is None
    enqueue_scene(scene_id, rematch=rematch)
    return f"queued Plex sync of scene {scene_id}"
