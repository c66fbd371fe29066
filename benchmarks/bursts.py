"""Bursts: hook events -> syncs per scene, with coalescing and without, in one run.

    .venv/bin/python benchmarks/bursts.py [--scenes 2000] [--baseline-scenes 400] [--edits 5] [--producers 4]
                                          [--orders rounds,clustered]

Every scene is edited ``--edits`` times by ``--producers`` processes side by
side, each owning a share of the scenes, in one of two orders:

* ``clustered``: a scene's edits back to back, then the next scene (Identify
  or a scrape saving several fields of one scene in a row);
* ``rounds``: one edit of every scene, then the next round (bulk edits run one
  after another over the same scenes).

An event is a real edit in the Stash emulator (GraphQL ``sceneUpdate`` of the
title) followed by the plugin's hook entry point (``plexsync.plugin.protocol.main``
with the Scene.Update.Post hook context, in the producer's process: the hook
code without the interpreter start, so that 10,000 events take seconds, not
the half hour 10,000 hook processes would). A worker started with the
default command syncs while the burst goes on.

Syncs are counted as the sync jobs the worker ran per scene (its log's
``scene N synced`` lines); the Plex edit requests per item are shown too, and
are fewer where a later job found its item already up to date (idempotence:
a job that reads the same edit as the one before writes nothing). The
newest edit must win: at the end every item's title must be its scene's last edit.

Without coalescing, the producers' queue stores every event as its own job
(huey's plain insert: the behaviour before coalescing), so every event is a
sync whatever the order; it runs on ``--baseline-scenes`` (the size of the
issue's own baseline) to keep the run within minutes. Bounded: each phase
waits at most ``--timeout`` seconds for the queue to drain.

Coalescing (plexsync/queue/storage.py) merges what *waits*: a new job
settles for a second before a worker takes it, and edits of a scene that
arrive while its job waits are that job. A scene synced in the last 5 minutes
(or syncing) that is edited again is *held* while the queue is busy, so the
edits of the rest of the burst become one sync after it: at most 2 syncs per
scene in either order, the last one reading the last edit. Defaults: 10,000
events over 2,000 scenes (issue #9's target).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from collections import Counter

from _harness import REPO, STASH_API_KEY, Rig, machine, queued, table, wait_for

#: A sync job's outcome line in the worker's log (plexsync.sync.worker).
SYNCED = re.compile(r"scene (\d+) (?:not )?synced")

PRODUCER = """
import io, json, sys, urllib.request
sys.path.insert(0, {repo!r})
from plexsync.plugin.protocol import main
from plexsync.queue import producer
if not {coalesce!r}:
    producer.storage().key_of = None  # every event its own job, as before coalescing
scenes, rounds, graphql, phase = {scenes!r}, {rounds!r}, {graphql!r}, {phase!r}
if {clustered!r}:
    events = [(index, scene_id, n) for index, scene_id in scenes for n in range(rounds)]
else:
    events = [(index, scene_id, n) for n in range(rounds) for index, scene_id in scenes]
mutation = "mutation($input: SceneUpdateInput!) {{ sceneUpdate(input: $input) {{ id }} }}"
headers = {{"Content-Type": "application/json", "ApiKey": {key!r}}}
for index, scene_id, n in events:
    edit = {{"id": scene_id, "title": f"{{phase}} {{index}} e{{n}}"}}
    body = json.dumps({{"query": mutation, "variables": {{"input": edit}}}}).encode()
    urllib.request.urlopen(urllib.request.Request(graphql, body, headers), timeout=60).read()
    hook = {{"id": int(scene_id), "type": "Scene.Update.Post", "input": edit, "inputFields": ["id", "title"]}}
    event = {{"args": {{"hookContext": hook}}}}  # as Stash fires it for an edit (a scan's has input null)
    out = io.StringIO()
    main(io.StringIO(json.dumps(event)), out)
    if "output" not in json.loads(out.getvalue()):
        raise SystemExit(out.getvalue())
