"""Stash's package manager for plugins, as ``pkg/pkg`` does it (stashapp/stash cf3489e, January 2026).

Settings > Plugins > Available Plugins lists the packages of each *source*
(a name, an index URL and a local path); installing one runs
``pkg.Manager.Install``. Read from ``pkg/pkg/manager.go``, ``pkg.go``,
``repository_http.go`` and ``store.go``:

* **The index** (``httpRepository.List``) is fetched with a GET, or read from
  the disk for a ``file://`` URL (a plain path is not a URL to Stash: Go's
  HTTP client refuses it), and parsed as a YAML list of ``{id, name, version,
  date, path, sha256, requires, metadata}``; unknown keys are ignored (yaml.v2,
  not strict). ``date`` is ``2006-01-02 15:04:05`` (UTC) or the legacy
  ``2006-01-02 15:04:05 -0700``; anything else fails the whole list.
* **The zip** (``GetPackageZip``): ``path`` is used as a URL when it is one,
  else joined to the index URL's folder (an absolute path replaces the URL's
  path); a ``file://`` zip is refused for an index served over HTTP.
* **Install**: the zip's sha256 must equal the index's (``package data (x)
  does not match expected SHA256 (y)``); the store is ``<plugins dir>/<the
  source's local path>/`` (the base when the source is unknown or has none);
  a package already there is uninstalled first *file by file*
  (``deletePackageFiles``: only the files its manifest lists, then the
  manifest); every zip member that is not a folder is written to
  ``<store>/<id>/<filepath.Clean(name)>`` with the member's mode (no check
  that it stays inside: Stash has none); then ``<id>/manifest`` records id,
  name, metadata, version, date, ``source_repository`` and ``files``.
* **Upgrade** is Install again (``UpdatePackagesJob``); a package is
  upgradable when the index's date is *after* the installed one's (the
  version text is not compared).
* **Uninstall** deletes the listed files and the manifest, then tries
  ``os.Remove`` on the package folder, which fails (ignored) when anything
  else is left in it: folders the package created and files it did not ship
  (PlexSync's ``data/`` and ``.deps/``) survive upgrades and uninstalls.

Used by the tests to install the package ``python3 run.py package`` builds,
exactly where and how Stash would. :class:`SourceHost` serves a built source
over real HTTP, as GitHub Pages does (``Last-Modified`` included: Stash uses
it to cache the index).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import yaml

#: pkg.ManifestFile: the installed package's record, in its folder.
MANIFEST_FILE = "manifest"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
LEGACY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


class PackageError(RuntimeError):
    """What Stash logs as "Error installing package ...", with Go's wording where it matters."""


def parse_time(text: str) -> datetime:
    """``pkg.Time.UnmarshalYAML``: Stash's format in UTC, else the legacy one with a zone."""
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        try:
            return datetime.strptime(text, LEGACY_TIME_FORMAT).astimezone(UTC)
        except ValueError:
            raise PackageError(f'parsing time "{text}" as "2006-01-02 15:04:05": cannot parse') from None


@dataclass(frozen=True)
class Source:
    """One entry of ``plugins.package_sources``."""

    url: str
    local_path: str = ""
    name: str | None = None


@dataclass
class RemotePackage:
    id: str
    name: str
    version: str
    date: datetime
    path: str
    sha256: str
    requires: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    source_url: str = ""


@dataclass
class InstalledPackage:
    id: str
    name: str
    version: str
    date: datetime
    source_repository: str
    files: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)


def _scalar(value: Any) -> str:
    return "" if value is None else str(value)


def _remote(item: Any, source_url: str) -> RemotePackage:
    if not isinstance(item, dict):
        raise PackageError("reading package list: yaml: cannot unmarshal into pkg.RemotePackage")
    requires = item.get("requires") or []
    metadata = item.get("metadata") or {}
    return RemotePackage(
        id=_scalar(item.get("id")),
        name=_scalar(item.get("name")),
        version=_scalar(item.get("version")),
        date=parse_time(_scalar(item.get("date"))) if item.get("date") else datetime.min.replace(tzinfo=UTC),
        path=_scalar(item.get("path")),
        sha256=_scalar(item.get("sha256")),
        requires=[_scalar(r) for r in requires] if isinstance(requires, list) else [],
        metadata=metadata if isinstance(metadata, dict) else {},
        source_url=source_url,
    )


def _is_url(text: str) -> bool:
    """``isURL``: a scheme and a host, or ``file:``."""
    parts = urlsplit(text)
    return bool(parts.scheme) and (parts.scheme == "file" or bool(parts.netloc))


