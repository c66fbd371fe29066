"""Faults: time to sync 200 scenes while 30% of Plex requests fail, with
request-level retries and without, in one run.

    .venv/bin/python benchmarks/faults.py [--scenes 200] [--fail 0.30] [--timeout 240]

Plex answers 500, 503, drops the connection or sends a garbage body, each for
a quarter of the failing share of all requests (emulators/http.py fault
injection, seeded at random). A worker started with the default command and
the default retry settings (8 retries, first after 15 s, doubling) syncs every
scene from a "sync all". Reported: seconds until every Plex item holds its
scene's title, dead letters, and the Plex requests sent and failed.

Without request retries (benchmarks/no_request_retries.py) every failed
request costs its job a retry 15 s, 30 s, 60 s... later; that phase is cut
off at ``--timeout`` seconds and reports how many scenes were still waiting.
"""

from __future__ import annotations

import argparse
import shutil
import time

from _harness import Rig, dead_letters, machine, queued, run_python, table, wait_for

FAULTS = ({"status": 500}, {"status": 503}, {"drop": True}, {"garbage": True})


def phase(rig: Rig, name: str, module: str, fail: float, timeout: float) -> dict:
    data_dir = rig.tmp / "".join(c if c.isalnum() else "-" for c in name)
    label = data_dir.name
    for i, (scene_id, _) in enumerate(rig.items):
        rig.stash.update_scene(scene_id, title=f"{label} {i}")
    rig.reset_plex_log()
    # rules are tried in turn: each takes its share of what the ones before let through
    share = 1 - (1 - fail) ** (1 / len(FAULTS))
    rules = [rig.plex.faults.add(".*", fraction=share, **fault) for fault in FAULTS]
    worker = rig.start_worker(data_dir, module=module)
    started = time.monotonic()
    run_python("from plexsync.tasks import sync_all; sync_all()", rig.env(data_dir))
    expected = lambda i: f"{label} {i}"  # noqa: E731
    took = wait_for(lambda: rig.titles_are(expected) == len(rig.items), timeout, "all synced")
    synced = rig.titles_are(expected)
    if took is not None:
        wait_for(lambda: queued(data_dir) == 0, 60, "queue drained")
    worker.stop()
    requests_sent = rig.plex.requests
    return {
        "name": name,
        "took": took,
        "synced": synced,
        "dead": dead_letters(data_dir),
        "sent": len(requests_sent),
        "failed": sum(rule.hits for rule in rules),
        "elapsed": time.monotonic() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--fail", type=float, default=0.30, help="share of Plex requests that fail (default 0.30)")
    parser.add_argument("--timeout", type=float, default=240, help="longest wait per phase, seconds (default 240)")
    args = parser.parse_args()
    rig = Rig(args.scenes)
    try:
        results = [
            phase(rig, "with request retries", "huey_config.huey", args.fail, args.timeout),
            phase(rig, "without request retries", "benchmarks.no_request_retries.huey", args.fail, args.timeout),
        ]
    finally:
        rig.close()
        shutil.rmtree(rig.tmp, ignore_errors=True)
    print(f"faults: {args.scenes} scenes, {args.fail:.0%} of Plex requests failing; {machine()}")
    rows: list[list[object]] = [["worker", "all synced after", "synced", "dead letters", "Plex requests", "failed"]]
    for r in results:
        took = f"{r['took']:.1f} s" if r["took"] is not None else f"not within {args.timeout:.0f} s"
        failed = f"{r['failed']} ({r['failed'] / max(r['sent'], 1):.0%})"
        rows.append([r["name"], took, f"{r['synced']}/{args.scenes}", r["dead"], r["sent"], failed])
    print(table(rows))
    print("target: all synced within 60 s, no dead letter")


if __name__ == "__main__":
    main()
