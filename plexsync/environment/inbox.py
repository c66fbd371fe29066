"""Edits made while the packages are being set up: kept in files, queued once the queue can be loaded.

A hook that fires before the set-up is done cannot queue its job (the queue
is huey's, a package being installed), and Stash will not fire it again. So
it writes its hook context, with the standard library only, as one file in
``<data dir>/inbox/`` (written under a temporary name, then renamed: a file
there is always whole), and the first process that can load the queue takes
the inbox over: each file becomes the job its hook would have queued
(:func:`plexsync.hooks.handle`, the same code), and is removed after. A
crash in between queues a job twice at worst, which the queue coalesces.

Files rather than a table: a writer and the take-over never share one, so
no edit can land in something already read. The folder is removed when
empty, so a ready plugin's hook checks for left-overs with one ``stat``.
"""

from __future__ import annotations

import json
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

INBOX = "inbox"


def inbox_dir(data_dir: str) -> str:
    return os.path.join(data_dir, INBOX)


def record(data_dir: str, hook_context: object) -> str:
    """Keep one hook's context; the file's path."""
    folder = inbox_dir(data_dir)
    name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}.json"
    body = json.dumps({"hookContext": hook_context, "recorded_at": time.time()})
    for _ in range(10):
        temporary = os.path.join(folder, f".{name}.tmp")
        try:
            # makedirs raises FileExistsError when another hook made the folder and a take-over removed it
            # between its mkdir and its isdir check: the same race as below, tried again the same way
            os.makedirs(folder, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as out:
                out.write(body)
            os.replace(temporary, os.path.join(folder, name))
            return os.path.join(folder, name)
        except (FileNotFoundError, FileExistsError):  # a take-over removed the empty folder just now
            continue
    raise OSError(f"cannot write into {folder}")


def pending(data_dir: str) -> bool:
    return os.path.isdir(inbox_dir(data_dir))


def take_over(data_dir: str, handle: Callable[[object], object]) -> int:
    """Hand every kept hook context to ``handle`` (which queues it), oldest first; how many were."""
    folder = inbox_dir(data_dir)
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(".json") and not name.startswith("."))
    except FileNotFoundError:
        return 0
    import contextlib

    taken = 0
    for name in names:
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as kept:
                context = json.load(kept).get("hookContext")
        except FileNotFoundError:  # another process took it over
            continue
        except (OSError, ValueError, AttributeError):
            context = None  # unreadable: nothing can be queued from it
        if context is not None:
            handle(context)
            taken += 1
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    with contextlib.suppress(OSError):  # not empty: a hook is writing; the next take-over gets it
        os.rmdir(folder)
    return taken


def take_over_into_queue(data_dir: str) -> int:
    """:func:`take_over` with the hooks' own queueing (the packages must be on the path)."""
    import contextlib

    from plexsync import hooks

    def queue(context: object) -> None:
        with contextlib.suppress(hooks.HookInputError):  # checked when kept; one no hook would queue is dropped
            hooks.handle(context)

    return take_over(data_dir, queue)
