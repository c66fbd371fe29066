"""Stash scene -> Plex metadata -> Plex edit parameters. Pure code, no I/O.

The edit parameters use Plex's edit language (see ../shared/plex-facts.md):
every written field is sent with ``.locked=1`` so Plex's own agents never
overwrite it, and every tag list is sent whole, because Plex replaces a list
with what it is sent. An empty list is cleared with ``<tag>[].tag=``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

#: Plex takes edits as query parameters; a URL of several hundred kB is refused
#: by servers and proxies alike. Longer Stash text is cut, never the whole edit.
MAX_TEXT = {"title": 500, "summary": 10_000, "studio": 500, "tag": 200}
MAX_TAGS = 200
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class PlexMetadata:
    """What a Plex item should show for one Stash scene."""

    title: str
    summary: str
    originally_available_at: str | None
    year: int | None
    studio: str
    genres: tuple[str, ...]
    actors: tuple[str, ...]


def _clean(text: Any, limit: int) -> str:
    """Stash text as Plex can store it: no control characters, bounded length."""
    if text is None:
        return ""
    cleaned = _CONTROL.sub("", str(text)).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def _names(items: Iterable[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """Distinct non-empty names in Stash's order (Plex tags are unique per item)."""
    names: list[str] = []
    folded: set[str] = set()
    for item in items or ():
        name = _clean((item or {}).get("name"), MAX_TEXT["tag"])
        if name and name.casefold() not in folded:
            names.append(name)
            folded.add(name.casefold())
        if len(names) >= MAX_TAGS:
            break
    return tuple(names)


def file_stem(path: str) -> str:
    """A file's name without extension, for Windows and POSIX paths alike."""
    pure = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    return pure.stem or pure.name


def _date(value: Any) -> tuple[str | None, int | None]:
    match = _DATE.match(str(value or "").strip())
    if not match:
        return None, None
    year, month, day = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and year >= 1800):
        return None, None
    return match.group(0), year


def scene_to_metadata(scene: Mapping[str, Any]) -> PlexMetadata:
    """Map a Stash scene (as read by :mod:`plexsync.stash.reader`) to Plex metadata."""
    files = scene.get("files") or []
    title = _clean(scene.get("title"), MAX_TEXT["title"])
    if not title and files:
        title = _clean(file_stem(files[0].get("path") or files[0].get("basename") or ""), MAX_TEXT["title"])
    date, year = _date(scene.get("date"))
    studio = scene.get("studio") or {}
    return PlexMetadata(
        title=title or f"Scene {scene.get('id', '')}".strip(),
        summary=_clean(scene.get("details"), MAX_TEXT["summary"]),
        originally_available_at=date,
        year=year,
        studio=_clean(studio.get("name"), MAX_TEXT["studio"]),
        genres=_names(scene.get("tags")),
        actors=_names(scene.get("performers")),
    )


def _tag_params(tag_type: str, names: tuple[str, ...]) -> dict[str, str]:
    params = {f"{tag_type}[{index}].tag.tag": name for index, name in enumerate(names)}
    if not names:
        params[f"{tag_type}[].tag"] = ""
    params[f"{tag_type}.locked"] = "1"
    return params


def edit_params(metadata: PlexMetadata, *, lock_poster: bool) -> dict[str, str]:
    """Every field of ``metadata`` as one Plex edit, each written field locked.

    ``lock_poster`` adds ``thumb.locked=1`` so that the uploaded Stash cover
    stays the item's poster.
    """
    params: dict[str, str] = {
        "title.value": metadata.title,
        "title.locked": "1",
        "summary.value": metadata.summary,
        "summary.locked": "1",
        "studio.value": metadata.studio,
        "studio.locked": "1",
        "originallyAvailableAt.value": metadata.originally_available_at or "",
        "originallyAvailableAt.locked": "1",
        "year.value": str(metadata.year) if metadata.year else "",
        "year.locked": "1",
    }
    params.update(_tag_params("genre", metadata.genres))
    params.update(_tag_params("actor", metadata.actors))
    if lock_poster:
        params["thumb.locked"] = "1"
    return params
