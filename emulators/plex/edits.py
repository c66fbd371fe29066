"""Plex's metadata edit language, as sent in the query of
``PUT /library/sections/{id}/all`` and ``PUT /library/metadata/{ids}``.

Parsing is separate from applying so that a malformed request is refused
(400) before any item changes, as one request is one change in Plex.

Grammar (the spec's ``updateItems``, and what plexapi's mixins send):

* ``<field>.value=v`` sets a field; ``<field>.locked=1|0`` locks or unlocks it.
* ``<tag>[i].tag.tag=name`` (with optional ``<tag>[i].tagging.text|thumb=..``):
  the indexed tags sent REPLACE the item's whole list of that tag type.
* ``<tag>[].tag.tag-=a,b`` removes those tags (each name URL-quoted by plexapi).
* ``<tag>[].tag=`` removes every tag of that type.
* ``<tag>.locked=1|0`` locks or unlocks the tag list.

Parameters outside the grammar (``type``, ``id``, tokens, include flags) are
ignored; a parameter that uses the grammar with an unknown field, an unknown
tag type or a bad value is refused, where Plex's answer is 400 "the set of
parameters are inconsistent or invalid values".

**Each item type holds its own fields** (:data:`EDITABLE`, from plexapi 4.18's
``mixins/__init__.py``: ``MovieEditMixins``, ``ShowEditMixins``,
``SeasonEditMixins``, ``EpisodeEditMixins``, and ``video.py``'s ``Episode``,
which reads ``<Role>`` but no ``<Genre>``, ``studio`` or ``originalTitle``). An
episode has no genre, studio, original title, tagline or country. What a real
server does with such a parameter is unverified (../shared/plex-facts.md: "ignore
it or answer 400"); the emulator **drops it silently** and answers 200, because
that is the outcome a client cannot notice by itself: the edit "succeeds" and
Plex shows nothing, which is how a TV library looks synced in a log and not in
Plex. A 400 would be the kinder server; a client that sends each type only its
own fields is right on both. Dropped parameters are returned by :func:`apply`
(the server keeps them in ``PlexEmulator.ignored_edits`` for tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote

from .model import EPISODE, MOVIE, SEASON, SHOW, TAG_TYPES, Item, Tag


class EditError(ValueError):
    """The request is malformed: Plex answers 400."""


def _text(value: str) -> str:
    return value


def _date(value: str) -> str | None:
    if not value:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        raise EditError(f"not a YYYY-MM-DD date: {value!r}") from None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise EditError(f"not a YYYY-MM-DD date: {value!r}")
    return value


def _int(value: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise EditError(f"not an integer: {value!r}") from None


def _rating(value: str) -> float | None:
    if not value:
        return None
    try:
        rating = float(value)
    except ValueError:
        raise EditError(f"not a number: {value!r}") from None
    if rating == -1:
        return None
    if not 0 <= rating <= 10:
        raise EditError(f"rating out of 0..10: {value!r}")
    return rating


#: Editable fields: edit-language name -> (Item attribute, parser of the raw value).
FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "title": ("title", _text),
    "titleSort": ("title_sort", _text),
    "originalTitle": ("original_title", _text),
    "summary": ("summary", _text),
    "studio": ("studio", _text),
    "tagline": ("tagline", _text),
    "contentRating": ("content_rating", _text),
    "originallyAvailableAt": ("originally_available_at", _date),
    "year": ("year", _int),
    "userRating": ("user_rating", _rating),
    "addedAt": ("added_at", _int),
}
#: Names that can be locked but not given a value here (artwork is uploaded).
LOCK_ONLY = ("thumb", "art")
LOCKABLE = frozenset(FIELDS) | frozenset(LOCK_ONLY) | frozenset(TAG_TYPES)

_COMMON = frozenset({"title", "summary", "userRating", "addedAt", *LOCK_ONLY})
#: Field and tag names each item type holds (see the module docstring). ``year``
#: goes with the date on every type that has one (Plex derives it, plexapi reads it).
EDITABLE: dict[int, frozenset[str]] = {
    MOVIE: frozenset(FIELDS) | frozenset(LOCK_ONLY) | frozenset(TAG_TYPES),
    SHOW: _COMMON
    | {"titleSort", "originalTitle", "studio", "tagline", "contentRating", "originallyAvailableAt", "year"}
    | {"genre", "collection", "label", "actor"},
    SEASON: _COMMON | {"collection", "label"},
    EPISODE: _COMMON
    | {"titleSort", "contentRating", "originallyAvailableAt", "year"}
    | {"collection", "director", "label", "writer", "actor"},
}
_NAME_OF_ATTR = {attr: name for name, (attr, _parser) in FIELDS.items()}

_VALUE = re.compile(r"^(\w+)\.value$")
_LOCKED = re.compile(r"^(\w+)\.locked$")
_TAG = re.compile(r"^(\w+)\[(\d+)\]\.tag\.tag$")
_TAGGING = re.compile(r"^(\w+)\[(\d+)\]\.tagging\.(text|thumb|art|theme)$")
_REMOVE = re.compile(r"^(\w+)\[\]\.tag\.tag-$")
_CLEAR = re.compile(r"^(\w+)\[\]\.tag$")


@dataclass
class TagValue:
    tag: str = ""
    text: str | None = None
    thumb: str | None = None


@dataclass
class EditPlan:
    values: dict[str, object] = field(default_factory=dict)  # Item attribute -> new value
    locks: dict[str, bool] = field(default_factory=dict)
    clear: set[str] = field(default_factory=set)
    replace: dict[str, dict[int, TagValue]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)

    @property
    def reorders(self) -> bool:
        """A title change moves the item in Plex's default listing order."""
        return "title" in self.values or "title_sort" in self.values


