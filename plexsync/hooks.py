"""Stash hook -> queued job. Runs in a fresh process for every hook firing.

Stash waits for this process before it finishes the edit that fired it (and
fires one process per object in bulk edits), so it does the least possible:
check the hook context, enqueue one job and return. It sends nothing to Stash
or Plex and imports only huey; the worker does the rest (and is started by
:mod:`plexsync.worker.autostart` when none runs).

A scene hook queues that scene's sync. A performer, studio, tag or group hook
(a rename shows in every scene that has it, yet fires no scene hook) queues
one job that finds the affected scenes (:mod:`plexsync.sync.related`).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs every hook process milliseconds (issue #9)
if TYPE_CHECKING:
    from typing import Any

#: The hooks the manifest subscribes to for scenes.
SCENE_HOOKS = ("Scene.Update.Post", "Scene.Create.Post")
#: The hooks of what scenes point at: hook type -> (kind, change). Groups are
#: Plex collections; Stash also fires the deprecated Movie.* for them, which the
#: manifest leaves out so that one change is one job.
RELATED_HOOKS = {
    "Performer.Update.Post": ("performer", "update"),
    "Performer.Destroy.Post": ("performer", "destroy"),
    "Studio.Update.Post": ("studio", "update"),
    "Studio.Destroy.Post": ("studio", "destroy"),
    "Tag.Update.Post": ("tag", "update"),
    "Tag.Destroy.Post": ("tag", "destroy"),
    "Tag.Merge.Post": ("tag", "merge"),
    "Group.Update.Post": ("group", "update"),
    "Group.Destroy.Post": ("group", "destroy"),
}
HANDLED_HOOKS = (*SCENE_HOOKS, *RELATED_HOOKS)
#: The update-input fields behind what Plex shows of each kind (the scene
#: fragment, plexsync.stash.reader.SCENE_FIELDS, reads the objects' names, a
#: performer's photo and a studio's parent). An update hook whose
#: ``inputFields`` name none of them (a favourite or rating toggle, a bulk edit
#: of other fields) changes nothing in Plex: it queues no job, which would read
#: every scene of a performer with thousands. ``image`` is here even though
#: only the performer-photo setting uses it: a hook cannot read the settings.
SHOWN_INPUT_FIELDS = {
    "performer": ("name", "image"),
    "studio": ("name", "parent_id"),
    "tag": ("name",),
    "group": ("name",),
}
#: Stash ids are signed 64-bit integers (../shared/stash-plugins.md).
MAX_SCENE_ID = 2**63 - 1
#: More tags than anyone merges at once; a longer list is not Stash's.
MAX_MERGE_SOURCES = 10_000


class HookInputError(ValueError):
    """The hook context is not something PlexSync can act on."""


class RelatedChange:
    """A performer, studio, tag or group changed: every scene showing it needs a sync.

    A plain class, not a dataclass: ``dataclasses`` costs every hook process
    its import (issue #9)."""

    __slots__ = ("change", "kind", "object_id", "sources")

    def __init__(self, kind: str, change: str, object_id: str, sources: tuple[str, ...] = ()) -> None:
        self.kind = kind  # performer | studio | tag | group
        self.change = change  # update | destroy | merge
        self.object_id = object_id
        #: For a merge: the tags merged into ``object_id`` (gone now).
        self.sources = sources

    def _key(self) -> tuple:
        return (self.kind, self.change, self.object_id, self.sources)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RelatedChange) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"RelatedChange{self._key()!r}"

    def describe(self) -> str:
        merged = f" (merged from tag(s) {', '.join(self.sources)})" if self.sources else ""
        return f"queued Plex sync of the scenes of {self.kind} {self.object_id}{merged}"


def _hook_type(hook_context: Any) -> str:
    if not isinstance(hook_context, dict):
        raise HookInputError("hookContext is not an object")
    hook_type = hook_context.get("type")
    if hook_type not in HANDLED_HOOKS:
        raise HookInputError(f"hook {_shown(hook_type)} is not handled (only {', '.join(HANDLED_HOOKS)})")
    return hook_type


