"""Run the plex.tv emulator in the foreground: ``python -m emulators.plextv --help``."""

from __future__ import annotations

import argparse
import shlex
import sys
from xml.etree import ElementTree

import requests

from .model import Connection
from .server import PlexTvEmulator


def _machine_identifier(url: str) -> str:
    """What the server at ``url`` calls itself (``/identity`` needs no token)."""
    answer = requests.get(f"{url.rstrip('/')}/identity", timeout=10)
    answer.raise_for_status()
    return ElementTree.fromstring(answer.content).attrib["machineIdentifier"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.plextv",
        description=(
            "Serve an emulated plex.tv on 127.0.0.1 until interrupted: sign-in codes, one account, and the "
            "account's Plex servers. Point PlexSync at it with PLEXSYNC_PLEX_TV_URL."
        ),
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a Plex server of the account, reached at URL (a running Plex emulator); repeat for several",
    )
    parser.add_argument("--server-token", required=True, help="the X-Plex-Token the servers accept")
    args = parser.parse_args(argv)
    plextv = PlexTvEmulator(port=args.port)
    for spec in args.server:
        name, sep, url = spec.partition("=")
        if not sep:
            parser.error(f"--server {spec!r} is not NAME=URL")
        try:
            machine = _machine_identifier(url)
        except (requests.RequestException, KeyError, ElementTree.ParseError) as exc:
            print(f"emulators.plextv: {url} does not answer as a Plex server ({exc})", file=sys.stderr)
            return 1
        plextv.add_server(name, machine, args.server_token, [Connection(url.rstrip("/"), local=True)])
    plextv.start()
    link = (
        f"curl -X PUT {plextv.url}/api/v2/pins/link -H 'X-Plex-Client-Identifier: a-browser' "
        f"-H {shlex.quote('X-Plex-Token: ' + plextv.account_token)} -d code=ABCD"
    )
    print(f"export PLEXSYNC_PLEX_TV_URL={plextv.url}", f"# enter a code as plex.tv/link does: {link}", sep="\n")
    sys.stdout.flush()
    plextv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
