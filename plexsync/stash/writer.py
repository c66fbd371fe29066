"""Writing play activity and ratings into Stash, and the reads that check them.

Through :class:`~plexsync.stash.reader.StashReader`'s session, so timeouts,
error classification and secrets are handled once. Mutations are never sent
twice by that session (:mod:`plexsync.retrying`): a play added twice would be
two plays. Whether a write whose answer was lost landed is the caller's
question (:mod:`plexsync.playback.apply` looks in the scene's play history).

Of these writes only the rating fires a hook (``sceneUpdate``:
``Scene.Update.Post``); ``sceneAddPlay`` and ``sceneSaveActivity`` fire none
(../shared/stash-plugins.md).
"""

from __future__ import annotations

from typing import Any

from plexsync.stash import times
from plexsync.stash.reader import StashReader

ACTIVITY_FIELDS = "id rating100 updated_at play_history resume_time play_duration files { path }"

SCENE_ACTIVITY_QUERY = f"""
query PlexSyncSceneActivity($id: ID) {{
  findScene(id: $id) {{ {ACTIVITY_FIELDS} }}
}}
"""

SCENES_BY_PATH_QUERY = f"""
query PlexSyncScenesByPath($filter: SceneFilterType) {{
  findScenes(scene_filter: $filter, filter: {{per_page: 20}}) {{
    scenes {{ {ACTIVITY_FIELDS} }}
  }}
}}
"""

ADD_PLAY = """
mutation PlexSyncAddPlay($id: ID!, $times: [Timestamp!]) {
  sceneAddPlay(id: $id, times: $times) { count history }
}
"""

SAVE_ACTIVITY = """
mutation PlexSyncSaveActivity($id: ID!, $resume: Float, $duration: Float) {
  sceneSaveActivity(id: $id, resume_time: $resume, playDuration: $duration)
}
"""

SET_RATING = """
mutation PlexSyncSetRating($input: SceneUpdateInput!) {
  sceneUpdate(input: $input) { id rating100 }
}
"""

ALL_QUERIES = (SCENE_ACTIVITY_QUERY, SCENES_BY_PATH_QUERY, ADD_PLAY, SAVE_ACTIVITY, SET_RATING)


class StashWriter:
    def __init__(self, reader: StashReader) -> None:
        self._reader = reader

    def scene_activity(self, scene_id: str) -> dict[str, Any] | None:
        return self._reader._query(SCENE_ACTIVITY_QUERY, {"id": scene_id}).get("findScene")

    def scenes_with_path(self, stash_path: str) -> list[dict[str, Any]]:
        """Scenes with a file at this path. Stash's EQUALS is SQL ``LIKE`` (``%`` and
        ``_`` match anything, case-insensitive): the caller compares the paths itself."""
        criterion = {"path": {"value": stash_path, "modifier": "EQUALS"}}
        found = self._reader._query(SCENES_BY_PATH_QUERY, {"filter": criterion})
        return found["findScenes"]["scenes"]

    def add_play(self, scene_id: str, viewed_at: int) -> list[str]:
        """One play at ``viewed_at`` (Unix); the scene's play history after it."""
        answer = self._reader._query(ADD_PLAY, {"id": scene_id, "times": [times.text(viewed_at)]})
        return answer["sceneAddPlay"]["history"]

    def save_activity(self, scene_id: str, resume_time: float | None, added_duration: float) -> None:
        """Set the resume point (seconds; None: leave it) and add ``added_duration`` seconds to the play duration."""
        self._reader._query(SAVE_ACTIVITY, {"id": scene_id, "resume": resume_time, "duration": added_duration})

    def set_rating(self, scene_id: str, rating100: int | None) -> None:
        self._reader._query(SET_RATING, {"input": {"id": scene_id, "rating100": rating100}})
