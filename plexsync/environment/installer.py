"""The set-up: the lock's wheels unpacked into ``.deps/<digest>/``, one set-up at a time, never half-used.

**One at a time.** The process setting up holds ``.deps/setup.lock``
(:mod:`plexsync.worker.oslock`) for its whole run; whoever finds it
held waits (a task) or leaves it to the holder (a hook).

**Never half-used.** Every wheel's sha256 is checked against the lock before
anything is written; the wheels are unpacked into ``.deps/.tmp-<digest>-<pid>/``
and compiled to bytecode there (with the final path in the bytecode, for
tracebacks), and only a complete folder is renamed to ``.deps/<digest>/``, the
name :mod:`~plexsync.environment.activate` looks for. A set-up killed midway
leaves a ``.tmp-`` folder nobody reads, removed by the next set-up.

**Visible.** Progress and outcome go into ``.deps/status.json``
(:func:`write_status`): a set-up started by a hook runs detached, and a
detached process cannot write to Stash's log, so the next invocation reports
it (:mod:`~plexsync.environment.report`); a task running the set-up shows it
directly as Stash's progress bar and log lines.

**Tidy.** After a set-up, the folders of older locks go, except the one used
just before: a worker started from it may still be finishing its jobs (it
stops as soon as it sees the lock changed: :mod:`plexsync.worker.presence`).
"""

from __future__ import annotations

import json
import os
import shutil
import time

from plexsync.environment import activate, features, layout, lock, wheels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REINSTALL = (
    "reinstall PlexSync from Stash's Settings > Plugins > Available Plugins, then run the task 'Set up PlexSync'"
)


class SetupFailed(Exception):
    """The set-up could not complete; the message is one line that says what to do."""


# -- the status file -----------------------------------------------------------------------------------------------


