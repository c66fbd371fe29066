"""The two configuration tables of docs/settings.md, rendered from :mod:`plexsync.config`.

The tables sit in docs/settings.md between marker comments
(``<!-- settings-table:sync -->`` ... ``<!-- /settings-table:sync -->``, the
same for ``bootstrap``) and are never edited by hand: a test compares them with
what this module renders, so a setting added, renamed or re-described in
config.py fails the tests until the page is regenerated::

    python -m plexsync.tools.settings_table            # print both tables
    python -m plexsync.tools.settings_table --write    # rewrite them in docs/settings.md
    python -m plexsync.tools.settings_table --check    # exit 1 if docs/settings.md is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from plexsync.config import BOOTSTRAP_SETTINGS, PLUGIN_DIR, SYNC_SETTINGS, env_name

PAGE = PLUGIN_DIR / "docs" / "settings.md"
TABLES = ("sync", "bootstrap")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rows(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


#: How Stash's plugin page shows each setting type.
_KINDS = {"STRING": "text", "NUMBER": "number", "BOOLEAN": "on/off"}


def _sync_default(default: str | None) -> str:
    if default is None:
        return "(required)"
    return f"`{default}`" if default else "empty"


def sync_table() -> str:
    """The settings on Stash's plugin page (each also an environment variable)."""
    return _rows(
        ("setting (Stash page)", "environment", "type", "default", "meaning"),
        (
            (s.display_name, f"`{env_name(s.key)}`", _KINDS[s.stash_type], _sync_default(s.default), s.description)
            for s in SYNC_SETTINGS
        ),
    )


def bootstrap_table() -> str:
    """The environment-only variables."""
    return _rows(
        ("environment", "default", "set for", "meaning"),
        ((f"`{env_name(b.key)}`", b.default, b.read_by, b.description) for b in BOOTSTRAP_SETTINGS),
    )


def render(name: str) -> str:
    return {"sync": sync_table, "bootstrap": bootstrap_table}[name]()


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- settings-table:{name} -->\n)(.*?)(<!-- /settings-table:{name} -->)", re.DOTALL)


def current(text: str, name: str) -> str | None:
    """The table between ``name``'s markers in ``text`` (None without markers)."""
    match = _block(name).search(text)
    return None if match is None else match.group(2).rstrip("\n")


def updated(text: str) -> str:
    """``text`` with every marked table replaced by its rendering."""
    for name in TABLES:
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(f"page has no <!-- settings-table:{name} --> ... <!-- /settings-table:{name} --> block")
        text = pattern.sub(lambda m, name=name: m.group(1) + render(name) + "\n" + m.group(3), text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m plexsync.tools.settings_table",
        description="Render docs/settings.md's configuration tables from plexsync/config.py.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the tables in the page")
    action.add_argument("--check", action="store_true", help="exit 1 when the page's tables are out of date")
    parser.add_argument("--page", type=Path, default=PAGE, help=f"the file to check or write (default {PAGE})")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(sync_table(), bootstrap_table(), sep="\n\n")
        return 0
    try:
        text = args.page.read_text(encoding="utf-8")
        fresh = updated(text)
    except (OSError, ValueError) as exc:
        print(f"settings_table: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if fresh != text:
            print(f"{args.page}: configuration tables are out of date; run {parser.prog} --write", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.page.write_text(fresh, encoding="utf-8")
        print(f"{args.page}: configuration tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
