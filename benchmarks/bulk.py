"""Bulk sync: throughput, CPU, memory and requests per scene, against a naive tool, in one run.

    .venv/bin/python benchmarks/bulk.py [--sizes 1000,10000] [--naive-scenes 300] [--with-100k [--slice 10000]]

For each library size, against emulators seeded with that many matched
scenes (one tag and a cover each), a worker started with the default
command (``huey_consumer huey_config.huey`` + ``run.py``'s CONSUMER_OPTIONS):

* **first sync**: "Sync all" queued, timed until the queue is empty (the
  worker's index build included); scenes per second, CPU seconds per scene
  of the worker's processes, their peak memory (VmHWM, summed), and Stash
  (GraphQL, cover downloads) and Plex (edits, uploads, listings) requests
  per scene;
* **unchanged re-sync**: "Sync all" again, nothing changed in Stash: the same
  figures; every Plex write here is one the "what was last written" state
  (the metadata issue) will remove;
* for the first library, the same re-sync as **one queued job per scene**
  (how "Sync all" worked before pages; what a hook's job still costs).

The naive baseline is what a simple tool does, in the same run on a slice of
``--naive-scenes`` scenes of the first library (its rate does not depend on
the library's size, and the full library would take many minutes): per
scene one GraphQL read, a Plex detail GET by rating key (the lookup, with
the rating key given for free), plexapi's per-field convenience edits
(``editTitle``, ``editSummary``, ``editStudio``, ``editOriginallyAvailable``,
``addGenre``, ``editTags("actor")``), a cover download and ``uploadPoster``.
It runs inside this process, beside the emulators: its CPU is counted with theirs.

"emulators CPU" is this process's own CPU (both emulators run in it, on one
GIL): on a 2-core machine the emulators, not the worker, are the first limit.

``--with-100k``: also a library of 100,000 scenes (full-size index and the
worker's memory with it), of which only the first ``--slice`` scenes are
synced and timed (pages of the same run, queued directly); say so when you
quote it. Takes several minutes more.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from _harness import PLEX_TOKEN, STASH_API_KEY, Rig, machine, queued, run_python, table, wait_for

from run import CONSUMER_OPTIONS  # the harness put the repository on sys.path

POSTERS = r"^/library/metadata/\d+/posters$"
LISTING = r"^/library/sections"
EDIT = r"^/library/sections/\d+/all$"


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process of the group (and of its reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _group_pids(pgid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


def peak_rss_mb(pgid: int) -> float:
    total = 0
    for pid in _group_pids(pgid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def own_cpu() -> float:
    """CPU seconds of this process: the two emulators (and the naive tool, when it runs)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Figures:
    label: str
    scenes: int
    seconds: float
    cpu: float
    rss: float
    graphql: int
    covers: int
    edits: int
    uploads: int
    listings: int
    drained: bool = True
    emulators_cpu: float = 0.0

    def row(self, baseline: Figures | None) -> list[object]:
        rate = self.scenes / self.seconds if self.seconds else float("inf")
        ratio = ""
        if baseline is not None and baseline.seconds:
            ratio = f"{rate / (baseline.scenes / baseline.seconds):.1f}x"
        per = lambda n: f"{n / self.scenes:.3f}"  # noqa: E731
        return [
            self.label,
            self.scenes,
            f"{self.seconds:.1f}" + ("" if self.drained else " (timed out)"),
            f"{rate:.0f}",
            ratio,
            f"{1000 * self.cpu / self.scenes:.1f}" if self.cpu else "-",
            f"{1000 * self.emulators_cpu / self.scenes:.1f}",
            f"{self.rss:.0f}" if self.rss else "-",
            per(self.graphql),
            per(self.covers),
            per(self.edits),
            per(self.uploads),
            self.listings,
        ]


HEADER = [
    "run",
    "scenes",
    "seconds",
    "scenes/s",
    "vs naive",
    "CPU ms/scene",
    "emulators CPU ms/scene",
    "peak MB",
    "GraphQL/scene",
    "covers/scene",
    "edits/scene",
    "uploads/scene",
    "listings",
]


