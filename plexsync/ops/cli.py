"""``python -m plexsync``: the command line for what a user does by hand."""

from __future__ import annotations

import json
import time

import click

from plexsync import dlq
from plexsync.queue.instance import bootstrap
from plexsync.state import db


@click.group()
def main() -> None:
    """PlexSync: Stash scene metadata pushed into Plex."""
    db.open_state(bootstrap)


@main.group("dlq")
def dlq_group() -> None:
    """Dead letters: syncs that failed for good."""


@dlq_group.command("list")
def dlq_list() -> None:
    """List dead letters, newest failure first."""
    letters = dlq.all_letters()
    if not letters:
        click.echo("no dead letters")
    for letter in letters:
        click.echo(dlq.describe(letter))


@dlq_group.command("show")
@click.argument("letter_id", type=int)
def dlq_show(letter_id: int) -> None:
    """Everything recorded about one dead letter."""
    letter = dlq.get(letter_id)
    if letter is None:
        raise click.ClickException(f"no dead letter #{letter_id}")
    fmt = "%Y-%m-%d %H:%M:%S"
    rows = {
        "id": letter.id,
        "task": letter.task_name,
        "args": json.loads(letter.args),
        "scene": letter.scene_id,
        "error": letter.error_class,
        "message": letter.message,
        "attempts": letter.attempts,
        "times dead-lettered": letter.failures,
        "first failure": time.strftime(fmt, time.localtime(letter.first_failed_at)),
        "last failure": time.strftime(fmt, time.localtime(letter.last_failed_at)),
    }
    for key, value in rows.items():
        click.echo(f"{key:>20}: {value}")


@dlq_group.command("retry")
@click.argument("letter_ids", type=int, nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
def dlq_retry(letter_ids: tuple[int, ...], retry_all: bool) -> None:
    """Queue dead letters again; each row goes once its retry succeeds."""
    if retry_all == bool(letter_ids):
        raise click.UsageError("give dead-letter ids, or --all")
    letters = dlq.all_letters() if retry_all else [dlq.get(i) for i in letter_ids]
    missing = [i for i, letter in zip(letter_ids, letters, strict=False) if letter is None]
    if missing:
        raise click.ClickException(f"no dead letter {', '.join(f'#{i}' for i in missing)}")
    outcome = dlq.retry(letter for letter in letters if letter is not None)
    click.echo(f"re-queued {len(outcome.queued)} dead letter(s)")
    if outcome.unknown:
        click.echo(f"not retried (unknown task): {', '.join(f'#{i}' for i in outcome.unknown)}")


@dlq_group.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Only remove dead letters whose last failure is older than this many days.",
)
def dlq_purge(days: float) -> None:
    """Remove dead letters."""
    click.echo(f"removed {dlq.purge(days)} dead letter(s)")


@main.command("match-report")
def match_report() -> None:
    """How every Stash scene matches its Plex item, with path rules that would fix the misses."""
    from plexsync.config import ConfigError
    from plexsync.errors import SyncError
    from plexsync.ops import match_report as report

    try:
        click.echo(report.run())
    except (SyncError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
