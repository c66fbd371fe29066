"""The two optional features that need compiled packages, installed with pip when configured.

Every package PlexSync needs on Stash's machine is pure Python and shipped in
the plugin package, except two that only an optional feature uses (and that
nothing imports before it is used: :mod:`plexsync.sync.portrait` imports PIL
inside the cut, peewee imports psycopg2 only for a PostgreSQL database):

* Pillow, for *Poster shape: portrait* (``poster_shape``);
* psycopg2, for the shared state database (``PLEXSYNC_DATABASE_URL``).

Their wheels differ per platform and Python, so they cannot ship inside one
package. When the feature is configured and the package cannot be imported,
the set-up runs ``python -m pip install --require-hashes --only-binary=:all:
--target .deps/<digest>-<feature>-<interpreter>/`` with the pinned release and
every sha256 PyPI lists for it (``requirements-optional.lock``), into a
temporary folder renamed into place when complete. ``--target`` also keeps
pip clear of the system's packages (and of PEP 668's externally-managed
refusal on Alpine). When pip is missing or cannot download, the outcome says
in one line which feature, and exactly what to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from plexsync.environment import layout, lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

#: Longest wait for pip, which downloads a few MB.
PIP_TIMEOUT = 600


class Feature:
    __slots__ = ("alternative", "module", "package", "title")

    def __init__(self, package: str, module: str, title: str, alternative: str) -> None:
        self.package = package
        self.module = module
        self.title = title
        self.alternative = alternative


PILLOW = Feature("pillow", "PIL", "Poster shape: portrait", "or set Poster shape to cover")
PSYCOPG2 = Feature(
    "psycopg2-binary", "psycopg2", "PLEXSYNC_DATABASE_URL (PostgreSQL)", "or unset PLEXSYNC_DATABASE_URL"
)


def needed(environ: Mapping[str, str], settings: Mapping[str, object] | None) -> list[Feature]:
    """The features configured in ``environ`` (which wins, as in :mod:`plexsync.config`) or on the plugin page."""
    found = []
    shape = environ.get("PLEXSYNC_POSTER_SHAPE") or (settings or {}).get("poster_shape") or ""
    if str(shape).strip().lower() == "portrait":
        found.append(PILLOW)
    if environ.get("PLEXSYNC_DATABASE_URL"):
        found.append(PSYCOPG2)
    return found


def importable(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _pin(plugin_dir: str, feature: Feature) -> lock.Pin:
    for pin in lock.read(plugin_dir, layout.LOCK_FILES[1]):
        if pin.key == lock.normalise(feature.package):
            return pin
    raise lock.LockError(f"{layout.LOCK_FILES[1]} has no {feature.package}")


def _pip_failure(result: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    from plexsync.redact import redact  # an index URL in pip's message may carry a credential

    return " ".join(redact((errors or lines or ["pip failed"])[-1]).split())[:200]


def install(plugin_dir: str, digest: str, feature: Feature) -> str | None:
    """Install ``feature``'s package for this Python unless it imports already.

    None, or the one line saying what to do."""
    final = layout.feature_target(plugin_dir, digest, feature.package)
    if os.path.isdir(final) or importable(feature.module):
        return None
    pin = _pin(plugin_dir, feature)
    python = sys.executable
    manual = (
        f"run `{python} -m pip install --target {final} {pin.name}=={pin.version}` where Stash runs, "
        f"then the task 'Set up PlexSync' ({feature.alternative})"
    )
    has_pip = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, timeout=60).returncode == 0
    if not has_pip:
        return f"{feature.title} needs {pin.name} {pin.version} and Stash's Python has no pip to install it: {manual}"
    temporary = f"{final}.tmp-{os.getpid()}"
    requirements = os.path.join(layout.deps_root(plugin_dir), f".{feature.package}-{os.getpid()}.txt")
    with open(requirements, "w", encoding="utf-8") as out:
        out.write(pin.requirement() + "\n")
    command = [
        python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--no-deps",
        "--only-binary=:all:", "--require-hashes", "--target", temporary, "-r", requirements,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
        if result.returncode != 0:
            failure = _pip_failure(result)
            return f"{feature.title} needs {pin.name} {pin.version}, which pip could not install ({failure}): {manual}"
        shutil.rmtree(final, ignore_errors=True)
        os.rename(temporary, final)
    except subprocess.TimeoutExpired:
        return f"{feature.title} needs {pin.name} {pin.version}; pip did not finish in {PIP_TIMEOUT} s: {manual}"
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        os.remove(requirements)
    return None


def install_needed(
    plugin_dir: str, digest: str, environ: Mapping[str, str], settings: Mapping[str, object] | None
) -> list[str]:
    """Install every configured feature; one line per feature that could not be."""
    notes = []
    for feature in needed(environ, settings):
        try:
            note = install(plugin_dir, digest, feature)
        except (OSError, lock.LockError) as exc:
            note = f"{feature.title}: its package could not be installed ({exc})"
        if note:
            notes.append(note)
    return notes
