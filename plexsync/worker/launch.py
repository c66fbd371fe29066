"""The process a hook or task starts as the worker: presence lock first, then huey's consumer.

``python -m plexsync.worker.launch huey_config.huey [consumer options]``,
started by :func:`plexsync.worker.autostart.spawn`, which holds the start
lock until this process says "ready" on its stdout. So the first thing here
is what that wait is for: read Stash's API key from stdin (the starting hook
wrote it and closed the pipe: :mod:`plexsync.worker.credential`), take this
consumer's presence lock, say "ready", point stdout at the log (stderr, which
the hook opened on ``worker.log``) and stdin at nothing; only then load huey
and the plugin (about a second), in this same process, where the consumer's
presence adopts the lock (:class:`plexsync.worker.presence.ConsumerPresence`).
"""

from __future__ import annotations

import contextlib
import os
import sys


def main(argv: list[str]) -> int:
    from plexsync import hookenv
    from plexsync.worker import autostart, credential, presence

    credential.receive(sys.stdin.buffer)
    lock = presence.PresenceLock(hookenv.data_dir())
    if not lock.take():
        print("could not take the worker's presence lock in", lock.path, file=sys.stderr, flush=True)
        return 1
    presence.taken_at_launch = lock
    with contextlib.suppress(OSError):  # the hook gave up waiting (a very slow start) and went: run all the same
        os.write(1, autostart.READY + b"\n")
    os.dup2(2, 1)  # from now on, print() goes to worker.log like the logging does
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)

    from huey.bin.huey_consumer import consumer_main

    sys.argv = ["huey_consumer", *argv]
    consumer_main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