def _tag_type(name: str) -> str:
    if name not in TAG_TYPES:
        raise EditError(f"unknown tag type {name!r}")
    return name


def parse(query: Iterable[tuple[str, str]]) -> EditPlan:
    """Read the edit parameters of one request; raise :class:`EditError` when malformed."""
    plan = EditPlan()
    for key, value in query:
        if match := _VALUE.match(key):
            name = match.group(1)
            if name not in FIELDS:
                raise EditError(f"unknown or read-only field {name!r}")
            attr, parser = FIELDS[name]
            plan.values[attr] = parser(value)
        elif match := _LOCKED.match(key):
            name = match.group(1)
            if name not in LOCKABLE:
                raise EditError(f"unknown field {name!r}")
            if value not in ("0", "1"):
                raise EditError(f"{key} must be 0 or 1")
            plan.locks[name] = value == "1"
        elif match := _TAG.match(key):
            kind = _tag_type(match.group(1))
            slot = plan.replace.setdefault(kind, {}).setdefault(int(match.group(2)), TagValue())
            slot.tag = value
        elif match := _TAGGING.match(key):
            kind = _tag_type(match.group(1))
            slot = plan.replace.setdefault(kind, {}).setdefault(int(match.group(2)), TagValue())
            if match.group(3) == "text":
                slot.text = value
            elif match.group(3) == "thumb":
                slot.thumb = value
        elif match := _REMOVE.match(key):
            names = [unquote(n) for n in value.split(",") if n]
            plan.remove.setdefault(_tag_type(match.group(1)), []).extend(names)
        elif match := _CLEAR.match(key):
            plan.clear.add(_tag_type(match.group(1)))
        elif "[" in key or key.endswith((".value", ".locked")):
            raise EditError(f"malformed edit parameter {key!r}")
    for kind, slots in plan.replace.items():
        if any(not slot.tag for slot in slots.values() if slot.text or slot.thumb):
            raise EditError(f"{kind}[i].tagging without {kind}[i].tag.tag")
    return plan


def for_type(plan: EditPlan, item_type: int) -> tuple[EditPlan, list[str]]:
    """The part of ``plan`` an item of ``item_type`` can hold, and the names dropped (sorted)."""
    holds = EDITABLE[item_type]
    dropped = {_NAME_OF_ATTR[attr] for attr in plan.values if _NAME_OF_ATTR[attr] not in holds}
    dropped |= {name for name in (*plan.locks, *plan.clear, *plan.replace, *plan.remove) if name not in holds}
    if not dropped:
        return plan, []
    kept = EditPlan(
        values={attr: v for attr, v in plan.values.items() if _NAME_OF_ATTR[attr] in holds},
        locks={name: v for name, v in plan.locks.items() if name in holds},
        clear={name for name in plan.clear if name in holds},
        replace={name: v for name, v in plan.replace.items() if name in holds},
        remove={name: v for name, v in plan.remove.items() if name in holds},
    )
    return kept, sorted(dropped)


def apply(plan: EditPlan, item: Item, tag_id: Callable[[str, str], int]) -> list[str]:
    """Change one item as Plex does; locking is only what ``.locked`` says. Returns
    the fields and tag types dropped because the item's type has none (sorted)."""
    plan, dropped = for_type(plan, item.type)
    for attr, value in plan.values.items():
        if attr in ("title_sort", "original_title", "summary", "studio", "tagline", "content_rating"):
            value = value or ""
        if attr == "title" and not value:
            continue  # Plex keeps a title: an empty one is not stored
        if attr == "added_at" and value is None:
            continue
        setattr(item, attr, value)
    for kind in plan.clear:
        item.tags.pop(kind, None)
    for kind, slots in plan.replace.items():
        tags: list[Tag] = []
        seen: set[str] = set()
        for index in sorted(slots):
            slot = slots[index]
            if slot.tag and slot.tag not in seen:
                seen.add(slot.tag)
                tags.append(Tag(slot.tag, tag_id(kind, slot.tag), slot.text, slot.thumb))
        item.tags[kind] = tags
    for kind, names in plan.remove.items():
        kept = [t for t in item.tags.get(kind, ()) if t.tag not in names]
        item.tags[kind] = kept
    for kind in [k for k, tags in item.tags.items() if not tags]:
        del item.tags[kind]
    if plan.locks:
        locked = set(item.locked)
        for name, lock in plan.locks.items():
            (locked.add if lock else locked.discard)(name)
        item.locked = frozenset(locked)
    return dropped
