"""What the benchmarks share: the emulators with N matched scenes, a worker
started with the default command, figures printed side by side.

Never imported by the test suite; every benchmark is a script a person runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from emulators.consumer import ConsumerProcess, poll_until, queued_jobs  # noqa: E402
from emulators.plex import PlexEmulator  # noqa: E402
from emulators.stash import StashEmulator  # noqa: E402
from plexsync.config import PLUGIN_ID  # noqa: E402
from run import CONSUMER_OPTIONS  # noqa: E402

STASH_API_KEY = "bench-stash-key"
PLEX_TOKEN = "bench-plex-token"
STASH_ROOT, PLEX_ROOT = "/data/stash", "/media/plex"
EDIT_PATH = r"^/library/sections/\d+/all$"
#: The worker command of ``run.py worker`` (README), logging to a file.
DEFAULT_WORKER_ARGS = CONSUMER_OPTIONS


@dataclass
class Rig:
    """Stash and Plex emulators holding the same ``scenes``, and a data directory."""

    scenes: int
    stash: StashEmulator = field(init=False)
    plex: PlexEmulator = field(init=False)
    tmp: Path = field(init=False)
    items: list[tuple[str, int]] = field(init=False)  # (Stash scene id, Plex rating key)
    consumers: list[ConsumerProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="plexsync-bench-"))
        self.stash = StashEmulator(api_key=STASH_API_KEY).start()
        self.plex = PlexEmulator(token=PLEX_TOKEN).start()
        section = self.plex.add_section(title="Movies", kind="movie", locations=[f"{PLEX_ROOT}/movies"])
        tag = self.stash.add_tag("bench-tag")
        self.items = []
        for i in range(self.scenes):
            relative = f"movies/bench-{i:06d}.mp4"
            scene_id = self.stash.add_scene(
                title=f"bench title {i}",
                tag_ids=(tag,),
                files=({"path": f"{STASH_ROOT}/{relative}", "size": 1000, "duration": 60.0},),
            )
            self.items.append((scene_id, self.plex.add_movie(section, files=[f"{PLEX_ROOT}/{relative}"])))
        self.stash.set_plugin_settings(
            PLUGIN_ID,
            {"plex_url": self.plex.url, "plex_token": PLEX_TOKEN, "path_map": f"{STASH_ROOT}={PLEX_ROOT}"},
        )

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """A worker's (and a hook's) environment: the defaults for every retry setting."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")}
        return {
            **base,
            "PLEXSYNC_STASH_URL": self.stash.url,
            "PLEXSYNC_STASH_API_KEY": STASH_API_KEY,
            "PLEXSYNC_DATA_DIR": str(data_dir),
            **extra,
        }

    def start_worker(self, data_dir: Path, module: str = "huey_config.huey", **extra_env: str) -> ConsumerProcess:
        log_path = data_dir.parent / f"{data_dir.name}-worker.log"
        consumer = ConsumerProcess(self.env(data_dir, **extra_env), log_path)
        consumer.command = [consumer.command[0], module, *DEFAULT_WORKER_ARGS, "-l", str(log_path)]
        self.consumers.append(consumer.start(timeout=60))
        return consumer

    def edits_per_item(self) -> Counter:
        return Counter(int(r.arg("id")) for r in self.plex.requests_matching("PUT", EDIT_PATH))

    def titles_are(self, expected: Callable[[int], str]) -> int:
        """How many Plex items hold the title ``expected(index)``."""
        return sum(self.plex.item(rk).title == expected(i) for i, (_, rk) in enumerate(self.items))

    def reset_plex_log(self) -> None:
        self.plex.clear_requests()
        self.plex.faults.clear()

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.kill()
        self.stash.stop()
        self.plex.stop()


def queued(data_dir: Path) -> int:
    return queued_jobs(data_dir)


def dead_letters(data_dir: Path) -> int:
    import sqlite3

    path = data_dir / "plexsync.db"
    if not path.exists():
        return 0
    conn = sqlite3.connect(str(path), timeout=10)
    try:
        return conn.execute("select count(*) from dead_letter").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def run_python(code: str, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


def wait_for(predicate: Callable[[], object], timeout: float, message: str) -> float | None:
    """Seconds until ``predicate()`` held, or None when it did not within ``timeout``."""
    start = time.monotonic()
    try:
        poll_until(predicate, timeout, 0.1, message)
    except TimeoutError:
        return None
    return time.monotonic() - start


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(rows: Sequence[Sequence[object]]) -> str:
    """Rows as aligned text columns (the first row is the header)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores, load {load:.1f}, Python {sys.version.split()[0]}"
