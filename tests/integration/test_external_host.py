"""Issue #18, part 8: covers come from the Stash the worker talks to, and the API key
goes nowhere else.

Real Stash builds ``paths.screenshot`` on its ``external_host`` setting when it is
set (stashapp/stash ``internal/api/server.go`` ``BaseURLMiddleware``;
../shared/stash-plugins.md, "Base URL"): a public address behind a login, or one the
worker's machine cannot reach at all. The worker must fetch the cover from the
address it was given for Stash (``PLEXSYNC_STASH_URL``), never send its API key (or
session cookie) to another address, and never take a login page for a cover.

An HTTP server standing at the external address records every request with its
headers, and answers every one with a login page, as a reverse proxy with single
sign-on would.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.conftest import STASH_API_KEY, World
from tests.integration.test_metadata import synced


class LoginWall:
    """A server answering every request with a login page, keeping each request's headers."""

    def __init__(self) -> None:
        seen: list[tuple[str, dict[str, str]]] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = b"<!doctype html><html><body><form action=/sso/login></form></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_HEAD = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def carrying_credentials(self) -> list[str]:
        return [
            path
            for path, headers in self.seen
            if STASH_API_KEY in repr(headers) or STASH_API_KEY in path or "session=" in headers.get("cookie", "")
        ]


@pytest.fixture
def login_wall() -> Iterator[LoginWall]:
    wall = LoginWall()
    yield wall
    wall.close()


def unreachable_address() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _sync_one_cover(world: World) -> tuple[str, int]:
    scene_id, rating_key = world.add_scene("cover", title="With a cover")
    world.start_consumer()
    world.host.fire_hook("Scene.Update.Post", int(scene_id), {"id": scene_id}, ["id"])
    synced(world, 1)
    return scene_id, rating_key


def test_covers_sync_when_external_host_answers_a_login_page(world: World, login_wall: LoginWall):
    world.stash.external_host = login_wall.url + "/stash"
    scene_id, rating_key = _sync_one_cover(world)

    assert world.stash.scene(scene_id)["paths"]["screenshot"].startswith(login_wall.url)
    item = world.plex.item(rating_key)
    assert item.poster == item.art == world.stash.screenshot(scene_id)
    assert login_wall.carrying_credentials() == []
    assert login_wall.seen == []  # the cover came from the Stash the worker talks to
    assert world.dead_letters() == []
    assert "Stash sent its login page" not in world.logs()


def test_covers_sync_when_external_host_is_unreachable(world: World):
    world.stash.external_host = unreachable_address()
    scene_id, rating_key = _sync_one_cover(world)

    item = world.plex.item(rating_key)
    assert item.poster == world.stash.screenshot(scene_id)
    assert world.outage_failures("stash") == 0  # no "Stash unreachable", no breaker
    assert world.dead_letters() == []


def _reader(world: World):
    from plexsync.stash.reader import StashReader

    connection = {"Scheme": "http", "Host": "127.0.0.1", "Port": world.stash.port, "ApiKey": STASH_API_KEY}
    return StashReader(connection, timeout=5)


def test_an_image_url_keeps_its_route_on_the_workers_stash_address(world: World):
    reader = _reader(world)
    base = world.stash.url
    assert reader.base_url == base
    assert reader.local_url("https://stash.example.com/scene/7/screenshot?t=1700000000") == (
        f"{base}/scene/7/screenshot?t=1700000000"
    )
    assert reader.local_url("https://example.com:8443/stash/performer/3/image?t=5&default=true") == (
        f"{base}/performer/3/image?t=5&default=true"
    )
    assert reader.local_url(f"{base}/scene/7/screenshot?t=1") == f"{base}/scene/7/screenshot?t=1"
    from plexsync.errors import Permanent

    with pytest.raises(Permanent, match="not a Stash image"):
        reader.local_url("https://elsewhere.example.com/steal?key=1")


class FrontProxy:
    """A reverse proxy in front of Stash that passes ``/graphql`` through and sends
    image requests to a sign-on page at ``sign_on`` (another address)."""

    def __init__(self, stash_url: str, sign_on: str) -> None:
        import requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.post(stash_url + self.path, data=self.rfile.read(length), headers=headers, timeout=10)
                self._send(answer.status_code, answer.content, {"Content-Type": answer.headers["Content-Type"]})

            def do_GET(self) -> None:
                self._send(302, b"", {"Location": f"{sign_on}/sso?next={self.path}"})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_redirect_to_another_address_is_not_followed_with_the_api_key(world: World, login_wall: LoginWall):
    """requests keeps custom headers (``ApiKey``) on a redirect to another host; only
    ``Authorization`` is dropped (``Session.rebuild_auth``). A front proxy that sends
    image requests to a sign-on page elsewhere must not receive the key, and the
    failure says what to check."""
    from plexsync.errors import Permanent
    from plexsync.stash.reader import StashReader

    scene_id, _ = world.add_scene("redirected", title="Redirected")
    proxy = FrontProxy(world.stash.url, login_wall.url)
    try:
        connection = {"Scheme": "http", "Host": "127.0.0.1", "Port": proxy.port, "ApiKey": STASH_API_KEY}
        reader = StashReader(connection, timeout=5)
        shot = reader.scene(scene_id)["paths"]["screenshot"]
        with pytest.raises(Permanent, match="redirected the image download to another address"):
            reader.download(shot)
    finally:
        proxy.close()
    assert login_wall.seen == []
