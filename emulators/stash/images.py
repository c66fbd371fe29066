"""Real image bytes for covers and portraits, made with the standard library.

Clients upload these to Plex and decode them, so they must be valid files, and
distinct per object so a test can tell which one arrived. Stash's default
studio image is an SVG: a client that expects a raster image gets one here too.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

COVER_SIZE = (160, 90)
PORTRAIT_SIZE = (60, 90)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(seed: str, size: tuple[int, int] = COVER_SIZE) -> bytes:
    """A valid RGB PNG whose colours and stripes are derived from ``seed``."""
    width, height = size
    digest = hashlib.sha256(seed.encode()).digest()
    background, stripe = digest[0:3], digest[3:6]
    period = 4 + digest[6] % 12
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(width):
            row += stripe if (x + y) % period < period // 2 else background
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


#: What Stash serves at ``/scene/<id>/screenshot`` for a scene with no cover:
#: its built-in ``internal/static/scene/scene.svg`` (``static.DefaultSceneImage``,
#: sent with ``http.ServeContent`` under the name scene.svg, hence
#: ``Content-Type: image/svg+xml``), status 200. The real file is Font Awesome's
#: white "circle-play" on the view box ``-384 -104 1280 720``; this one draws
#: the same picture (white disc, play triangle cut out) with its own geometry.
SCENE_PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-384 -104 1280 720">\n'
    b"<!-- a scene without a cover: a white play button, as Stash's scene.svg -->\n"
    b'    <path d="M256 0a256 256 0 1 0 0 512a256 256 0 1 0 0-512zM192 148v216l176-108z" '
    b'fill-rule="evenodd" style="fill:#ffffff;fill-opacity:1"/>\n'
    b"</svg>"
)


def studio_default_svg() -> bytes:
    """Stash serves an SVG placeholder for a studio without an image."""
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        b'<rect width="64" height="64" fill="#394b59"/>'
        b'<path d="M12 48V20l20-8 20 8v28z" fill="#8a9ba8"/></svg>'
    )


def content_type(data: bytes) -> str:
    """What Go's http.DetectContentType says for the image kinds Stash stores."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.lstrip().startswith((b"<svg", b"<?xml")):
        return "image/svg+xml"
    return "application/octet-stream"
