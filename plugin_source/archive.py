"""The package zip, byte for byte the same from the same tree.

Zip files carry a time, permissions and an order per member, and Python's
``zipfile`` takes them from the file system and the moment: here they are
fixed instead. Members in sorted order, each with the package's date (from
the commit, :mod:`plugin_source.index`), mode 644 (755 for a file git marks
executable), made on "Unix", no extra fields. Sources are deflated at level 9;
wheels, zips already, are stored. The one thing not fixed is zlib itself: a
different zlib may deflate the same input to other bytes (the sha256 in the
index is of what this build wrote, so a package is always consistent).
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

#: zip's MS-DOS times begin in 1980.
ZIP_EPOCH = 315532800


def _info(name: str, when: int, executable: bool, stored: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, time.gmtime(max(when, ZIP_EPOCH))[:6])
    info.create_system = 3
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    return info


def write(zip_path: Path, members: list[tuple[str, Path]], when: int) -> None:
    """Write ``(name in the zip, file)`` pairs into ``zip_path``, sorted by name."""
    temporary = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for name, path in sorted(members):
            executable = bool(path.stat().st_mode & 0o111)
            info = _info(name, when, executable, stored=name.endswith((".whl", ".zip")))
            level = None if info.compress_type == zipfile.ZIP_STORED else 9
            archive.writestr(info, path.read_bytes(), compresslevel=level)
    os.replace(temporary, zip_path)
