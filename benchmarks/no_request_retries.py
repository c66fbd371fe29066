"""The worker with request-level retries switched off: the baseline of
benchmarks/faults.py, nothing else. ``huey_consumer benchmarks.no_request_retries.huey``
runs the same tasks as ``huey_config.huey`` with every request sent once, as
before :mod:`plexsync.retrying` existed."""

import requests

from plexsync import retrying

retrying.RetryingSession.send = requests.Session.send  # type: ignore[method-assign]

from huey_config import huey  # noqa: E402

__all__ = ["huey"]
