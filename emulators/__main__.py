"""The playground: an emulated Stash running the real PlexSync plugin, and an emulated Plex.

    python -m emulators [--scenes N] [--seed S] [--stash-port P] [--plex-port P]
                        [--data-dir DIR] [--no-plugin]

Both servers hold the same generated library (see :mod:`emulators.library`):
Stash knows the files under /data/stash, Plex under /media/plex. Stash runs
this folder's plugin the way real Stash does (:mod:`emulators.plugin_host`):
every scene edit made over GraphQL (``sceneUpdate``, what Stash's UI sends,
e.g. with ``python -m emulators.edit``) fires the plugin's hook before the
edit's answer, and the hook queues a sync in ``--data-dir``. A worker started
with the printed ``export PLEXSYNC_...`` lines does the rest. This window
reports each hook run and each write PlexSync makes into Plex, so one edit can
be followed end to end. Plugin settings saved with ``configurePlugin`` (as
Stash's plugin page does; ``python -m emulators.plugin_settings``) are kept
for the worker to read. Ctrl-C (or SIGTERM) stops both servers.

Everything it prints is a shell script (``export`` lines, every other line a
comment), so ``python -m emulators | tee playground.env`` lets any other shell
take the variables with ``. ./playground.env``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from plexsync.config import BOOTSTRAP_SETTINGS, env_name

from .consumer import REPO
from .library import EXTRAS, MAX_SCENES, MIN_SCENES, SETUPS, GeneratedScene, Library, generate_library
from .plex import PlexEmulator
from .plugin_host import Invocation, PluginHost
from .stash import StashEmulator

#: Example scenes printed for the walkthrough.
EXAMPLES = 3
_PLEX_EDIT = r"^/library/sections/\d+/all$"
_PLEX_POSTER = r"^/library/metadata/\d+/posters$"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators",
        description=(
            "Serve an emulated Stash (running this folder's PlexSync plugin on every scene edit) and an "
            "emulated Plex Media Server on 127.0.0.1, both seeded with the same generated library "
            "(multi-part items, NFC/NFD names, unscanned files, a show section, a file in two sections...), "
            "until interrupted. Prints the PLEXSYNC_* variables a worker needs, then one line per hook run "
            "and per PlexSync write into Plex."
        ),
    )

    def scene_count(text: str) -> int:
        value = int(text)
        if not MIN_SCENES <= value <= MAX_SCENES:
            raise argparse.ArgumentTypeError(f"must be between {MIN_SCENES} and {MAX_SCENES}")
        return value

    parser.add_argument(
        "--scenes", type=scene_count, default=200, metavar="N", help="Stash scenes to generate (default 200)"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed: the same seed, the same library")
    parser.add_argument("--stash-port", type=int, default=9999, help="Stash's port (0: any free port; default 9999)")
    parser.add_argument("--plex-port", type=int, default=32400, help="Plex's port (0: any free port; default 32400)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the queue and state directory the hook writes to and the worker must use "
        "(default: a new temporary directory, kept after exit)",
    )
    parser.add_argument(
        "--no-plugin", action="store_true", help="serve Stash without the PlexSync plugin: edits fire no hook"
    )
    parser.add_argument(
        "--setup",
        choices=("linux", *SETUPS),
        default="linux",
        help="which hosts Stash and Plex run on: stash_windows and plex_windows use drive, UNC and \\\\?\\ roots",
    )
    parser.add_argument(
        "--extras",
        default="",
        metavar="A,B",
        help=f"comma-separated ways the two sides disagree: {', '.join(EXTRAS)}",
    )
    parser.add_argument(
        "--scan-delay", type=float, default=0.0, metavar="S", help="seconds a Plex partial scan takes (default 0)"
    )
    parser.add_argument(
        "--frozen-section-stamps",
        action="store_true",
        help="Plex's section stamps (scannedAt, updatedAt, contentChangedAt) never move, even after a scan",
    )
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Console:
    """Lines printed from several threads (HTTP handlers, the Plex watcher), whole and at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def say(self, *lines: str) -> None:
        with self._lock:
            print(*lines, sep="\n", flush=True)


