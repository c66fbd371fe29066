"""Stash running on Windows, through the real stashapi over HTTP.

../shared/stash-plugins.md ("Windows"): Stash on Windows reports
``D:\\Videos\\Studio\\a.mp4``; ``basename`` and ``parent_folder.path`` are split on
``\\``. Stash computes both with Go's ``path/filepath`` (``filepath.Base``,
``filepath.Dir``), which on Windows keeps the volume whole: a drive (``D:``), a
UNC share (``\\\\NAS\\share``) or a ``\\\\?\\`` long-path prefix (Go's
``volumeNameLen``; Python's ``ntpath`` splits the same way).
"""

from __future__ import annotations

import pytest
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator

QUERY = """
query($id: ID) {
  findScene(id: $id) {
    files { path basename format parent_folder { path parent_folder { path parent_folder { path } } } }
  }
}
"""


#: The shared ``stash`` fixture (conftest.py) reads this.
STASH_WINDOWS = True


def file_of(client: StashInterface, scene_id: str) -> dict:
    (found,) = client.call_GQL(QUERY, {"id": scene_id})["findScene"]["files"]
    return found


def chain(folder: dict | None) -> list[str]:
    paths = []
    while folder:
        paths.append(folder["path"])
        folder = folder.get("parent_folder")
    return paths


@pytest.mark.parametrize(
    ("path", "basename", "folders"),
    [
        (r"D:\Videos\Studio\a.mp4", "a.mp4", [r"D:\Videos\Studio", r"D:\Videos", "D:\\"]),
        (r"\\NAS\share\Videos\Ünïcode née.mkv", "Ünïcode née.mkv", [r"\\NAS\share\Videos", "\\\\NAS\\share\\"]),
        (r"\\?\D:\Very\Long\b.mp4", "b.mp4", [r"\\?\D:\Very\Long", r"\\?\D:\Very", "\\\\?\\D:\\"]),
        (r"\\?\UNC\NAS\share\c.avi", "c.avi", ["\\\\?\\UNC\\NAS\\share\\"]),
    ],
)
def test_windows_paths_split_on_backslash(
    stash: StashEmulator, client: StashInterface, path: str, basename: str, folders: list[str]
) -> None:
    """basename / parent_folder as filepath.Base / filepath.Dir give them on Windows."""
    scene_id = stash.add_scene(files=[{"path": path, "size": 10, "duration": 1.0}])

    found = file_of(client, scene_id)

    assert found["path"] == path
    assert found["basename"] == basename
    assert found["format"] == basename.rpartition(".")[2]
    assert chain(found["parent_folder"])[: len(folders)] == folders


def test_two_files_in_one_windows_folder_share_it(stash: StashEmulator, client: StashInterface) -> None:
    """Stash keeps one folder row per directory, whatever the separator style."""
    first = stash.add_scene(files=[{"path": r"D:\Videos\x.mp4", "size": 1, "duration": 1.0}])
    second = stash.add_scene(files=[{"path": r"D:\Videos\y.mp4", "size": 1, "duration": 1.0}])
    assert file_of(client, first)["parent_folder"] == file_of(client, second)["parent_folder"]
    assert stash.library.folders[stash.library.scenes[int(first)].files[0].folder_id].path == r"D:\Videos"


def test_posix_stash_keeps_a_backslash_in_a_name(client: StashInterface) -> None:
    """On Linux a backslash is an ordinary character of a file name: no splitting on it."""
    linux = StashEmulator().start()
    try:
        scene_id = linux.add_scene(files=[{"path": "/data/a\\b.mp4", "size": 1, "duration": 1.0}])
        conn = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": linux.port})
        found = file_of(conn, scene_id)
        assert (found["basename"], found["parent_folder"]["path"]) == ("a\\b.mp4", "/data")
    finally:
        linux.stop()


def test_system_status_says_windows(stash: StashEmulator, client: StashInterface) -> None:
    """systemStatus.os is Go's runtime.GOOS: "windows" there."""
    assert client.call_GQL("{ systemStatus { os } }")["systemStatus"]["os"] == "windows"
