"""Where each scene's files were last found in Plex, and how: the answer to
"is this scene in Plex, which item is it, and if not, why not?" without
asking Plex.

One row per scene a sync looked up: the match's outcome (``path``,
``fallback``: by file name and size, ``waiting``: inside a library's folder
but not scanned yet, ``outside``: in no library), the Plex server
(``machineIdentifier``) and, per Stash file, its Plex path, the items holding
it, the sections covering it, and for a file not found by its path the
nearest Plex file of the same name with the path rule that would lead there
(the match report's suggestion, computed from the index the sync already
holds: no extra Plex request).

Every sync reads its row (one prepared lookup) and writes only when the
match changed, so an unchanged re-sync of a whole library writes nothing
here (a write per scene would take the SQLite write lock every worker
shares, once a scene). ``since`` is when the current match was first seen.
Written by the worker, the CLI's ``sync`` and bulk pages alike
(:func:`plexsync.sync.scene.apply_scene`); read by ``plexsync inspect`` and
the scene page's panel (:mod:`plexsync.tools.inspect`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import peewee

from plexsync.state.db import BaseModel, Prepared, upsert_target


class SceneMatch(BaseModel):
    scene_id = peewee.CharField(primary_key=True)
    outcome = peewee.CharField()  # plexsync.matching.matcher: path | fallback | waiting | outside
    server = peewee.CharField(null=True)  # the Plex server's machineIdentifier
    files = peewee.TextField()  # JSON: see FileRecord
    since = peewee.DoubleField()


@dataclass(frozen=True)
class FileRecord:
    """One Stash file as the last sync found it in Plex (JSON-able fields only)."""

    stash_path: str
    plex_path: str
    outcome: str
    items: tuple[int, ...] = ()  # rating keys holding the file
    sections: tuple[tuple[int, str], ...] = ()  # (id, title) of the libraries whose folders cover plex_path
    nearest: str | None = None  # the Plex file of the same name a path rule most likely should reach
    rule: str | None = None  # "stash_prefix=plex_prefix" leading there

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"stash": self.stash_path, "plex": self.plex_path, "outcome": self.outcome}
        if self.items:
            found["items"] = list(self.items)
        if self.sections:
            found["sections"] = [list(section) for section in self.sections]
        if self.nearest:
            found["nearest"] = self.nearest
        if self.rule:
            found["rule"] = self.rule
        return found

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> FileRecord:
        return cls(
            stash_path=str(value.get("stash", "")),
            plex_path=str(value.get("plex", "")),
            outcome=str(value.get("outcome", "")),
            items=tuple(int(key) for key in value.get("items") or ()),
            sections=tuple((int(s[0]), str(s[1])) for s in value.get("sections") or ()),
            nearest=value.get("nearest"),
            rule=value.get("rule"),
        )


@dataclass(frozen=True)
class Recorded:
    scene_id: str
    outcome: str
    server: str | None
    files: tuple[FileRecord, ...]
    since: float

    @property
    def rating_keys(self) -> list[int]:
        return list(dict.fromkeys(key for file in self.files for key in file.items))


def _encode(files: tuple[FileRecord, ...]) -> str:
    return json.dumps([file.to_json() for file in files], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_held = Prepared(
    lambda: SceneMatch.select(SceneMatch.outcome, SceneMatch.server, SceneMatch.files).where(SceneMatch.scene_id == "")
)


def record(scene_id: str, outcome: str, server: str | None, files: tuple[FileRecord, ...]) -> bool:
    """Keep this match of the scene; True when it differs from the one kept (then written)."""
    encoded = _encode(files)
    if [tuple(row) for row in _held(scene_id)] == [(outcome, server, encoded)]:
        return False
    SceneMatch.insert(scene_id=scene_id, outcome=outcome, server=server, files=encoded, since=time.time()).on_conflict(
        **upsert_target(SceneMatch.scene_id),
        preserve=[SceneMatch.outcome, SceneMatch.server, SceneMatch.files, SceneMatch.since],
    ).execute()
    return True


def of(scene_id: str) -> Recorded | None:
    row = SceneMatch.get_or_none(SceneMatch.scene_id == scene_id)
    if row is None:
        return None
    try:
        files = tuple(FileRecord.from_json(value) for value in json.loads(row.files))
    except (ValueError, TypeError, KeyError, IndexError):
        files = ()  # written by another PlexSync version: the outcome alone is still true
    return Recorded(row.scene_id, row.outcome, row.server, files, row.since)


def forget(scene_id: str) -> None:
    SceneMatch.delete().where(SceneMatch.scene_id == scene_id).execute()