def export_lines(values: dict[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def example_scenes(library: Library) -> list[GeneratedScene]:
    """Scenes a walkthrough can edit: a movie with exactly one Plex item that is its own."""
    return [
        scene
        for scene in library.scenes
        if scene.kind == "movie"
        and scene.scanned
        and scene.stash_id
        and len(scene.rating_keys) == 1
        and "multipart" not in scene.traits
    ][:EXAMPLES]


def example_line(scene: GeneratedScene) -> str:
    return f'# scene {scene.stash_id} is Plex item {scene.rating_keys[0]}: "{one_line(scene.title or "(no title)")}"'


def one_line(text: object) -> str:
    """Keeps every printed line a comment: a title or message never spans lines."""
    return " ".join(str(text).split())


def describe(invocation: Invocation) -> list[str]:
    """One line for a hook run (plus its warnings and errors), as Stash's log would show it."""
    context = invocation.stdin["args"].get("hookContext") or {}
    outcome = f"error: {invocation.error}" if invocation.error else invocation.output or invocation.raw_output
    lines = [f'# hook "{invocation.name}" ({context.get("type")}, scene {context.get("id")}) -> {one_line(outcome)}']
    lines += [
        f"#   {line.level}: {one_line(line.message)}" for line in invocation.logs if line.level in ("warning", "error")
    ]
    return lines


def report_hooks(stash: StashEmulator, host: PluginHost, console: Console) -> None:
    """Print every hook run of ``host`` once it finished (Stash runs them inside the edit)."""
    fire = stash.on_mutation
    assert fire is not None
    lock = threading.Lock()
    printed = 0

    def on_mutation(hook_type: str, object_id: int, input: dict | None, input_fields: list[str] | None) -> None:
        nonlocal printed
        fire(hook_type, object_id, input, input_fields)
        with lock:
            new, printed = host.invocations[printed:], len(host.invocations)
        for invocation in new:
            if invocation.kind == "hook":
                console.say(*describe(invocation))

    stash.on_mutation = on_mutation


def watch_plex(plex: PlexEmulator, console: Console, stop: threading.Event) -> threading.Thread:
    """Report PlexSync's writes into Plex (edits and posters) from Plex's request log."""

    def run() -> None:
        seen_edits = seen_posters = 0
        while not stop.wait(0.2):
            edits = [r for r in plex.requests_matching("PUT", _PLEX_EDIT) if r.status == 200]
            posters = [r for r in plex.requests_matching("POST", _PLEX_POSTER) if r.status == 200]
            for record in edits[seen_edits:]:
                for key in (record.arg("id") or "").split(","):
                    try:
                        item = plex.item(int(key))
                    except (KeyError, ValueError):
                        continue
                    else:
                        locked = ", ".join(sorted(item.locked)) or "nothing"
                        console.say(f'# Plex item {key} written: title "{one_line(item.title)}" (locked: {locked})')
            for record in posters[seen_posters:]:
                console.say(f"# Plex item {record.path.split('/')[3]} written: new poster")
            seen_edits, seen_posters = len(edits), len(posters)

    thread = threading.Thread(target=run, name="plex-watcher", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="plexsync-playground-")) / "data").resolve()
    extras = tuple(name.strip() for name in args.extras.split(",") if name.strip())
    unknown = sorted(set(extras) - set(EXTRAS))
    if unknown:
        _parser().error(f"unknown --extras {', '.join(unknown)} (known: {', '.join(EXTRAS)})")
    library = generate_library(args.scenes, seed=args.seed, setup=args.setup, extras=extras)
    stash = StashEmulator(api_key=secrets.token_hex(16), port=args.stash_port, windows=library.stash_windows)
    plex = PlexEmulator(
        token=secrets.token_urlsafe(15),
        port=args.plex_port,
        scan_delay=args.scan_delay,
        frozen_section_stamps=args.frozen_section_stamps,
    )
    library.seed(stash, plex)
    console = Console()
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    host: PluginHost | None = None
    stash_dir: Path | None = None
    try:
        stash.start()
        plex.start()
        worker_env = {
            env_name("stash_url"): stash.url,
            env_name("stash_api_key"): stash.api_key or "",
            env_name("data_dir"): str(data_dir),
        }
        # Variables Stash's own environment passes to the hook (e.g. the Redis URL) reach it here
        # too: the worker must use the same ones.
        for setting in BOOTSTRAP_SETTINGS:
            name = env_name(setting.key)
            if setting.read_by != "worker" and name not in worker_env and os.environ.get(name):
                worker_env[name] = os.environ[name]
        if not args.no_plugin:
            data_dir.mkdir(parents=True, exist_ok=True)
            stash_dir = Path(tempfile.mkdtemp(prefix="stash-config-"))  # the plugins' working directory
            # Worker mode external: the walkthrough starts its worker with the printed variables,
            # which a worker the plugin started from this process's environment would not have.
            hook_env = {env_name("data_dir"): str(data_dir), env_name("worker_mode"): "external"}
            host = PluginHost(REPO, stash, env=hook_env, stash_dir=stash_dir)
            host.attach()
            report_hooks(stash, host, console)
        watch_plex(plex, console, stop)
        unscanned = sum(not scene.scanned for scene in library.scenes)
        plugin = (
            f'Stash runs the plugin "{host.manifest.name}" ({REPO}) on every scene edit.'
            if host
            else "Stash runs no plugin (--no-plugin)."
        )
        lines = [
            f"# Stash emulator {stash.graphql_url}, Plex emulator {plex.url}.",
            f"# {len(library.scenes)} scenes (seed {args.seed}), {len(plex.library.items)} Plex items, "
            f"{unscanned} scenes Plex has no item for. {plugin}",
            "# The worker's environment (how to reach Stash, where the hook queues):",
            *export_lines(worker_env),
            "# Plugin page settings; the environment wins over the plugin page, where they can be",
            "# stored instead: python -m emulators.plugin_settings plex_url=... plex_token=... path_map=...",
            *export_lines(
                {
                    env_name("plex_url"): plex.url,
                    env_name("plex_token"): plex.token,
                    env_name("path_map"): library.path_map,
                }
            ),
            "# Scenes to try (python -m emulators.edit SCENE_ID --title ...):",
            *(example_line(scene) for scene in example_scenes(library)),
            *(
                f"# scene {scene.stash_id} has no Plex item yet (Plex has not scanned its file): "
                "its sync asks Plex to scan the folder"
                for scene in [s for s in library.scenes if "unscanned" in s.traits and s.stash_id][:1]
            ),
            f"# Ctrl-C stops both servers; {data_dir} is kept.",
        ]
        console.say(*lines)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.say("# stopped")
    finally:
        stop.set()
        stash.on_mutation = None
        stash.stop()
        plex.stop()
        if stash_dir is not None:
            shutil.rmtree(stash_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
