"""Edit a scene in Stash the way Stash's UI saves one: a ``sceneUpdate`` mutation.

    python -m emulators.edit SCENE_ID [--title T] [--details D] [--date YYYY-MM-DD]
                             [--code C] [--rating 0-100] [--organized | --not-organized]

It reaches Stash at ``$PLEXSYNC_STASH_URL`` with ``$PLEXSYNC_STASH_API_KEY``
(the variables ``python -m emulators`` prints), or ``--stash-url``/``--api-key``.
Stash answers once the edit's post-hooks have run, so when this returns the
PlexSync hook has queued its sync (the emulators' window shows its outcome).
Works against a real Stash too: the mutation is Stash's own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import requests

SCENE_UPDATE = (
    "mutation Edit($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id title details date code rating100 } }"
)


class StashUnreachable(Exception):
    """Stash could not be asked, or refused; the message says what to check."""


class StashClient:
    """A GraphQL request to Stash with an API key, failing with a one-line reason."""

    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key or None

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--stash-url",
            default=os.environ.get("PLEXSYNC_STASH_URL") or "http://localhost:9999",
            help="Stash's address (default: $PLEXSYNC_STASH_URL, else http://localhost:9999)",
        )
        parser.add_argument(
            "--api-key",
            default=os.environ.get("PLEXSYNC_STASH_API_KEY"),
            help="Stash's API key (default: $PLEXSYNC_STASH_API_KEY)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StashClient:
        return cls(args.stash_url, args.api_key)

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"ApiKey": self.api_key} if self.api_key else {}
        endpoint = f"{self.url}/graphql"
        try:
            response = requests.post(
                endpoint, json={"query": query, "variables": variables}, headers=headers, timeout=120
            )
        except requests.RequestException as exc:
            raise StashUnreachable(
                f"cannot reach Stash at {endpoint} ({type(exc).__name__}): is `python -m emulators` running?"
            ) from None
        if response.status_code == 401:
            given = "was refused" if self.api_key else "is missing"
            raise StashUnreachable(f"Stash at {endpoint} answered 401: the API key (PLEXSYNC_STASH_API_KEY) {given}")
        try:
            body = response.json()
        except ValueError:
            raise StashUnreachable(f"Stash at {endpoint} answered {response.status_code} without JSON") from None
        if body.get("errors"):
            raise StashUnreachable(f"Stash refused it: {'; '.join(e.get('message', '?') for e in body['errors'])}")
        if response.status_code != 200 or not isinstance(body.get("data"), dict):
            raise StashUnreachable(f"Stash at {endpoint} answered {response.status_code}")
        return body["data"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.edit",
        description="Save a scene's fields in Stash with a sceneUpdate mutation, as Stash's UI does.",
    )
    parser.add_argument("scene_id", metavar="SCENE_ID", help="the Stash scene to edit")
    parser.add_argument("--title")
    parser.add_argument("--details")
    parser.add_argument("--date", help="YYYY-MM-DD")
    parser.add_argument("--code", help="the studio's code of the scene")
    parser.add_argument("--rating", type=int, metavar="0-100", help="rating100")
    organized = parser.add_mutually_exclusive_group()
    organized.add_argument("--organized", dest="organized", action="store_true", default=None)
    organized.add_argument("--not-organized", dest="organized", action="store_false")
    StashClient.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    fields = {
        "title": args.title,
        "details": args.details,
        "date": args.date,
        "code": args.code,
        "rating100": args.rating,
        "organized": args.organized,
    }
    given = {name: value for name, value in fields.items() if value is not None}
    if not given:
        parser.error("nothing to change: give --title, --details, --date, --code, --rating or --organized")
    try:
        data = StashClient.from_args(args).graphql(SCENE_UPDATE, {"input": {"id": args.scene_id, **given}})
    except StashUnreachable as exc:
        print(f"emulators.edit: {exc}", file=sys.stderr)
        return 1
    scene = data.get("sceneUpdate")
    if scene is None:
        print(f"emulators.edit: Stash has no scene {args.scene_id}", file=sys.stderr)
        return 1
    saved = ", ".join(f"{name} {json.dumps(scene.get(name), ensure_ascii=False)}" for name in given if name in scene)
    print(f"scene {scene['id']} saved in Stash ({saved or ', '.join(given)}); its hooks have run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
