"""Run the Plex emulator in the foreground: ``python -m emulators.plex --help``."""

from __future__ import annotations

import argparse

from .sample import seed_generated, seed_sample
from .server import PlexEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.plex",
        description=(
            "Serve an emulated Plex Media Server on 127.0.0.1 until interrupted. "
            "It holds a sample library: a 'Movies' section (a two-part movie, one more movie, "
            "one file left for a scan to find) and a 'TV Shows' section with two episodes."
        ),
    )
    parser.add_argument("--port", type=int, default=32400, help="port to listen on (0: any free port)")
    parser.add_argument("--token", required=True, help="the X-Plex-Token clients must send")
    parser.add_argument(
        "--movies",
        type=int,
        metavar="N",
        help="replace the sample movies with N generated ones (for paging and load checks)",
    )
    args = parser.parse_args(argv)
    plex = PlexEmulator(token=args.token, port=args.port)
    if args.movies is None:
        seed_sample(plex)
    else:
        seed_generated(plex, args.movies)
    plex.start()
    print(plex.url, flush=True)
    plex.serve_forever()


if __name__ == "__main__":
    main()
