"""A 2:3 poster cut from the middle of a 16:9 screenshot, for libraries whose
Plex views show portrait posters ("Poster shape: portrait").

CPU work on bytes, no I/O. Pillow is imported on first use: only a worker
that cuts posters pays for loading it. A plugin that set itself up from its
package installs Pillow only when this setting is on (:mod:`plexsync.environment.features`);
without it the sync fails for good with what to do, never silently uncut.
"""

from __future__ import annotations

import io

#: width / height of a Plex movie poster
RATIO = 2 / 3
QUALITY = 90


class NotAnImage(ValueError):
    """The cover could not be decoded (the caller uploads it as it is)."""


def cut(image: bytes) -> bytes:
    """The widest 2:3 middle part of ``image``, as JPEG (an image already
    narrower than 2:3 loses its top and bottom instead)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        from plexsync.errors import Permanent

        raise Permanent(
            "Poster shape: portrait needs Pillow, which is not installed: run the task 'Set up PlexSync' "
            "(it installs Pillow with pip), then 'Retry dead letters'; or set Poster shape to cover"
        ) from None

    try:
        with Image.open(io.BytesIO(image)) as source:
            source.load()
            width, height = source.size
            if width * 3 > height * 2:
                new_width = max(1, round(height * RATIO))
                left = (width - new_width) // 2
                box = (left, 0, left + new_width, height)
            else:
                new_height = max(1, round(width / RATIO))
                top = (height - new_height) // 2
                box = (0, top, width, top + new_height)
            out = io.BytesIO()
            source.convert("RGB").crop(box).save(out, "JPEG", quality=QUALITY)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotAnImage(f"the cover is not an image Pillow can read ({type(exc).__name__})") from None
    return out.getvalue()
