"""The 2:3 poster cut from a cover."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from emulators.stash import images
from plexsync.sync import portrait


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size


@pytest.mark.parametrize(("size", "cut"), [((160, 90), (60, 90)), ((1920, 1080), (720, 1080)), ((60, 200), (60, 90))])
def test_the_middle_2_by_3_part_is_kept(size, cut):
    assert size_of(portrait.cut(images.png("cover", size))) == cut


def test_the_middle_is_what_is_kept():
    cover = Image.new("RGB", (300, 100), "red")
    cover.paste(Image.new("RGB", (67, 100), "blue"), (117, 0))
    buffer = io.BytesIO()
    cover.save(buffer, "PNG")
    with Image.open(io.BytesIO(portrait.cut(buffer.getvalue()))) as cut:
        red, _, blue = cut.convert("RGB").getpixel((33, 50))
        assert blue > 200 and red < 60


def test_what_is_not_an_image_is_said_so():
    with pytest.raises(portrait.NotAnImage):
        portrait.cut(images.SCENE_PLACEHOLDER_SVG)
    with pytest.raises(portrait.NotAnImage):
        portrait.cut(b"\xff\xd8\xff truncated jpeg")