def _requests(rig: Rig) -> dict[str, int]:
    stash = rig.stash.requests
    return {
        "graphql": sum(r.path == "/graphql" for r in stash),
        "covers": sum("/screenshot" in r.path for r in stash),
        "edits": len(rig.plex.requests_matching("PUT", EDIT)),
        "uploads": len(rig.plex.requests_matching("POST", POSTERS)),
        "listings": len(rig.plex.requests_matching("GET", LISTING)),
    }


def _clear(rig: Rig) -> None:
    rig.stash.clear_requests()
    rig.plex.clear_requests()


PER_SCENE_JOBS = """
from plexsync.tasks import PRIORITY_BULK, enqueue_scene
for scene_id in {ids!r}:
    enqueue_scene(scene_id, priority=PRIORITY_BULK)
"""

QUEUE_SLICE = """
from plexsync.queue.instance import bootstrap
from plexsync.state import bulkrun, db
from plexsync.sync import bulk
from plexsync.sync.worker import context
from plexsync.tasks import PRIORITY_BULK, sync_page
db.open_state(bootstrap)
pages = [p for p in bulk.plan(context.stash()) if p.after < {limit}]
bulkrun.plan([(p.upto, p.planned) for p in pages])
for p in pages:
    sync_page(p.after, p.upto, priority=PRIORITY_BULK)
print(sum(p.planned for p in pages))
"""


def plexsync_run(
    rig: Rig, data_dir: Path, label: str, timeout: float, limit: int | None = None, per_scene: bool = False
) -> Figures:
    worker = rig.consumers[-1]
    assert worker.process is not None
    pgid = worker.process.pid
    _clear(rig)
    cpu_before, emulators_before = cpu_seconds(pgid), own_cpu()
    started = time.monotonic()
    scenes = rig.scenes
    if per_scene:  # the design before pages: one queued job per scene
        run_python(PER_SCENE_JOBS.format(ids=[scene_id for scene_id, _ in rig.items]), rig.env(data_dir))
    elif limit is None:
        run_python("from plexsync.tasks import sync_all; sync_all()", rig.env(data_dir))
    else:
        last_after = rig.items[min(limit, rig.scenes) - 1][0]
        scenes = int(run_python(QUEUE_SLICE.format(limit=int(last_after)), rig.env(data_dir)).split()[-1])
    time.sleep(0.5)  # the job settles before a worker takes it; the queue is never empty before
    drained = wait_for(lambda: queued(data_dir) == 0, timeout, "queue drained") is not None
    seconds = time.monotonic() - started
    emulators = own_cpu() - emulators_before
    counts = _requests(rig)
    cpu = cpu_seconds(pgid) - cpu_before
    return Figures(label, scenes, seconds, cpu, peak_rss_mb(pgid), drained=drained, emulators_cpu=emulators, **counts)


def naive_run(rig: Rig, scenes: int) -> Figures:
    """One thread, per scene: GraphQL read, detail GET, per-field edits, cover download, upload."""
    import tempfile

    import requests
    from plexapi.server import PlexServer

    from plexsync.stash.reader import SCENE_QUERY

    _clear(rig)
    session = requests.Session()
    session.headers["ApiKey"] = STASH_API_KEY
    server = PlexServer(rig.plex.url, PLEX_TOKEN, timeout=30)
    cover = Path(tempfile.mkdtemp(prefix="plexsync-naive-")) / "cover.jpg"
    cpu_before = own_cpu()
    started = time.monotonic()
    for scene_id, rating_key in rig.items[:scenes]:
        scene = session.post(rig.stash.graphql_url, json={"query": SCENE_QUERY, "variables": {"id": scene_id}})
        data = scene.json()["data"]["findScene"]
        item = server.fetchItem(int(rating_key))
        item.editTitle(data["title"])
        item.editSummary(data["details"] or "")
        item.editStudio((data.get("studio") or {}).get("name") or "")
        if data.get("date"):
            item.editOriginallyAvailable(data["date"])
        item.addGenre([t["name"] for t in data["tags"]])
        item.editTags("actor", [p["name"] for p in data["performers"]])
        cover.write_bytes(session.get(data["paths"]["screenshot"]).content)
        item.uploadPoster(filepath=str(cover))
    seconds = time.monotonic() - started
    shutil.rmtree(cover.parent, ignore_errors=True)
    counts = _requests(rig)
    counts["edits"] = len(rig.plex.requests_matching("PUT", ".*"))  # the per-field edits use several endpoints
    both = own_cpu() - cpu_before  # the tool and the emulators share this process
    return Figures(f"naive, {scenes} of {rig.scenes}", scenes, seconds, 0.0, 0.0, emulators_cpu=both, **counts)