def write_status(plugin_dir: str, **fields: object) -> None:
    path = layout.status_path(plugin_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump({"pid": os.getpid(), "at": time.time(), **fields}, out)
    os.replace(temporary, path)


def package_stamp(plugin_dir: str) -> int:
    """When the package's files were written (Stash writes them all anew on every install): a set-up that
    failed is tried again by the hooks once this changed, i.e. once the package was installed again."""
    try:
        return os.stat(os.path.join(plugin_dir, layout.LOCK_FILES[0])).st_mtime_ns
    except OSError:
        return 0


def read_status(plugin_dir: str) -> dict | None:
    try:
        with open(layout.status_path(plugin_dir), encoding="utf-8") as status:
            found = json.load(status)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


# -- the set-up ----------------------------------------------------------------------------------------------------


def _unpack_all(plugin_dir: str, pins: list[lock.Pin], temporary: str, progress: Callable[[str, float], None]) -> None:
    lock_name = layout.LOCK_FILES[0]
    source = layout.wheels_dir(plugin_dir)
    try:
        paths = [wheels.find(source, pin) for pin in pins]
        checked = [(pin, path, wheels.verified(path, pin, lock_name)) for pin, path in zip(pins, paths, strict=True)]
        for number, (pin, path, data) in enumerate(checked, 1):
            progress(f"installing {pin.name} {pin.version}, {number} of {len(pins)}", 0.1 + 0.7 * number / len(pins))
            wheels.unpack(data, os.path.basename(path), temporary)
    except wheels.WheelError as exc:
        raise SetupFailed(f"{exc}: the package is damaged or was changed; {REINSTALL}") from None


def _compile(folder: str, final: str) -> None:
    """Bytecode beside the sources, naming ``final`` (Stash's Docker image sets PYTHONDONTWRITEBYTECODE,
    which only stops Python from writing bytecode: hooks still read this)."""
    import compileall

    compileall.compile_dir(folder, ddir=final, quiet=2)


def install_core(plugin_dir: str, digest: str, progress: Callable[[str, float], None], force: bool = False) -> int:
    """``.deps/<digest>/`` complete (made now, or rewritten file by file when ``force``); the number of packages."""
    try:
        pins = lock.read(plugin_dir)
    except (OSError, lock.LockError) as exc:
        raise SetupFailed(f"{layout.LOCK_FILES[0]} cannot be read ({exc}); {REINSTALL}") from None
    final = layout.target(plugin_dir, digest)
    if os.path.isdir(final):
        if force:  # a repair: every file written again in place (each replaced whole: a running worker reads on)
            progress(f"checking {len(pins)} wheels against {layout.LOCK_FILES[0]}", 0.05)
            _unpack_all(plugin_dir, pins, final, progress)
            progress("compiling the packages", 0.85)
            _compile(final, final)
        return len(pins)
    temporary = os.path.join(layout.deps_root(plugin_dir), f".tmp-{digest}-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    try:
        progress(f"checking {len(pins)} wheels against {layout.LOCK_FILES[0]}", 0.05)
        _unpack_all(plugin_dir, pins, temporary, progress)
        progress("compiling the packages", 0.85)
        _compile(temporary, final)
        os.rename(temporary, final)
    except OSError as exc:
        raise SetupFailed(f"could not write {layout.deps_root(plugin_dir)} ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return len(pins)


def _tidy(plugin_dir: str, digest: str) -> None:
    """Remove left-over temporary folders and the folders of all locks but this one and the one before."""
    root = layout.deps_root(plugin_dir)
    others: dict[str, float] = {}
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            continue
        if name.startswith(".tmp-"):
            shutil.rmtree(path, ignore_errors=True)
            continue
        owner = name.split("-", 1)[0]
        if owner != digest:
            others[owner] = max(others.get(owner, 0.0), os.stat(path).st_mtime)
    keep = max(others, key=others.__getitem__, default=None)
    for name in os.listdir(root):
        owner = name.split("-", 1)[0]
        if owner in others and owner != keep:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def run(
    plugin_dir: str,
    progress: Callable[[str, float], None],
    environ: Mapping[str, str] | None = None,
    read_settings: Callable[[], Mapping[str, object]] | None = None,
    force: bool = False,
) -> dict:
    """Set up (the caller holds the set-up lock); the outcome, also written to the status file.

    ``read_settings``: how to read the plugin page's settings, when the caller
    can (a task, with its session); called with the packages on the path.
    They and ``environ`` say which optional features to install.
    """
    digest = activate.lock_digest(plugin_dir)
    started = time.monotonic()

    def report(step: str, fraction: float) -> None:
        write_status(plugin_dir, state="running", digest=digest, step=step, fraction=round(fraction, 3))
        progress(step, fraction)

    try:
        if digest is None:
            raise SetupFailed(f"{layout.LOCK_FILES[0]} is missing; {REINSTALL}")
        report("starting", 0.0)
        count = install_core(plugin_dir, digest, report, force)
        from plexsync.plugin.bytecode import compile_plugin

        compile_plugin(plugin_dir)  # the plugin's own modules too, as run.py setup does: hooks read, never compile
        report("optional features", 0.9)
        notes: list[str] = []
        settings = None
        if read_settings is not None:
            activate.put_on_path(plugin_dir, digest)
            try:
                settings = read_settings()
            except Exception as exc:  # Stash away: the features set there wait for the next set-up
                notes.append(f"the plugin page's settings could not be read ({exc}): run 'Set up PlexSync' again")
        env = environ if environ is not None else os.environ
        notes += features.install_needed(plugin_dir, digest, env, settings)
        _tidy(plugin_dir, digest)
    except SetupFailed as exc:
        outcome = {
            "state": "failed",
            "digest": digest,
            "package": package_stamp(plugin_dir),
            "level": "warning",
            "message": f"set-up failed: {exc}",
        }
    else:
        seconds = time.monotonic() - started
        message = f"set up: {count} Python packages installed from the plugin package in {seconds:.1f} s"
        outcome = {
            "state": "done",
            "digest": digest,
            "level": "warning" if notes else "info",
            "message": "; ".join([message, *notes]),
        }
    write_status(plugin_dir, **outcome)
    progress(outcome["message"], 1.0)
    return outcome