def scene_id_of(hook_context: Any) -> str:
    """The scene id of a scene hook, or :class:`HookInputError` saying why not."""
    hook_type = _hook_type(hook_context)
    if hook_type not in SCENE_HOOKS:
        raise HookInputError(f"hook {hook_type} is not a scene hook")
    return _id(hook_context.get("id"), "hookContext.id", "scene")


def related_change_of(hook_context: Any) -> RelatedChange:
    """The change a performer/studio/tag/group hook reports, or :class:`HookInputError`.

    Only the id is trusted for updates and destroys (a bulk destroy's input is
    a bare list of ids). A merge must name its sources: the merged tags are gone
    by the time the hook runs, and only their ids find the scenes that showed them.
    """
    hook_type = _hook_type(hook_context)
    if hook_type not in RELATED_HOOKS:
        raise HookInputError(f"hook {hook_type} is not a performer, studio, tag or group hook")
    kind, change = RELATED_HOOKS[hook_type]
    object_id = _id(hook_context.get("id"), "hookContext.id", kind)
    if change != "merge":
        return RelatedChange(kind, change, object_id)
    merge_input = hook_context.get("input")
    sources = merge_input.get("source") if isinstance(merge_input, dict) else None
    where = f"{hook_type}: hookContext.input.source"
    if not isinstance(sources, list):
        raise HookInputError(f"{where} {_shown(sources)} is not a list of the merged {kind} ids")
    if not sources or len(sources) > MAX_MERGE_SOURCES:
        raise HookInputError(f"{where} has {len(sources)} ids; a merge names 1 to {MAX_MERGE_SOURCES}")
    merged = tuple(dict.fromkeys(_id(raw, "hookContext.input.source", kind) for raw in sources))
    return RelatedChange(kind, change, object_id, tuple(i for i in merged if i != object_id))


def _id(raw_id: Any, where: str, kind: str) -> str:
    """A Stash id in its plain decimal form, from a JSON number or string."""
    refusal = f"is not a {kind} id (a whole number from 1 to 2^63-1)"
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        if 0 < raw_id <= MAX_SCENE_ID:
            return str(raw_id)
        raise HookInputError(f"{where} {_shown(raw_id)} {refusal}")
    if not isinstance(raw_id, str):
        raise HookInputError(f"{where} {_shown(raw_id)} {refusal}")
    text = raw_id.strip()
    # The length check comes first: int() of a few thousand digits raises.
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > 19 or not 0 < int(text) <= MAX_SCENE_ID:
        raise HookInputError(f"{where} {_shown(raw_id)} {refusal}")
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


def unshown_update(change: RelatedChange, hook_context: Any) -> str | None:
    """Why an update hook changes nothing Plex shows, or None when it may (or
    cannot tell: no ``inputFields``, as from a Stash that sends none)."""
    fields = hook_context.get("inputFields") if isinstance(hook_context, dict) else None
    if change.change != "update" or not isinstance(fields, list) or not fields:
        return None
    if not all(isinstance(name, str) for name in fields) or set(fields) & set(SHOWN_INPUT_FIELDS[change.kind]):
        return None
    changed = sorted({name for name in fields if name != "id" and name.isascii() and name.isidentifier()})[:8]
    return (
        f"{change.kind} {change.object_id}: {', '.join(changed) or 'nothing'} changed, "
        "which Plex does not show: no sync queued"
    )


def handle(hook_context: Any) -> str:
    """Enqueue the job the hook asks for; returns what Stash should log."""
    if isinstance(hook_context, dict) and hook_context.get("type") in RELATED_HOOKS:
        change = related_change_of(hook_context)
        unshown = unshown_update(change, hook_context)
        if unshown:
            return unshown
        _skip_redis_import()
        from plexsync.queue.producer import enqueue_related  # not plexsync.tasks: all of huey (issue #9)

        enqueue_related(change.kind, change.change, change.object_id, change.sources)
        return change.describe()
    scene_id = scene_id_of(hook_context)
    _skip_redis_import()
    from plexsync.queue.producer import enqueue_scene  # not plexsync.tasks: all of huey (issue #9)

    # A scan found the scene's file changed or moved: Plex's copy may have moved too.
    rematch = hook_context.get("type") == "Scene.Update.Post" and hook_context.get("input") is None
    enqueue_scene(scene_id, rematch=rematch)
    return f"queued Plex sync of scene {scene_id}"
