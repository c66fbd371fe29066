"""Stash hook -> queued job. Runs in a fresh process for every hook firing.

Stash waits for this process before it finishes the edit that fired it (and
fires one process per object in bulk edits), so it does the least possible:
check the hook context, enqueue ``sync_scene`` and return. It sends nothing
to Stash or Plex and imports only huey; the worker does the rest.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: The hooks the manifest subscribes to.
SCENE_HOOKS = ("Scene.Update.Post", "Scene.Create.Post")


class HookInputError(ValueError):
    """The hook context is not something PlexSync can act on."""


def scene_id_of(hook_context: Any) -> str:
    """The scene id of a scene hook, or :class:`HookInputError` saying why not."""
    if not isinstance(hook_context, dict):
        raise HookInputError("hookContext is not an object")
    hook_type = hook_context.get("type")
    if hook_type not in SCENE_HOOKS:
        raise HookInputError(f"hook {str(hook_type)[:80]!r} is not handled (only {', '.join(SCENE_HOOKS)})")
    raw_id = hook_context.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        raise HookInputError(f"hookContext.id {str(raw_id)[:40]!r} is not a scene id")
    text = str(raw_id).strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise HookInputError(f"hookContext.id {text[:40]!r} is not a scene id")
    return str(int(text))


def _skip_redis_import() -> None:
    """huey imports redis at load time if it is installed (~100 ms, more than
    the whole hook otherwise). With the SQLite queue it is never used."""
    if not os.environ.get("PLEXSYNC_REDIS_URL"):
        sys.modules.setdefault("redis", None)  # type: ignore[arg-type]


def handle(hook_context: Any) -> str:
    """Enqueue the sync of the hook's scene; returns what Stash should log."""
    scene_id = scene_id_of(hook_context)
    _skip_redis_import()
    from plexsync.tasks import enqueue_scene

    # A scan found the scene's file changed or moved: Plex's copy may have moved too.
    rematch = hook_context.get("type") == "Scene.Update.Post" and hook_context.get("input") is None
    enqueue_scene(scene_id, rematch=rematch)
    return f"queued Plex sync of scene {scene_id}"
