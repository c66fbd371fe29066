"""The emulated package manager does with a plugin source what Stash's ``pkg/pkg`` does (read from
stashapp/stash cf3489e: ``manager.go`` Install/Uninstall/deletePackageFiles, ``pkg.go`` Upgradable,
``repository_http.go`` List/resolvePath/GetPackageZip, ``store.go``): what the install tests rely on."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import yaml

from emulators.stash.packages import PackageError, PackageManager, Source, SourceHost, parse_time


def publish(folder: Path, files: dict[str, bytes], date: str, version: str = "1.0", path: str = "demo.zip") -> Path:
    """A plugin source in ``folder``: one package ``demo`` holding ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("sub/"), b"")  # a folder entry: skipped
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if name.endswith(".sh") else 0o100644) << 16
            archive.writestr(info, data)
    (folder / "demo.zip").write_bytes(buffer.getvalue())
    entry = {
        "id": "demo",
        "name": "Demo",
        "metadata": {"description": "a demo"},
        "version": version,
        "date": date,
        "path": path,
        "sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
        "unknown_key": "ignored, as yaml.v2 does",
    }
    (folder / "index.yml").write_text(yaml.safe_dump([entry], sort_keys=False))
    return folder / "index.yml"


@pytest.fixture
def served(tmp_path: Path):
    host = SourceHost(tmp_path / "site").start()
    try:
        yield host, tmp_path / "site"
    finally:
        host.stop()


V1 = {"Demo.yml": b"name: Demo\n", "run.sh": b"#!/bin/sh\n", "sub/old.txt": b"old"}


def test_install_writes_the_zip_into_the_sources_local_path_and_records_its_files(served, tmp_path: Path):
    host, site = served
    publish(site, V1, "2026-01-02 03:04:05")
    url = f"{host.url}/index.yml"
    manager = PackageManager(tmp_path / "plugins", [Source(url, "mine")])
    [package] = manager.list_remote(url)
    assert (package.id, package.version, package.date.isoformat()) == ("demo", "1.0", "2026-01-02T03:04:05+00:00")
    folder = manager.install("demo", url)
    assert folder == tmp_path / "plugins" / "mine" / "demo"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "Demo.yml", "manifest", "run.sh", "sub/old.txt",
    ]  # fmt: skip
    assert (folder / "run.sh").stat().st_mode & 0o777 == 0o755
    installed = manager.installed("demo", url)
    assert installed.files == ["Demo.yml", "run.sh", "sub/old.txt"] and installed.source_repository == url


def test_a_zip_that_does_not_match_the_index_sha256_is_refused_and_nothing_written(served, tmp_path: Path):
    host, site = served
    index = publish(site, V1, "2026-01-02 03:04:05")
    (site / "demo.zip").write_bytes((site / "demo.zip").read_bytes() + b"tampered")
    manager = PackageManager(tmp_path / "plugins", [Source(f"{host.url}/index.yml", "mine")])
    expected = yaml.safe_load(index.read_text())[0]["sha256"]
    refusal = rf"^package data \([0-9a-f]{{64}}\) does not match expected SHA256 \({expected}\)$"
    with pytest.raises(PackageError, match=refusal):
        manager.install("demo", f"{host.url}/index.yml")
    assert not (tmp_path / "plugins").exists()


def test_an_upgrade_deletes_only_the_old_zips_files_and_keeps_what_the_plugin_made(served, tmp_path: Path):
    host, site = served
    url = f"{host.url}/index.yml"
    publish(site, V1, "2026-01-02 03:04:05")
    manager = PackageManager(tmp_path / "plugins", [Source(url, "mine")])
    folder = manager.install("demo", url)
    (folder / "data").mkdir()
    (folder / "data" / "queue.db").write_bytes(b"jobs")  # made by the plugin, not in any zip
    publish(site, {"Demo.yml": b"name: Demo 2\n", "new.txt": b"new"}, "2026-01-02 03:04:05", version="2.0")
    assert not manager.upgradable("demo", url)  # the same date: a new version text is not an upgrade
    publish(site, {"Demo.yml": b"name: Demo 2\n", "new.txt": b"new"}, "2026-02-01 00:00:00", version="2.0")
    assert manager.upgradable("demo", url)
    manager.install("demo", url)
    assert (folder / "Demo.yml").read_bytes() == b"name: Demo 2\n" and (folder / "new.txt").exists()
    assert not (folder / "run.sh").exists() and not (folder / "sub" / "old.txt").exists()
    assert (folder / "sub").is_dir()  # folders are never deleted
    assert (folder / "data" / "queue.db").read_bytes() == b"jobs"
    assert manager.installed("demo", url).version == "2.0"


def test_uninstall_leaves_the_folder_while_the_plugin_left_files_in_it(served, tmp_path: Path):
    host, site = served
    url = f"{host.url}/index.yml"
    publish(site, {"Demo.yml": b"name: Demo\n"}, "2026-01-02 03:04:05")
    manager = PackageManager(tmp_path / "plugins", [Source(url, "mine")])
    folder = manager.install("demo", url)
    (folder / "data").mkdir()
    (folder / "data" / "dead.db").write_bytes(b"letters")
    manager.uninstall("demo", url)
    assert sorted(p.name for p in folder.iterdir()) == ["data"]  # its files and manifest gone, data kept
    clean = manager.install("demo", url)
    (clean / "data" / "dead.db").unlink()
    (clean / "data").rmdir()
    manager.uninstall("demo", url)
    assert not clean.exists()


def test_a_local_index_is_a_file_url_with_paths_relative_to_it(tmp_path: Path):
    index = publish(tmp_path / "site", {"Demo.yml": b"name: Demo\n"}, "2026-01-02 03:04:05 +0100")
    url = index.as_uri()
    manager = PackageManager(tmp_path / "plugins")  # a source Stash does not know: the plugins folder itself
    assert manager.list_remote(url)[0].date == parse_time("2026-01-02 02:04:05")  # the legacy format, to UTC
    assert manager.install("demo", url) == tmp_path / "plugins" / "demo"
    with pytest.raises(PackageError, match="unsupported protocol scheme"):
        manager.list_remote(str(index))  # a plain path is no URL to Stash


def test_an_index_served_over_http_cannot_point_at_a_local_zip(served, tmp_path: Path):
    host, site = served
    publish(site, V1, "2026-01-02 03:04:05", path=(tmp_path / "elsewhere.zip").as_uri())
    with pytest.raises(PackageError, match="is invalid for a remotely hosted package list"):
        PackageManager(tmp_path / "plugins").install("demo", f"{host.url}/index.yml")