"""


def burst(rig: Rig, name: str, clustered: bool, coalesce: bool, edits: int, producers: int, timeout: float) -> dict:
    import subprocess
    import sys

    data_dir = rig.tmp / "".join(c if c.isalnum() else "-" for c in name)
    rig.reset_plex_log()
    worker = rig.start_worker(data_dir)
    env = rig.env(data_dir)
    shares = [[(i, sid) for i, (sid, _) in enumerate(rig.items) if i % producers == p] for p in range(producers)]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                PRODUCER.format(
                    repo=str(REPO),
                    coalesce=coalesce,
                    clustered=clustered,
                    phase=data_dir.name,
                    scenes=share,
                    rounds=edits,
                    graphql=rig.stash.graphql_url,
                    key=STASH_API_KEY,
                ),
            ],
            env=env,
            cwd=REPO,
        )
        for share in shares
    ]
    for process in processes:
        if process.wait(timeout=timeout) != 0:
            raise RuntimeError(f"a producer failed ({name})")
    burst_seconds = time.monotonic() - started
    drained = wait_for(lambda: queued(data_dir) == 0, timeout, "queue drained")
    total = time.monotonic() - started
    worker.stop()
    last = edits - 1
    newest = rig.titles_are(lambda i: f"{data_dir.name} {i} e{last}")
    per_scene = Counter(SYNCED.findall(worker.log_path.read_text(errors="replace")))
    syncs = [per_scene[str(scene_id)] for scene_id, _ in rig.items]
    plex_edits = rig.edits_per_item()
    return {
        "name": name,
        "scenes": len(rig.items),
        "events": len(rig.items) * edits,
        "burst_s": burst_seconds,
        "drained": drained is not None,
        "total_s": total,
        "syncs": sum(syncs),
        "edits": sum(plex_edits[rk] for _, rk in rig.items),
        "max": max(syncs),
        "mean": sum(syncs) / len(syncs),
        "spread": dict(sorted(Counter(syncs).items())),
        "newest": newest,
        "left": queued(data_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=2000)
    parser.add_argument(
        "--baseline-scenes", type=int, default=400, help="scenes of the run without coalescing (0: none)"
    )
    parser.add_argument("--edits", type=int, default=5, help="edits (hook events) per scene (default 5)")
    parser.add_argument("--producers", type=int, default=4, help="processes firing events side by side")
    parser.add_argument("--timeout", type=float, default=600, help="longest wait per phase, seconds")
    parser.add_argument(
        "--orders",
        default="rounds,clustered",
        help="orders to run with coalescing, comma-separated, in this order (default rounds,clustered)",
    )
    args = parser.parse_args()
    orders = [order.strip() for order in args.orders.split(",") if order.strip()]
    if not set(orders) <= {"rounds", "clustered"}:
        parser.error("--orders takes rounds and/or clustered")
    results = []
    coalesced = tuple((f"{order}, coalescing", order == "clustered", True) for order in orders)
    baseline = (("rounds, without coalescing", False, False),) if args.baseline_scenes else ()
    for scenes, phases in ((args.scenes, coalesced), (args.baseline_scenes, baseline)):
        if not phases:
            continue
        rig = Rig(scenes)
        try:
            for name, clustered, coalesce in phases:
                results.append(burst(rig, name, clustered, coalesce, args.edits, args.producers, args.timeout))
        finally:
            rig.close()
            shutil.rmtree(rig.tmp, ignore_errors=True)
    print(f"bursts: {args.edits} edits per scene, {args.producers} producers; {machine()}")
    rows: list[list[object]] = [
        [
            "order, queue",
            "scenes",
            "events",
            "burst s",
            "drained s",
            "syncs",
            "Plex edits",
            "syncs/scene max",
            "mean",
            "newest edit won",
            "spread",
        ]
    ]
    for r in results:
        rows.append(
            [
                r["name"],
                r["scenes"],
                r["events"],
                f"{r['burst_s']:.1f}",
                f"{r['total_s']:.1f}" if r["drained"] else f">{r['total_s']:.0f} ({r['left']} left)",
                r["syncs"],
                r["edits"],
                r["max"],
                f"{r['mean']:.2f}",
                f"{r['newest']}/{r['scenes']}",
                json.dumps(r["spread"]),
            ]
        )
    print(table(rows))
    print("target: at most 2 syncs per scene, and the newest edit always wins")


if __name__ == "__main__":
    main()
