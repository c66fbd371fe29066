"""Watch or rate a Plex item the way a Plex client reports it, for trying the copy into Stash.

    python -m emulators.play RATING_KEY (--watched | --stop-at SECONDS | --mark | --rate 0-10)

``--watched`` and ``--stop-at`` send a player's ``POST /:/timeline`` with
``state=stopped`` (at the item's end: a view in the watch history; earlier: a
resume point); ``--mark`` sends ``PUT /:/scrobble`` (Mark as played, plexapi's
``markPlayed()``: no history entry since PMS 1.40); ``--rate`` sends ``PUT /:/rate``,
as plexapi's ``rate()`` does.
It reaches Plex at ``$PLEXSYNC_PLEX_URL`` with ``$PLEXSYNC_PLEX_TOKEN`` (the
variables ``python -m emulators`` prints), or ``--plex-url``/``--token``.
"""

from __future__ import annotations

import argparse
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import requests

IDENTIFIER = "com.plexapp.plugins.library"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.play", description="Play, stop or rate a Plex item as a Plex client would."
    )
    parser.add_argument("rating_key", metavar="RATING_KEY", help="the Plex item (its ratingKey)")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--watched", action="store_true", help="watched to the end: one view in the history")
    action.add_argument("--stop-at", type=float, metavar="SECONDS", help="playback stopped this far in")
    action.add_argument("--mark", action="store_true", help="Mark as played (a show or season: every episode)")
    action.add_argument("--rate", type=float, metavar="0-10", help="the account's star rating (2 per star)")
    parser.add_argument("--plex-url", default=os.environ.get("PLEXSYNC_PLEX_URL") or "http://127.0.0.1:32400")
    parser.add_argument("--token", default=os.environ.get("PLEXSYNC_PLEX_TOKEN"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url, headers = args.plex_url.rstrip("/"), {"X-Plex-Token": args.token or ""}
    try:
        if args.rate is not None:
            params = {"key": args.rating_key, "identifier": IDENTIFIER, "rating": args.rate}
            answer = requests.put(f"{url}/:/rate", params=params, headers=headers, timeout=30)
            done = f"rated {args.rate:g}"
        elif args.mark:
            params = {"key": args.rating_key, "identifier": IDENTIFIER}
            answer = requests.put(f"{url}/:/scrobble", params=params, headers=headers, timeout=30)
            done = "marked as played"
        else:
            item = requests.get(f"{url}/library/metadata/{args.rating_key}", headers=headers, timeout=30)
            if item.status_code != 200:
                print(f"emulators.play: Plex answered {item.status_code} for item {args.rating_key}", file=sys.stderr)
                return 1
            video = ET.fromstring(item.content).find("Video")
            duration = int((video.get("duration") if video is not None else None) or 0)
            at = duration if args.watched else int(args.stop_at * 1000)
            params = {"ratingKey": args.rating_key, "state": "stopped", "time": at, "duration": duration}
            answer = requests.post(f"{url}/:/timeline", params=params, headers=headers, timeout=30)
            done = "watched to the end" if args.watched else f"stopped at {args.stop_at:g} s"
    except requests.RequestException as exc:
        print(f"emulators.play: cannot reach Plex at {url} ({type(exc).__name__})", file=sys.stderr)
        return 1
    if answer.status_code != 200:
        print(f"emulators.play: Plex answered {answer.status_code}", file=sys.stderr)
        return 1
    print(f"Plex item {args.rating_key} {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