def index_cost(rig: Rig) -> tuple[float, int]:
    """Seconds and listing requests for one process to build its Plex index of this library."""
    from plexsync.plex.writer import PlexWriter

    rig.plex.clear_requests()
    started = time.monotonic()
    writer = PlexWriter(rig.plex.url, PLEX_TOKEN, timeout=60)
    writer.find("/nowhere/none.mp4")
    return time.monotonic() - started, len(rig.plex.requests_matching("GET", LISTING))


def measure(
    size: int, naive_scenes: int, timeout: float, limit: int | None = None, per_scene_jobs: bool = False
) -> tuple[list[Figures], str]:
    seeded = time.monotonic()
    rig = Rig(size)
    note = f"{size} scenes seeded in {time.monotonic() - seeded:.0f} s"
    try:
        results = []
        if naive_scenes:
            results.append(naive_run(rig, naive_scenes))
            rig.plex.clear_requests()
        index_seconds, index_requests = index_cost(rig)
        note += f"; one process's Plex index: {index_seconds:.1f} s, {index_requests} listing requests"
        data_dir = rig.tmp / f"data-{size}"
        rig.start_worker(data_dir)
        what = f"first sync of {limit} of {size}" if limit else f"first sync, {size}"
        results.append(plexsync_run(rig, data_dir, what, timeout, limit))
        what = f"unchanged re-sync of {limit} of {size}" if limit else f"unchanged re-sync, {size}"
        results.append(plexsync_run(rig, data_dir, what, timeout, limit))
        if per_scene_jobs and limit is None:
            results.append(plexsync_run(rig, data_dir, f"re-sync, one job per scene, {size}", timeout, per_scene=True))
        return results, note
    finally:
        rig.close()
        shutil.rmtree(rig.tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="library sizes, comma-separated")
    parser.add_argument("--naive-scenes", type=int, default=300, help="scenes the naive tool syncs (first library)")
    parser.add_argument("--with-100k", action="store_true", help="also 100,000 scenes (a timed slice, see --slice)")
    parser.add_argument("--slice", type=int, default=10000, help="scenes synced of the 100,000 (default 10000)")
    parser.add_argument("--timeout", type=float, default=900, help="longest wait per sync, seconds")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    runs: list[tuple[int, int | None]] = [(size, None) for size in sizes]
    if args.with_100k:
        runs.append((100_000, args.slice))
    rows: list[list[object]] = [HEADER]
    notes = []
    naive: Figures | None = None
    for number, (size, limit) in enumerate(runs):
        results, note = measure(size, args.naive_scenes if number == 0 else 0, args.timeout, limit, number == 0)
        notes.append(note)
        if number == 0 and args.naive_scenes:
            naive = results[0]
        for figures in results:
            rows.append(figures.row(None if figures is naive else naive))
    print(f"bulk sync; worker: huey_consumer huey_config.huey {' '.join(CONSUMER_OPTIONS)}; {machine()}")
    print(table(rows))
    for note in notes:
        print(note)
    print(
        "targets: first sync >= 100 scenes/s at 1k and 10k, 1 edit (+1 upload) per changed scene, "
        "GraphQL well under 1 per scene, peak memory < 250 MB at 100k; unchanged re-sync of 10k <= 10 s, 0 writes"
    )


if __name__ == "__main__":
    main()
