"""StashEmulator: the HTTP face of the emulated Stash and its seeding API.

Routes: ``POST /graphql``, ``GET /scene/<id>/screenshot``,
``GET /performer/<id>/image``, ``GET /studio/<id>/image``, ``/login``, and the
web face (:mod:`.webui`: a scene page that loads attached plugins' UI files,
``/plugin/<id>/javascript|css|assets``); anything else is 404. Every route but ``/login`` passes the same credential
check (see :mod:`.auth`).

Seeding is direct Python (``add_*``/``update_scene``/``destroy_scene``): it
changes the library the way a scan or the UI would, without firing hooks.
Hooks fire for GraphQL mutations only, through :attr:`on_mutation`, after the
change is committed and before the HTTP response is written, as Stash runs them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from graphql import GraphQLSchema, graphql_sync

from ..http import EmulatorServer, FaultRule, Request, Response
from . import auth, graphql_http, images, resolvers, webui
from .model import Library, LibraryError, utc_now
from .query import SceneQueries

log = logging.getLogger(__name__)

MutationHook = Callable[[str, int, "dict[str, Any] | None", "list[str] | None"], None]

_IMAGE_ROUTE = re.compile(r"^/(scene)/([^/]+)/screenshot$|^/(performer|studio)/([^/]+)/image$")


class StashEmulator(EmulatorServer):
    """A Stash server on loopback, backed by an in-memory :class:`Library`."""

    garbage_content_type = "application/json"

    def __init__(
        self,
        api_key: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        windows: bool = False,
        zone: tzinfo = UTC,
        login: bool = False,
    ) -> None:
        """``windows=True``: a Stash running on Windows (paths like ``D:\\Videos\\a.mp4``).
        ``zone``: the zone of Stash's machine (``zoneinfo.ZoneInfo("Europe/Berlin")``):
        ``created_at``/``updated_at`` are written and compared as text in it (see :mod:`.model`).
        ``login=True``: a username and password are set; with ``api_key`` None, no API key has been generated yet."""
        super().__init__(host=host, port=port)
        self.library = Library(windows=windows, zone=zone)
        self.scene_queries = SceneQueries(self.library)
        self.schema: GraphQLSchema = resolvers.build()
        #: Called as ``on_mutation(hook_type, object_id, input, input_fields)``.
        self.on_mutation: MutationHook | None = None
        #: Called as ``on_activity(mutation, scene_id)`` after sceneAddPlay or
        #: sceneSaveActivity changed the scene and before Stash answers. Not a
        #: Stash hook (Stash fires none for them): a test's handle on the moment
        #: a write has landed but its client has not heard so yet.
        self.on_activity: Callable[[str, int], None] | None = None
        #: Plugin hosts attached to this Stash (emulators.plugin_host), by plugin id:
        #: their UI files are served and runPluginOperation runs them.
        self.plugins: dict[str, Any] = {}
        self._credentials = auth.Credentials(api_key, login)
        self._in_flight = threading.local()
        #: Stash's ``external_host`` setting (e.g. ``https://stash.example.com``): when
        #: set, every URL Stash returns is built on it instead of the request's Host
        #: (see :meth:`base_url`). It may be an address the worker cannot reach, or one
        #: that answers a login page.
        self.external_host: str | None = None

    # -- configuration --------------------------------------------------------
    @property
    def api_key(self) -> str | None:
        return self._credentials.api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        """Generate (a new value) or clear (None) the API key, as Settings > Security does; a login stays."""
        if value is None and self._credentials.api_key is not None:
            self._credentials.login = True  # clearing the key leaves the username and password
        self._credentials.api_key = value or None

    @property
    def login(self) -> bool:
        return self._credentials.needs_login

    @property
    def clock(self) -> Callable[[], datetime]:
        """Where created_at/updated_at come from (replace it to step time in tests)."""
        return self.library.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime] | None) -> None:
        self.library.clock = value or utc_now

    def base_url(self, request: Request | None = None) -> str:
        """What Stash builds ``paths.screenshot`` and ``image_path`` on, as its
        ``BaseURLMiddleware`` does (stashapp/stash ``internal/api/server.go``): the
        scheme (``https`` with TLS or ``X-Forwarded-Proto: https``), the request's
        ``Host``, and ``X-Forwarded-Prefix`` without its trailing ``/``; with
        ``external_host`` set, that setting plus the prefix."""
        if request is None:
            return self.external_host or self.url
        prefix = (request.header("x-forwarded-prefix") or "").rstrip("/")
        if self.external_host:
            return self.external_host + prefix
        scheme = "https" if request.header("x-forwarded-proto") == "https" else "http"
        return f"{scheme}://{request.header('host') or self.url.partition('://')[2]}{prefix}"

    @property
    def graphql_url(self) -> str:
        return self.url + auth.GRAPHQL_PATH

    def start(self) -> StashEmulator:
        super().start()
        return self

    def new_session(self) -> str:
        """A session cookie value, as Stash gives each plugin invocation."""
        return self._credentials.new_session()

    def expire_session(self, value: str) -> None:
        """Make a session cookie invalid, as when Stash's session expires."""
        self._credentials.expire_session(value)

    def current_session(self) -> str | None:
        """Inside ``on_mutation``: the session cookie of the request that mutated.

        Stash keys its hook loop protection on that cookie; a plugin host can too.
        """
        return getattr(self._in_flight, "session", None)

    def set_plugin_settings(self, plugin_id: str, settings: Mapping[str, Any]) -> None:
        self.library.set_plugin_settings(plugin_id, settings)

    def fail_resolvers(
        self,
        message: str = "database is locked",
        *,
        fields: Iterable[str] = (),
        times: int | None = None,
        fraction: float = 1.0,
    ) -> FaultRule:
        """GraphQL requests answer HTTP 200 with ``errors: [{message, path}]`` and null data where
        the named root fields (default: all) failed, as Stash does when SQLite is busy.

        ``times``/``fraction`` count requests in which a field failed (a request
        that asks for none of ``fields`` passes and does not count); remove the
        rule with ``faults.remove(rule)``; ``rule.hits`` is how many failed.
        """
        return self.faults.add(r"^/graphql$", error=message, where=tuple(fields), times=times, fraction=fraction)

    def fail_inside(self, request: Request, rule: FaultRule) -> Response:
        if request.path != auth.GRAPHQL_PATH:
            return super().fail_inside(request, rule)
        verdict = self._credentials.check(request)
        if verdict is not auth.Verdict.ALLOW:
            self.faults.refund(rule)
            return self.handle(request)  # refused before any resolver runs
        failure = resolvers.Failure(rule.error or "", frozenset(rule.where))
        response = self._graphql(request, failure)
        if not failure.fired:  # none of the named fields was asked for: this request does not count
            self.faults.refund(rule)
        return response

    # -- seeding --------------------------------------------------------------
    def add_studio(self, name: str, parent_id: str | None = None, image: bytes | None = None) -> str:
        parent = None if parent_id is None else int(parent_id)
        return str(self.library.add_studio(name, parent, image))

    def add_performer(self, name: str, gender: str | None = None, image: bytes | None = None) -> str:
        return str(self.library.add_performer(name, gender, image))

    def add_tag(self, name: str) -> str:
        return str(self.library.add_tag(name))

    def add_group(self, name: str) -> str:
        return str(self.library.add_group(name))

    def add_scene(
        self,
        title: str | None = None,
        details: str | None = None,
        date: str | None = None,
        code: str | None = None,
        director: str | None = None,
        urls: Iterable[str] = (),
        rating100: int | None = None,
        organized: bool = False,
        files: Sequence[Mapping[str, Any]] | None = None,
        studio_id: str | None = None,
        tag_ids: Iterable[str] = (),
        performer_ids: Iterable[str] = (),
        groups: Iterable[tuple[str, int | None]] = (),
        cover: bytes | None = None,
        id: str | None = None,
        stash_ids: Iterable[Mapping[str, str]] = (),
        screenshot: bool = True,
    ) -> str:
        """Add a scene; ``files=None`` means one file at /data/scene-<id>.mp4 (size 123, 60 s).

        ``screenshot=False``: the scan made no screenshot (generation off, or
        ffmpeg failed), so until a cover is set Stash serves its SVG placeholder.
        """
        scene_id = self.library.add_scene(
            files=files,
            cover=cover,
            screenshot=screenshot,
            id=None if id is None else int(id),
            title=title,
            details=details,
            date=date,
            code=code,
            director=director,
            urls=urls,
            rating100=rating100,
            organized=organized,
            studio_id=studio_id,
            tag_ids=tag_ids,
            performer_ids=performer_ids,
            groups=groups,
            stash_ids=stash_ids,
        )
        return str(scene_id)

    def update_scene(self, scene_id: str, **fields: Any) -> None:
        """Change fields as the UI would (without hooks); bumps updated_at."""
        self.library.update_scene(int(scene_id), **fields)

    def destroy_scene(self, scene_id: str) -> None:
        self.library.destroy_scene(int(scene_id))

    def scene(self, scene_id: str) -> dict[str, Any]:
        """The scene as ``findScene`` returns it, every field selected."""
        query = f"query($id: ID) {{ findScene(id: $id) {{ {resolvers.FULL_SCENE_SELECTION} }} }}"
        context = resolvers.Context(self, self.base_url())
        result = graphql_sync(self.schema, query, context_value=context, variable_values={"id": str(scene_id)})
        if result.errors:
            raise LibraryError(result.errors[0].message)
        found = result.data["findScene"] if result.data else None
        if found is None:
            raise KeyError(f"scene with id {scene_id} not found")
        return found

    def screenshot(self, scene_id: str) -> bytes:
        """What ``paths.screenshot`` serves: the cover, else the scan's screenshot, else the placeholder."""
        scene = self.library.scenes.get(int(scene_id))
        if scene is None:
            raise KeyError(f"scene with id {scene_id} not found")
        if scene.cover is not None:
            return scene.cover
        return images.png(f"scene:{scene.id}") if scene.screenshot else images.SCENE_PLACEHOLDER_SVG

    # -- hooks ------------------------------------------------------------------
    def run_hook(
        self, hook_type: str, object_id: int, input: dict[str, Any] | None, input_fields: list[str] | None
    ) -> None:
        """Run the post-hook synchronously; like Stash, a failing hook only gets logged."""
        callback = self.on_mutation
        if callback is None:
            return
        try:
            callback(hook_type, object_id, input, input_fields)
        except Exception:
            log.exception("%s hook for %s failed", hook_type, object_id)

    def activity_saved(self, mutation: str, scene_id: int) -> None:
        callback = self.on_activity
        if callback is not None:
            callback(mutation, scene_id)

    # -- HTTP -------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        verdict = self._credentials.check(request)
        if verdict is auth.Verdict.UNAUTHORIZED:
            return auth.unauthorized()
        if verdict is auth.Verdict.LOGIN:
            return auth.to_login(request)
        if request.path == auth.GRAPHQL_PATH:
            return self._graphql(request)
        if request.path.startswith(auth.LOGIN_PATH):
            return auth.login_page()
        if request.method in ("GET", "HEAD"):
            if webui.is_page(request.path):
                return webui.page()
            if request.path.startswith("/emulator-ui/"):
                return webui.emulator_file(request.path.removeprefix("/emulator-ui/"))
            served = webui.plugin_file(self.plugins, request.path)
            if served is not None:
                return served
        match = _IMAGE_ROUTE.match(request.path)
        if match and request.method in ("GET", "HEAD"):
            kind = match.group(1) or match.group(3)
            return self._image(kind, match.group(2) or match.group(4), request)
        return _not_found()

    def _graphql(self, request: Request, failure: resolvers.Failure | None = None) -> Response:
        """gqlgen's transports: OPTIONS, GET with ?query=, POST with a JSON body."""
        if request.method == "OPTIONS":
            return Response(status=200, headers={"Allow": "OPTIONS, GET, POST"})
        media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if (request.method == "POST" and media_type != graphql_http.JSON) or request.method not in ("GET", "POST"):
            return graphql_http.decode_error("transport not supported")
        context = resolvers.Context(self, self.base_url(request), failure)
        self._in_flight.session = request.cookies.get("session")
        try:
            if request.method == "GET":
                return graphql_http.serve_get(self.schema, dict(request.query), context)
            return graphql_http.serve_post(self.schema, request.body, context)
        finally:
            self._in_flight.session = None

    def _image(self, kind: str, raw_id: str, request: Request) -> Response:
        if not raw_id.isdigit():
            return _not_found()
        object_id = int(raw_id)
        if kind == "scene":
            scene = self.library.scenes.get(object_id)
            data = None if scene is None else self.screenshot(str(object_id))
        elif kind == "performer":
            performer = self.library.performers.get(object_id)
            data = None if performer is None else performer.image
            if performer is not None and (data is None or request.arg("default") == "true"):
                data = images.png(f"performer-default:{performer.gender}", images.PORTRAIT_SIZE)
        else:
            studio = self.library.studios.get(object_id)
            data = None if studio is None else studio.image
            if studio is not None and (data is None or request.arg("default") == "true"):
                data = images.studio_default_svg()
        if data is None:
            return _not_found()
        return Response(status=200, body=data, content_type=images.content_type(data))


def _not_found() -> Response:
    return Response(status=404, body=b"404 page not found\n")
