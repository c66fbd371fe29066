"""The set-up's parts on their own: the lock files, installing a wheel, the inbox, the optional features,
and the rule that all of :mod:`plexsync.environment` runs on the standard library alone."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from plexsync.environment import features, inbox, layout, lock, wheels
from tests.support import REPO


def test_the_environment_package_imports_with_the_standard_library_only():
    """It runs before any package is installed: ``-S`` leaves site-packages off the path."""
    modules = sorted(p.stem for p in (REPO / "plexsync" / "environment").glob("*.py") if p.stem != "__init__")
    code = "import sys; sys.path.insert(0, sys.argv[1]); " + "; ".join(
        f"import plexsync.environment.{name}" for name in modules
    )
    done = subprocess.run([sys.executable, "-S", "-c", code, str(REPO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- the lock files -------------------------------------------------------------------------------------------------


def test_a_lock_entry_is_a_pin_with_sha256_hashes():
    [pin] = lock.parse("# comment\nPlexAPI==4.18.3 \\\n    --hash=sha256:" + "a" * 64 + "  # why\n")
    assert (pin.name, pin.version, pin.hashes, pin.key) == ("PlexAPI", "4.18.3", ("a" * 64,), "plexapi")
    assert pin.requirement() == "PlexAPI==4.18.3 --hash=sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("huey>=3\n", "is not name==version"),
        ("huey==3.5.4\n", "has no --hash"),
        ("huey==3.5.4 --hash=md5:abc\n", "is not --hash=sha256"),
    ],
)
def test_anything_else_in_a_lock_is_refused(text: str, refusal: str):
    with pytest.raises(lock.LockError, match=refusal):
        lock.parse(text)


def _pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", line)
        if match:
            found[lock.normalise(match.group(1))] = match.group(2)
    return found


def test_the_locks_pin_what_requirements_txt_pins_and_cover_the_runtime_closure():
    """requirements.txt (what ``run.py setup`` installs) and the locks (what the package ships) agree; the
    pure lock holds every package the runtime ones need (their metadata's requirements, no extras)."""
    wanted = _pins(REPO / "requirements.txt")
    pure = {pin.key: pin.version for pin in lock.read(str(REPO))}
    optional = {pin.key: pin.version for pin in lock.read(str(REPO), layout.LOCK_FILES[1])}
    for name, version in {**pure, **optional}.items():
        assert wanted.get(name, version) == version, name
    assert set(optional) == {"pillow", "psycopg2_binary"}
    emulators = {"graphql_core", "pyyaml"}  # the test world's, not the plugin's
    assert set(wanted) - emulators - set(optional) <= set(pure)
    for name in pure:
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" in requirement or "python_full_version < '3.11" in requirement:
                continue
            required = lock.normalise(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
            if 'platform_system == "Windows"' in requirement:
                continue  # tqdm's colorama: optional at import (tqdm falls back to plain output)
            assert required in pure, f"{name} needs {required}, which the lock does not ship"


# -- installing a wheel -------------------------------------------------------------------------------------------


def _wheel(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_wheel_installs_its_importable_files_and_leaves_scripts_and_yml_out(tmp_path: Path):
    data = _wheel(
        {
            "demo/__init__.py": b"X = 1\n",
            "demo/conf.yml": b"a: 1\n",  # Stash would load it as a plugin
            "demo-1.0.dist-info/METADATA": b"Name: demo\n",
            "demo-1.0.data/purelib/extra.py": b"",
            "demo-1.0.data/scripts/demo": b"#!python\n",
        }
    )
    assert wheels.unpack(data, "demo-1.0-py3-none-any.whl", str(tmp_path)) == 3
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "demo-1.0.dist-info/METADATA", "demo/__init__.py", "extra.py",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("member", "refusal"),
    [("../escape.py", "cannot be installed"), ("demo/_speed.cpython-311-x86_64-linux-gnu.so", "compiled code")],
)
def test_a_wheel_that_escapes_its_folder_or_is_not_pure_is_refused(tmp_path: Path, member: str, refusal: str):
    with pytest.raises(wheels.WheelError, match=refusal):
        wheels.unpack(_wheel({member: b""}), "demo-1.0-py3-none-any.whl", str(tmp_path / "target"))
    assert not (tmp_path / "escape.py").exists()


def test_a_wheel_is_used_only_when_its_sha256_is_in_the_lock(tmp_path: Path):
    data = _wheel({"demo/__init__.py": b""})
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(data)
    pin = lock.Pin("demo", "1.0", (hashlib.sha256(data).hexdigest(),))
    assert wheels.find(str(tmp_path), pin) == str(path) and wheels.verified(str(path), pin, "requirements.lock") == data
    with pytest.raises(wheels.WheelError, match=r"^demo-1.0-py3-none-any.whl does not match its sha256 in x.lock$"):
        wheels.verified(str(path), lock.Pin("demo", "1.0", ("0" * 64,)), "x.lock")
    with pytest.raises(wheels.WheelError, match=r"the package has no wheel of demo 2\.0"):
        wheels.find(str(tmp_path), lock.Pin("demo", "2.0", ("0" * 64,)))


# -- the inbox ----------------------------------------------------------------------------------------------------


def test_the_inbox_hands_over_every_kept_edit_once_oldest_first_and_then_disappears(tmp_path: Path):
    for scene in ("1", "2", "3"):
        inbox.record(str(tmp_path), {"id": scene, "type": "Scene.Update.Post"})
    assert inbox.pending(str(tmp_path))
    taken: list[str] = []
    assert inbox.take_over(str(tmp_path), lambda context: taken.append(context["id"])) == 3
    assert taken == ["1", "2", "3"] and not inbox.pending(str(tmp_path))
    assert inbox.take_over(str(tmp_path), taken.append) == 0


def test_edits_kept_while_a_take_over_runs_are_never_lost(tmp_path: Path):
    """Writers and take-overs race: every edit is handed over exactly once or still waits in the inbox."""
    taken: list[int] = []
    stop = threading.Event()

    def writer(start: int) -> None:
        for number in range(start, start + 200):
            inbox.record(str(tmp_path), {"id": number})

    def taker() -> None:
        while not stop.is_set():
            inbox.take_over(str(tmp_path), lambda context: taken.append(context["id"]))

    threads = [threading.Thread(target=writer, args=(start,)) for start in (0, 1000, 2000)]
    consumer = threading.Thread(target=taker)
    consumer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    consumer.join()
    inbox.take_over(str(tmp_path), lambda context: taken.append(context["id"]))
    assert sorted(taken) == [*range(200), *range(1000, 1200), *range(2000, 2200)]


# -- the optional features ----------------------------------------------------------------------------------------


def test_a_feature_is_needed_when_configured_in_the_environment_or_on_the_plugin_page():
    assert features.needed({}, None) == []
    assert features.needed({}, {"poster_shape": "Portrait"}) == [features.PILLOW]
    assert features.needed({"PLEXSYNC_POSTER_SHAPE": "cover"}, {"poster_shape": "portrait"}) == []  # the env wins
    assert features.needed({"PLEXSYNC_DATABASE_URL": "postgresql://h/db"}, {}) == [features.PSYCOPG2]
