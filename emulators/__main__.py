"""Run the Stash and Plex emulators together, seeded with one generated library.

    python -m emulators [--scenes N] [--seed S] [--stash-port P] [--plex-port P]

Both servers hold the same library (see :mod:`emulators.library`): Stash
knows the files under /data/stash, Plex under /media/plex. The printed
``KEY=value`` lines are what to give PlexSync (or a shell: they are valid
assignments): the two URLs, Stash's API key, Plex's token and the
PLEXSYNC_PATH_MAP that turns one path into the other. Ctrl-C (or SIGTERM)
stops both.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import time
from types import FrameType

from .library import MAX_SCENES, MIN_SCENES, generate_library
from .plex import PlexEmulator
from .stash import StashEmulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators",
        description=(
            "Serve an emulated Stash and an emulated Plex Media Server on 127.0.0.1, both seeded with the "
            "same generated library (multi-part items, NFC/NFD names, unscanned files, a show section, a "
            "file in two sections...), until interrupted. Prints the URLs, Stash's API key, Plex's token "
            "and the PLEXSYNC_PATH_MAP to configure."
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
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    library = generate_library(args.scenes, seed=args.seed)
    stash = StashEmulator(api_key=secrets.token_hex(16), port=args.stash_port)
    plex = PlexEmulator(token=secrets.token_urlsafe(15), port=args.plex_port)
    library.seed(stash, plex)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stash.start()
        plex.start()
        unscanned = sum(not scene.scanned for scene in library.scenes)
        print(
            f"# {len(library.scenes)} scenes (seed {args.seed}), {len(plex.library.items)} Plex items, "
            f"{unscanned} scenes Plex has no item for. Ctrl-C stops both servers.",
            f"STASH_URL={stash.url}",
            f"STASH_GRAPHQL_URL={stash.graphql_url}",
            f"STASH_API_KEY={stash.api_key}",
            f"PLEX_URL={plex.url}",
            f"PLEX_TOKEN={plex.token}",
            f"PLEXSYNC_PATH_MAP={library.path_map}",
            sep="\n",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("# stopped", flush=True)
    finally:
        stash.stop()
        plex.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
