"""The plugin source's ``index.yml``, in the format Stash's package manager reads (``pkg/pkg/pkg.go``).

A YAML list of ``{id, name, metadata, version, date, path, sha256, requires}``,
as ``stashapp/plugins-repo-template``'s ``build_site.sh`` writes it: the id is
the manifest's file name (Stash's plugin id), the version the manifest's with
the commit's short hash, ``path`` the zip beside the index.

**The date** decides upgrades: Stash offers one when the index's date is later
than the installed package's (``PackageVersion.Upgradable``), nothing else. So
it must grow with every published change, and be a property of the tree, not
of the build, for the same tree to build the same bytes: it is the commit's
date (UTC, ``2006-01-02 15:04:05``, Stash's ``TimeFormat``), as the template
does, or ``SOURCE_DATE_EPOCH`` when set (the reproducible-builds convention,
for a tree without git or a build that must pretend another time).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import yaml

#: Stash's pkg.TimeFormat, in UTC.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SourceDateError(ValueError):
    pass


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def source_date(root: Path) -> int:
    """Seconds since 1970: ``SOURCE_DATE_EPOCH``, else the date of the commit checked out."""
    raw = os.environ.get("SOURCE_DATE_EPOCH") or _git(root, "log", "-1", "--format=%ct")
    if not raw or not raw.isdigit():
        raise SourceDateError(f"{root} is not a git checkout: set SOURCE_DATE_EPOCH to date the package")
    return int(raw)


def version(root: Path, manifest: dict) -> str:
    commit = _git(root, "rev-parse", "--short=7", "HEAD")
    base = str(manifest.get("version") or "0")
    return f"{base}-{commit}" if commit else base


def entry(plugin_id: str, manifest: dict, version_text: str, when: int, zip_name: str, zip_bytes: bytes) -> dict:
    return {
        "id": plugin_id,
        "name": manifest["name"],
        "metadata": {"description": " ".join(str(manifest.get("description") or "").split())},
        "version": version_text,
        "date": time.strftime(TIME_FORMAT, time.gmtime(when)),
        "path": zip_name,
        "sha256": hashlib.sha256(zip_bytes).hexdigest(),
        "requires": [],
    }


def render(entries: list[dict]) -> str:
    return yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=1000)
