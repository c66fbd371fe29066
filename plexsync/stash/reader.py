"""Reading from Stash: one scene in one GraphQL request, its cover, the plugin
settings, and every scene id for a bulk sync.

Built on stashapi's ``StashInterface`` with three corrections that a worker
which retries needs (../shared/huey-facts.md): every HTTP call gets a timeout;
HTTP and GraphQL failures raise instead of coming back as ``{}`` or ``None``
(so "failed" is never read as "not found"); and we send our own queries, since
stashapi's built-in scene fragment is invalid against current Stash.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

import requests
from stashapi.classes import GQLException
from stashapi.stashapp import StashInterface

from plexsync.config import PLUGIN_ID
from plexsync.errors import AuthFailed, Permanent, SceneNotFound, SyncError, Transient, from_requests_error, from_status
from plexsync.retrying import STASH, TRANSIENT_GRAPHQL, RetryingSession

#: Exactly the fields the mapping uses; nothing else is fetched. One fragment
#: for the single-scene read of a hook's job and the paged reads of a bulk sync,
#: so both hand the mapping the same shape.
SCENE_FIELDS = """
fragment PlexSyncSceneFields on Scene {
  id
  title
  code
  details
  director
  date
  rating100
  updated_at
  files { path basename size }
  paths { screenshot }
  studio { id name parent_studio { name } }
  tags { id name }
  performers { id name image_path }
  groups { group { id name } }
}
"""

SCENE_QUERY = (
    """
query PlexSyncScene($id: ID) {
  findScene(id: $id) { ...PlexSyncSceneFields }
}
"""
    + SCENE_FIELDS
)

SCENES_PAGE_QUERY = (
    """
query PlexSyncScenes($filter: FindFilterType) {
  findScenes(filter: $filter) {
    count
    scenes { ...PlexSyncSceneFields }
  }
}
"""
    + SCENE_FIELDS
)

#: A bulk sync's page: the scenes whose ids lie in a range (keyset paging, so
#: scenes added or deleted meanwhile never shift another page's scenes).
SCENES_RANGE_QUERY = (
    """
query PlexSyncSceneRange($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) {
    count
    scenes { ...PlexSyncSceneFields }
  }
}
"""
    + SCENE_FIELDS
)

SCENE_IDS_QUERY = """
query PlexSyncSceneIds($filter: FindFilterType) {
  findScenes(filter: $filter) {
    count
    scenes { id }
  }
}
"""

SCENE_FILES_QUERY = """
query PlexSyncSceneFiles($filter: FindFilterType) {
  findScenes(filter: $filter) {
    count
    scenes { id files { path size } }
  }
}
"""

#: One scene's files, for ``plexsync inspect`` of a scene PlexSync never synced.
SCENE_FILES_ONE_QUERY = """
query PlexSyncOneSceneFiles($id: ID) {
  findScene(id: $id) { id title files { path size } }
}
"""

PLUGIN_SETTINGS_QUERY = """
query PlexSyncSettings($include: [ID!]) {
  configuration { plugins(include: $include) }
}
"""

#: Scene ids (and when each last changed) matching a filter, for the fan-out of a
#: performer/studio/tag/group change and for the reconcile.
FILTERED_SCENE_IDS_QUERY = """
query PlexSyncFilteredSceneIds($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) {
    count
    scenes { id updated_at }
  }
}
"""

#: Every id of one kind of object, to tell which ones are gone (``performerMerge`` fires no hook).
OBJECT_IDS_QUERIES = {
    "performer": """
query PlexSyncPerformerIds($filter: FindFilterType) {
  findPerformers(filter: $filter) { count performers { id } }
}
""",
    "studio": """
query PlexSyncStudioIds($filter: FindFilterType) {
  findStudios(filter: $filter) { count studios { id } }
}
""",
    "tag": """
query PlexSyncTagIds($filter: FindFilterType) {
  findTags(filter: $filter) { count tags { id } }
}
""",
    "group": """
