"""Poster and background images: fetching ``?url=`` uploads and naming what is served.

Plex downloads a ``?url=`` image itself, from its own network position, so the
emulator does too: directly, without the proxies of the test's environment.
"""

from __future__ import annotations

import urllib.error
import urllib.request

#: Plex answers the upload only after it has the image; a dead URL must not hang the client.
FETCH_TIMEOUT = 3.0

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FetchError(Exception):
    """The image URL could not be read."""


def fetch(url: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"not an http(s) URL: {url!r}")
    try:
        with _opener.open(url, timeout=FETCH_TIMEOUT) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchError(str(exc)) from exc


def content_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