class PackageManager:
    """``pkg.Manager`` for plugins: ``plugins_dir`` is Stash's plugins folder, ``sources`` its package sources."""

    def __init__(self, plugins_dir: Path | str, sources: list[Source] | None = None, timeout: float = 10.0) -> None:
        self.plugins_dir = Path(plugins_dir)
        self.sources = list(sources or [])
        self.timeout = timeout  # Stash's package HTTP client: 10 s

    # -- reading ------------------------------------------------------------
    def _get(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme == "file":
            try:
                return Path(url2pathname(parts.path)).read_bytes()
            except OSError as exc:
                raise PackageError(f'failed to get file "{parts.path}": {exc.strerror}') from None
        if parts.scheme not in ("http", "https"):
            raise PackageError(f'failed to get remote file: unsupported protocol scheme "{parts.scheme}"')
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as exc:
            raise PackageError(f"failed to get remote file: {exc.code} {exc.reason}") from None
        except OSError as exc:
            raise PackageError(f"failed to get remote file: {exc}") from None

    def list_remote(self, source_url: str) -> list[RemotePackage]:
        data = self._get(source_url)
        try:
            items = yaml.load(data, Loader=yaml.BaseLoader)  # yaml.v2 into strings: a date stays its text
        except yaml.YAMLError as exc:
            raise PackageError(f"reading package list: {exc}") from None
        if items is None:
            return []
        if not isinstance(items, list):
            raise PackageError("reading package list: yaml: cannot unmarshal into []pkg.RemotePackage")
        return [_remote(item, source_url) for item in items]

    def package(self, package_id: str, source_url: str) -> RemotePackage:
        """The newest entry with that id (``remotePackageIndexFromList`` keeps the latest date)."""
        found = [pkg for pkg in self.list_remote(source_url) if pkg.id == package_id]
        if not found:
            raise PackageError(f"package {package_id} not found in {source_url}")
        return max(found, key=lambda pkg: pkg.date)

    def resolve(self, source_url: str, path: str) -> str:
        """``httpRepository.resolvePath``."""
        if _is_url(path):
            return path
        parts = urlsplit(source_url)
        if path.startswith("/"):
            new_path = path
        else:
            new_path = str(PurePosixPath(os.path.normpath(str(PurePosixPath(parts.path).parent / path))))
        return urlunsplit((parts.scheme, parts.netloc, new_path, parts.query, parts.fragment))

    # -- the local store ----------------------------------------------------
    def store(self, source_url: str) -> Path:
        """``getStore``: the plugins folder joined with the source's local path ("" when unknown)."""
        local = next((source.local_path for source in self.sources if source.url == source_url), "")
        return self.plugins_dir if local in ("", ".") else self.plugins_dir / local

    def installed(self, package_id: str, source_url: str) -> InstalledPackage | None:
        path = self.store(source_url) / package_id / MANIFEST_FILE
        try:
            data = yaml.load(path.read_bytes(), Loader=yaml.BaseLoader)
        except OSError:
            return None
        return InstalledPackage(
            id=data.get("id", ""),
            name=data.get("name", ""),
            version=data.get("version", ""),
            date=parse_time(data["date"]) if data.get("date") else datetime.min.replace(tzinfo=UTC),
            source_repository=data.get("source_repository", ""),
            files=list(data.get("files") or []),
            metadata=data.get("metadata") or {},
        )

    def upgradable(self, package_id: str, source_url: str) -> bool:
        """``PackageStatus.Upgradable``: the index's date is after the installed package's."""
        local = self.installed(package_id, source_url)
        return local is not None and self.package(package_id, source_url).date > local.date

    # -- install, upgrade, uninstall ---------------------------------------
    def install(self, package_id: str, source_url: str) -> Path:
        """``Manager.Install`` (also what an upgrade runs); the package's folder."""
        pkg = self.package(package_id, source_url)
        zip_url = self.resolve(source_url, pkg.path)
        if urlsplit(zip_url).scheme == "file" and urlsplit(source_url).scheme != "file":
            raise PackageError(f"{zip_url} is invalid for a remotely hosted package list")
        data = self._get(zip_url)
        sha = hashlib.sha256(data).hexdigest()
        if sha != pkg.sha256:
            raise PackageError(f"package data ({sha}) does not match expected SHA256 ({pkg.sha256})")
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise PackageError(f"reading zip data: {exc}") from None
        store = self.store(source_url)
        if self.installed(package_id, source_url) is not None:
            self._delete_files(store, package_id)
        folder = store / package_id
        files = []
        with archive:
            for member in archive.infolist():
                if member.is_dir():
                    continue
                name = os.path.normpath(member.filename)  # filepath.Clean
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                mode = (member.external_attr >> 16) & 0o777 or 0o644
                with archive.open(member) as source:
                    target.write_bytes(source.read())
                target.chmod(mode)
                files.append(name)
        manifest = {
            "id": pkg.id,
            "name": pkg.name,
            "metadata": pkg.metadata,
            "version": pkg.version,
            "date": pkg.date.strftime(TIME_FORMAT),
            "requires": [],
            "source_repository": source_url,
            "files": files,
        }
        (folder / MANIFEST_FILE).write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        return folder

    def _delete_files(self, store: Path, package_id: str) -> None:
        """``deletePackageFiles``: the manifest's files (errors ignored), then the manifest."""
        manifest = yaml.load((store / package_id / MANIFEST_FILE).read_bytes(), Loader=yaml.BaseLoader)
        for name in manifest.get("files") or []:
            try:
                (store / package_id / name).unlink()
            except OSError:
                continue
        (store / package_id / MANIFEST_FILE).unlink()

    def uninstall(self, package_id: str, source_url: str) -> None:
        """``Manager.Uninstall``: the files, the manifest, then the folder if it is empty."""
        store = self.store(source_url)
        try:
            self._delete_files(store, package_id)
        except OSError as exc:
            raise PackageError(f"deleting local package: getting manifest: {exc}") from None
        with contextlib.suppress(OSError):
            (store / package_id).rmdir()


class SourceHost:
    """A folder served over HTTP on loopback, as GitHub Pages serves a plugin source."""

    def __init__(self, folder: Path | str) -> None:
        handler = partial(_QuietHandler, directory=str(folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SourceHost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