query PlexSyncGroupIds($filter: FindFilterType) {
  findGroups(filter: $filter) { count groups { id } }
}
""",
}

#: The scene filter that finds the scenes showing one object: a studio's scenes
#: include its sub-studios' (a parent studio can be shown too); tags and groups
#: their own only (depth 0: a scene shows its own tags, not their parents).
RELATED_SCENE_FILTERS = {
    "performer": lambda object_id: {"performers": {"value": [object_id], "modifier": "INCLUDES"}},
    "studio": lambda object_id: {"studios": {"value": [object_id], "modifier": "INCLUDES", "depth": -1}},
    "tag": lambda object_id: {"tags": {"value": [object_id], "modifier": "INCLUDES", "depth": 0}},
    "group": lambda object_id: {"groups": {"value": [object_id], "modifier": "INCLUDES", "depth": 0}},
}

#: Where Stash serves images (stashapp/stash ``internal/api/urlbuilders``: ``/scene/<id>/screenshot``,
#: ``/performer/<id>/image``, ``/studio/<id>/image``, ``/tag/<id>/image``, ``/group/<id>/frontimage``...),
#: after whatever prefix a reverse proxy put in front (``X-Forwarded-Prefix``).
_IMAGE_ROUTE = re.compile(r"/(?:scene|performer|studio|tag|group|movie|gallery|image)/[^/]+/[^/]+$")
#: Redirects a cover download follows, all on the Stash address (Stash sends one to its login page).
_MAX_REDIRECTS = 5

ALL_QUERIES = (
    SCENE_QUERY,
    SCENES_PAGE_QUERY,
    SCENES_RANGE_QUERY,
    SCENE_IDS_QUERY,
    SCENE_FILES_QUERY,
    SCENE_FILES_ONE_QUERY,
    PLUGIN_SETTINGS_QUERY,
    FILTERED_SCENE_IDS_QUERY,
    *OBJECT_IDS_QUERIES.values(),
)


class _CheckedSession(RetryingSession):
    """A session with a default timeout that retries a query after a passing
    fault (:mod:`plexsync.retrying`) and raises our errors for bad answers."""

    def __init__(self, timeout: float) -> None:
        super().__init__(STASH)
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            raise from_requests_error("stash", exc) from None
        if response.status_code == 401 or response.status_code >= 500 or response.status_code == 429:
            raise from_status("stash", response.status_code)
        return response


class _Interface(StashInterface):
    """StashInterface whose session is a :class:`_CheckedSession` from the start.

    stashapi creates its session and immediately sends three requests in its
    constructor; replacing the session afterwards would leave those without a
    timeout. The ``s`` property swaps in ours the moment it is assigned.
    """

    RAISE_GQL_ERRORS = True

    def __init__(self, conn: dict[str, Any], timeout: float) -> None:
        self._checked = _CheckedSession(timeout)
        super().__init__(conn)

    @property
    def s(self) -> _CheckedSession:  # type: ignore[override]
        return self._checked

    @s.setter
    def s(self, session: requests.Session) -> None:
        if session is not self._checked:
            self._checked.headers.update(session.headers)


class _QuietLog:
    """stashapi logs through this; errors come to us as exceptions instead."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class StashReader:
    def __init__(self, connection: dict[str, Any], timeout: float) -> None:
        self._timeout = timeout
        try:
            self._stash = _Interface({**connection, "Logger": _QuietLog()}, timeout)
        except SyncError:
            raise
        except Exception as exc:
            raise Transient(f"could not connect to Stash: {type(exc).__name__}: {exc}") from None

    @property
    def timeout(self) -> float:
        return self._stash.s.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._stash.s.timeout = value

    def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            data = self._stash.call_GQL(query, variables)
        except SyncError:
            raise
        except GQLException as exc:
            if any(marker in str(exc).lower() for marker in TRANSIENT_GRAPHQL):
                # still locked after the session's own tries: the job retries later, never a dead letter at once
                raise Transient("Stash database is busy (locked)") from None
            raise Permanent(f"Stash rejected the query: {exc}") from None
        except Exception as exc:  # stashapi raises bare Exception for 4xx / null data
            raise Transient(f"Stash request failed: {exc}") from None
        if not isinstance(data, dict):
            raise Transient("Stash sent an answer that is not GraphQL data")
        return data

    def scene(self, scene_id: str) -> dict[str, Any]:
        scene = self._query(SCENE_QUERY, {"id": scene_id}).get("findScene")
        if scene is None:
            raise SceneNotFound(f"scene {scene_id} does not exist in Stash (deleted?)")
        return scene

    def scene_ids(self, page_size: int) -> Iterator[list[str]]:
        """Every scene id, a page at a time, in id order."""
        for scenes in self._scene_pages(SCENE_IDS_QUERY, page_size):
            yield [scene["id"] for scene in scenes]

    def scenes(self, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Every scene with the fields the mapping uses, a page at a time, in id order."""
        yield from self._scene_pages(SCENES_PAGE_QUERY, page_size)

    def scenes_between(self, after: int, upto: int | None, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """The scenes with ``after < id <= upto`` (``upto`` None: no upper end),
        with the fields the mapping uses, in id order, ``page_size`` a request."""
        yield from self._scenes_by_id(SCENES_RANGE_QUERY, None, page_size, after, upto)

    def scene_files(self, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Every scene's id and files (path, size), a page at a time, in id order."""
        yield from self._scene_pages(SCENE_FILES_QUERY, page_size)

    def _scene_pages(self, query: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
        page = 1
        while True:
            found = self._query(
                query,
                {"filter": {"page": page, "per_page": page_size, "sort": "id", "direction": "ASC"}},
            )["findScenes"]
            scenes = found["scenes"]
            if scenes:
                yield scenes
            if len(scenes) < page_size or page * page_size >= found["count"]:
                return
            page += 1

    def scene_ids_showing(self, kind: str, object_id: str, page_size: int) -> Iterator[list[str]]:
        """The scenes that have this performer, studio, tag or group, a page at a time."""
        for scenes in self.changed_scenes(RELATED_SCENE_FILTERS[kind](object_id), page_size):
            yield [scene["id"] for scene in scenes]

    def changed_scenes(self, scene_filter: dict[str, Any], page_size: int) -> Iterator[list[dict[str, Any]]]:
        """``{id, updated_at}`` of the scenes matching ``scene_filter``, a page at a time, in id order."""
        yield from self._scenes_by_id(FILTERED_SCENE_IDS_QUERY, scene_filter, page_size)

    def _scenes_by_id(
        self,
        query: str,
        scene_filter: dict[str, Any] | None,
        page_size: int,
        after: int = 0,
        upto: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Scenes with ``after < id <= upto`` matching ``scene_filter``, paged by id:
        each request asks for ids above the last one seen, not for a page number,
        so a scene deleted, added or edited meanwhile shifts no page and no other
        scene is skipped or read twice."""
        while True:
            if upto is None:
                criterion = {"value": after, "modifier": "GREATER_THAN"}
            else:
                criterion = {"value": after + 1, "value2": upto, "modifier": "BETWEEN"}
            find = {"page": 1, "per_page": page_size, "sort": "id", "direction": "ASC"}
            keyset = {**(scene_filter or {}), "id": criterion}
            scenes = self._query(query, {"filter": find, "scene_filter": keyset})["findScenes"]["scenes"]
            if scenes:
                yield scenes
            if len(scenes) < page_size:
                return
            after = int(scenes[-1]["id"])
            if upto is not None and after >= upto:
                return

    def files_of(self, scene_id: str) -> dict[str, Any] | None:
        """``{id, title, files: [{path, size}]}`` of one scene; None when Stash has no such scene."""
        return self._query(SCENE_FILES_ONE_QUERY, {"id": scene_id}).get("findScene")

    def newest_scene_change(self) -> str | None:
        """The ``updated_at`` of the most recently changed scene, as Stash stores it (None: no scenes)."""
        find = {"page": 1, "per_page": 1, "sort": "updated_at", "direction": "DESC"}
        scenes = self._query(FILTERED_SCENE_IDS_QUERY, {"filter": find, "scene_filter": None})["findScenes"]["scenes"]
        return scenes[0]["updated_at"] if scenes else None

    def object_ids(self, kind: str, page_size: int) -> set[str]:
        """Every performer, studio, tag or group id in Stash."""
        field = f"{kind}s"
        found: set[str] = set()
        page = 1
        while True:
            find = {"page": page, "per_page": page_size, "sort": "id", "direction": "ASC"}
            answer = self._query(OBJECT_IDS_QUERIES[kind], {"filter": find})[f"find{kind.capitalize()}s"]
            found.update(str(item["id"]) for item in answer[field])
            if len(answer[field]) < page_size or page * page_size >= answer["count"]:
                return found
            page += 1

    def plugin_settings(self) -> dict[str, Any]:
        plugins = self._query(PLUGIN_SETTINGS_QUERY, {"include": [PLUGIN_ID]})["configuration"]["plugins"]
        return (plugins or {}).get(PLUGIN_ID) or {}

    @property
    def base_url(self) -> str:
        """The address this reader reaches Stash at (``PLEXSYNC_STASH_URL``, or what a
        hook's ``server_connection`` gave), without ``/graphql``."""
        return self._stash.url.removesuffix("/graphql")

    def local_url(self, url: str) -> str:
        """An image URL Stash returned, on the address this reader reaches Stash at.

        Stash builds ``paths.screenshot`` and ``image_path`` on its ``external_host``
        setting when it is set, or on the Host and ``X-Forwarded-Prefix`` a reverse
        proxy sent (stashapp/stash ``BaseURLMiddleware``; ../shared/stash-plugins.md):
        an address this worker may not reach, or one that answers a login page, and
        one that must never receive the API key. The image's route (``/scene/<id>/
        screenshot?t=..``) is kept, the address before it replaced.
        """
        base = urlsplit(self.base_url)
        parts = urlsplit(url)
        route = _IMAGE_ROUTE.search(parts.path)
        if route is None:
            if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
                return url
            raise Permanent(f"Stash gave an image address that is not a Stash image ({parts.path[:80]!r}): not fetched")
        return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + route.group(0), parts.query, ""))

    def _get_from_stash(self, url: str) -> requests.Response:
        """GET ``url`` (on :attr:`base_url`) with Stash's credentials, following redirects
        only while they stay on that address: requests keeps custom headers such as
        ``ApiKey`` across a redirect to another host (it strips ``Authorization`` only)."""
        origin = urlsplit(self.base_url)[:2]
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._stash.s.get(url, allow_redirects=False)
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers.get("Location", ""))
            if urlsplit(url)[:2] != origin:
                raise Permanent(
                    f"Stash redirected the image download to another address ({urlsplit(url).netloc}): "
                    "not followed with the API key; check PLEXSYNC_STASH_URL points at Stash itself"
                )
        raise Transient("Stash redirected the image download too many times")

    def download(self, url: str) -> bytes | None:
        """An image served by Stash (needs the same credentials as GraphQL), or None
        when Stash has no picture and would serve its built-in placeholder. Fetched
        from :attr:`base_url` whatever address Stash wrote into ``url``
        (:meth:`local_url`): the credential goes to that address only.

        A placeholder is not the user's cover and must never become a Plex poster:
        image URLs of performers, studios and tags without an image end in
        ``default=true`` (not fetched at all); a scene without a cover keeps its
        plain screenshot URL, answered with ``scene.svg`` as ``image/svg+xml``
        (../shared/stash-plugins.md, "No cover").
        """
        if parse_qs(urlsplit(url).query).get("default") == ["true"]:
            return None
        response = self._get_from_stash(self.local_url(url))
        if response.status_code != 200:
            raise from_status("stash", response.status_code, "image download")
        if response.headers.get("Content-Type", "").startswith("text/html"):
            # Stash answers an unauthenticated image request with its login page
            raise AuthFailed("stash", "Stash sent its login page instead of the cover: no API key, or a refused one")
        if response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "image/svg+xml":
            return None  # Stash's placeholder: the scene has no cover
        return response.content
