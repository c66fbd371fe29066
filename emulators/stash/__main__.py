"""Run an emulated Stash in the foreground.

    python -m emulators.stash --port 9999 [--api-key KEY] [--scenes N] [--external-host URL]

Without --scenes it serves a small sample library (scenes with a studio that
has a parent, performers, tags and a group); with --scenes N it serves N
generated scenes instead. Point stashapi (or a browser, for images) at the
printed URL. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse

from .sample import seed_generated, seed_sample
from .server import StashEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.stash",
        description="Serve an emulated Stash GraphQL API on 127.0.0.1 until interrupted.",
    )
    parser.add_argument("--port", type=int, default=9999, help="port to listen on (0: any free port; default 9999)")
    parser.add_argument(
        "--api-key", default=None, help="require this API key (ApiKey header) or a session cookie on every request"
    )
    parser.add_argument(
        "--scenes", type=int, default=None, metavar="N", help="serve N generated scenes instead of the sample library"
    )
    parser.add_argument(
        "--external-host",
        default=None,
        metavar="URL",
        help="Stash's external_host setting: image URLs are built on it (e.g. https://stash.example.com)",
    )
    args = parser.parse_args(argv)

    stash = StashEmulator(api_key=args.api_key, port=args.port)
    stash.external_host = args.external_host
    if args.scenes is None:
        seed_sample(stash)
    else:
        seed_generated(stash, args.scenes)
    stash.start()
    print(f"Stash emulator with {len(stash.library.scenes)} scenes at {stash.graphql_url}", flush=True)
    stash.serve_forever()


if __name__ == "__main__":
    main()
