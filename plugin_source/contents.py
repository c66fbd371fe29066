"""Which files of the tree make the package: a rule, so that a new file is in or out without a list to update.

The package holds what runs on Stash's machine and nothing else:

* the manifest (the one ``*.yml`` at the top: Stash loads every ``*.yml``
  below its plugins folder as a plugin, so the package must hold exactly one)
  and every file it references: the ``exec`` script, the ``ui:`` section's
  ``javascript``, ``css`` and ``assets`` folders (a UI part added later comes
  along by being referenced);
* the Python package the entry script runs (``plexsync/``) and the module the
  worker is started with (``huey_config.py``, from the consumer's command line
  in :mod:`plexsync.worker.autostart`);
* what a set-up reads: the lock files, and ``run.py`` with ``requirements.txt``
  for ``python3 run.py setup`` (a user who prefers a ``.venv``).

Within those, only files git would commit (tracked or not ignored: no
``__pycache__``, no ``data/``); outside them nothing: no tests, emulators,
benchmarks, demo, docs or test manifests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from plexsync.environment.layout import LOCK_FILES
from plexsync.worker.autostart import consumer_command

#: The Python package the entry script imports.
RUNTIME_PACKAGE = "plexsync"
#: What ``python3 run.py setup`` reads.
SETUP_FILES = ("run.py", "requirements.txt")


class ContentsError(ValueError):
    """The tree cannot make a package; the message says why."""


def manifest_path(root: Path) -> Path:
    found = sorted(root.glob("*.yml"))
    if len(found) != 1:
        raise ContentsError(f"{root} must hold exactly one plugin manifest (*.yml), not {len(found)}")
    return found[0]


def load_manifest(root: Path) -> dict:
    with manifest_path(root).open(encoding="utf-8") as manifest:
        return yaml.safe_load(manifest)


def _local(reference: object) -> str | None:
    """A file reference of the manifest as a path inside the plugin folder (None: a URL or not a path)."""
    if not isinstance(reference, str) or "://" in reference:
        return None
    path = reference.replace("{pluginDir}", "").lstrip("/\\")
    return path.replace("\\", "/") if path and not path.startswith("..") else None


def referenced(manifest: dict) -> list[str]:
    """The files and folders the manifest names."""
    found = [path for arg in (manifest.get("exec") or [])[1:] if (path := _local(arg))]
    for task in [*(manifest.get("tasks") or []), *(manifest.get("hooks") or [])]:
        found += [path for arg in task.get("execArgs") or [] if (path := _local(arg)) and "/" in path]
    ui = manifest.get("ui") or {}
    for key in ("javascript", "css"):
        found += [path for ref in ui.get(key) or [] if (path := _local(ref))]
    found += [path for ref in (ui.get("assets") or {}).values() if (path := _local(ref))]
    return found


def consumer_module() -> str:
    """The module the worker is started with (``huey_config.huey`` -> ``huey_config.py``)."""
    app = next(arg for arg in consumer_command() if arg.endswith(".huey"))
    return app.rpartition(".")[0].replace(".", "/") + ".py"


def candidates(root: Path) -> list[str]:
    """Every file git would commit in ``root`` (tracked, or untracked and not ignored), posix paths."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return _walk(root)
    return sorted({name for name in listing.decode().split("\0") if name and (root / name).is_file()})


def _walk(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        found += [Path(folder, name).relative_to(root).as_posix() for name in files if not name.endswith(".pyc")]
    return sorted(found)


def package_files(root: Path) -> list[str]:
    """The tree's files that go into the package, sorted (posix paths relative to ``root``)."""
    manifest = manifest_path(root)
    wanted = [
        manifest.name,
        *referenced(load_manifest(root)),
        RUNTIME_PACKAGE,
        consumer_module(),
        *LOCK_FILES,
        *SETUP_FILES,
    ]
    available = candidates(root)
    chosen: set[str] = set()
    for want in wanted:
        inside = [name for name in available if name == want or name.startswith(want.rstrip("/") + "/")]
        if not inside:
            raise ContentsError(f"{want} is part of the package but is not in {root}")
        chosen.update(inside)
    manifests = sorted(name for name in chosen if name.endswith(".yml"))
    if manifests != [manifest.name]:
        raise ContentsError(f"the package would hold {len(manifests)} .yml files (Stash loads each): {manifests}")
    return sorted(chosen)
