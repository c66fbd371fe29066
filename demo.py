"""PlexSync in one minute: a Stash edit reaches the matching Plex item, as it would at home.

The demo builds the whole world on this machine, with nothing to install or
configure: a Stash emulator and a Plex emulator on loopback, both holding the
same generated library (Unicode and NFD file names, files Plex has not scanned
yet, one file in two Plex libraries...), and the real plugin folder run the way
Stash runs plugins. PlexSync itself is not emulated: the hook process, the huey
queue and a real ``huey_consumer`` worker do the work, over HTTP, through the
same clients they use against a real Stash and a real Plex.

What it shows, in order:

1. configuration as a user does it: the task "Link Plex account" signs in to
   (emulated) plex.tv by code and fills in Plex's address and token on Stash's
   plugin page, beside the path rules; Stash's address and API key in the
   worker's environment;
2. the "Sync all scenes" task pushing the whole library into Plex;
3. four scenes edited through Stash's GraphQL API (``sceneUpdate``, what
   Stash's UI sends): each edit fires the plugin's hook, which queues a sync;
   the worker writes title, details, date, studio, tags and performers into
   Plex and locks them, so Plex's own agents never overwrite them;
4. a before/after table of those Plex items, and what became of the rest
   (files Plex has not scanned yet get a scan of their folder and are synced
   once Plex has them; files outside every Plex library are left alone).

    python3 run.py demo [--scenes N] [--seed S] [--keep]

Exit code 0 when every edit reached Plex, 1 otherwise (the worker's log is shown).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Any

import requests

from emulators.consumer import REPO, ConsumerProcess, count_rows, poll_until, queued_jobs
from emulators.library import MAX_SCENES, MIN_SCENES, GeneratedScene, Library, generate_library
from emulators.plex import PlexEmulator, PlexItem
from emulators.plextv import Connection, PlexTvEmulator
from emulators.plugin_host import PluginHost
from emulators.stash import StashEmulator
from plexsync.config import PLUGIN_ID

STASH_API_KEY = "demo-stash-api-key"
PLEX_TOKEN = "demo-plex-token"
WIDTH = 100
EDITS = 4
#: Deadlines of the waits (seconds); with 40 scenes the whole demo takes about 5 s.
SYNC_ALL_TIMEOUT = 20.0  # plus 1 s per 50 scenes: the worker syncs about 100 a second
EDITS_TIMEOUT = 20.0
LINK_TIMEOUT = 30.0
DRAIN_TIMEOUT = 10.0
#: Short retries so that failures settle within the demo (defaults: 8 retries from 15 s, doubling).
RETRY_ENV = {"PLEXSYNC_RETRIES": "2", "PLEXSYNC_RETRY_DELAY": "1", "PLEXSYNC_RETRY_BACKOFF": "1"}
SCENE_UPDATE = "mutation Edit($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }"
ALL_NAMES = """query {
  findTags(filter: {per_page: -1}) { tags { id name } }
  findStudios(filter: {per_page: -1}) { studios { id name } }
  findPerformers(filter: {per_page: -1}) { performers { id name } }
}"""
#: New titles for the edited scenes: Unicode on purpose, Plex must keep every character.
NEW_TITLES = ("Crème Brûlée at Dawn", "東京の夜 — Director's Cut", "Über Straße 🎬 Extended", "Señorita Niño (2024)")
NEW_DATES = ("2024-02-29", "2023-11-05", "2022-07-14", "2021-01-31")


class DemoFailed(Exception):
    """Something the demo waited for did not happen; the message says what."""


# -- text layout -------------------------------------------------------------------


def cell_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def fit(text: str, width: int) -> str:
    """``text`` on one line, cut with "…" to ``width`` columns and padded to it."""
    text = " ".join(text.split())
    if cell_width(text) > width:
        while text and cell_width(text) > width - 1:
            text = text[:-1]
        text = text.rstrip() + "…"
    return text + " " * (width - cell_width(text))


def names(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "—"


def say(text: str = "") -> None:
    print(text, flush=True)


# -- the world: emulators, worker, plugin host -------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it is truthy; ``DemoFailed`` at the deadline."""
    try:
        return poll_until(predicate, timeout, interval, what)
    except TimeoutError as exc:
        raise DemoFailed(str(exc)) from None


@dataclass
class World:
    tmp: Path
    lib: Library
    stash: StashEmulator
    plex: PlexEmulator
    host: PluginHost
    worker: ConsumerProcess
    plextv: PlexTvEmulator

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    def queued(self) -> int:
        """Jobs waiting, scheduled for a retry, or running."""
        return queued_jobs(self.data_dir)

    def dead_letters(self) -> int:
        return count_rows(self.data_dir / "plexsync.db", ("dead_letter",))

    def dead_letter_example(self) -> str | None:
        """'scene <id>: <reason>' of the oldest dead letter."""
        path = self.data_dir / "plexsync.db"
        if not path.exists():
            return None
        conn = sqlite3.connect(str(path), timeout=10)
        try:
            found = conn.execute("select scene_id, message from dead_letter order by id limit 1").fetchone()
        except sqlite3.OperationalError:
            return None
        finally:
            conn.close()
        return f"scene {found[0]}: {found[1]}" if found else None

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A GraphQL request as any Stash client sends it, with the API key."""
        response = requests.post(
            self.stash.graphql_url,
            json={"query": query, "variables": variables or {}},
            headers={"ApiKey": STASH_API_KEY},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise DemoFailed(f"Stash answered with errors: {body['errors']}")
        return body["data"]


@contextlib.contextmanager
def world(tmp: Path, scenes: int, seed: int) -> Iterator[World]:
    """Emulators seeded with a generated library, PlexSync configured, worker running, plugin attached."""
    lib = generate_library(scenes, seed)
    stash = StashEmulator(api_key=STASH_API_KEY)  # port 0: a free port
    plex = PlexEmulator(token=PLEX_TOKEN)
    plextv = PlexTvEmulator()  # the account that owns the Plex server, for "Link Plex account"
    host: PluginHost | None = None
    worker: ConsumerProcess | None = None
    try:
        stash.start()
        plex.start()
        plextv.start()
        lib.seed(stash, plex)
        plextv.add_server(plex.friendly_name, plex.library.machine_identifier, PLEX_TOKEN, [Connection(plex.url)])
        # Stash's plugin page: what the worker reads from Stash (Plex's address and token: run() links them).
        stash.set_plugin_settings(PLUGIN_ID, {"path_map": lib.path_map})
        # The worker's environment: how to reach Stash, where the queue lives.
        data_dir = tmp / "data"
        env = {
            **os.environ,
            "PLEXSYNC_STASH_URL": stash.url,
            "PLEXSYNC_STASH_API_KEY": STASH_API_KEY,
            "PLEXSYNC_DATA_DIR": str(data_dir),
            **RETRY_ENV,
        }
        worker = ConsumerProcess(env, tmp / "worker.log")
        # Stash passes its own environment to every plugin process: the hook finds the queue there,
        # "Link Plex account" the (emulated) plex.tv.
        plugin_env = {"PLEXSYNC_DATA_DIR": str(data_dir), "PLEXSYNC_PLEX_TV_URL": plextv.url}
        host = PluginHost(REPO, stash, env=plugin_env, stash_dir=tmp / "stash-config")
        yield World(tmp, lib, stash, plex, host, worker, plextv)
    finally:
        # A second Ctrl-C must not leave the worker running: cleanup is bounded (20 s at most).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if worker is not None:
            worker.stop()
        if host is not None:
            host.detach()
        stash.stop()
        plex.stop()
        plextv.stop()


# -- the library as the demo sees it ------------------------------------------------------


def expected_title(scene: GeneratedScene, title: str | None) -> str:
    """The title PlexSync gives the Plex item: Stash's, else the file name without extension."""
    return title or PurePosixPath(scene.stash_paths[0]).stem


@dataclass
class Edit:
    scene: GeneratedScene
    title: str
    details: str
    date: str
    studio: str
    tags: list[str]
    removed_tags: list[str]
    performers: list[str]
    mutation: dict[str, Any] = field(default_factory=dict)
    before: list[PlexItem] | None = None
    hook_output: str = ""
    seconds: float = 0.0

    def reached(self, plex: PlexEmulator) -> bool:
        return all(self.matches(plex.item(key)) for key in self.scene.rating_keys)

    def matches(self, item: PlexItem) -> bool:
        return (
            item.title == self.title
            and item.summary == self.details
            and item.originally_available_at == self.date
            and item.studio == self.studio
            and sorted(item.genres) == sorted(self.tags)
            and sorted(item.actors) == sorted(self.performers)
        )


def pick_scenes(lib: Library, count: int) -> list[GeneratedScene]:
    """Scanned movie scenes with tags to remove; one with Unicode in its name when there is one.

    Halves of a multi-part pair are left out: two Stash scenes share their Plex
    item, so the last one synced wins it.
    """
    candidates = [
        s
        for s in lib.scenes
        if s.kind == "movie" and s.scanned and s.rating_keys and s.stash_id and "multipart" not in s.traits
    ]

    def unicode(scene: GeneratedScene) -> bool:
        return not (scene.title or "").isascii() or not all(p.isascii() for p in scene.stash_paths)

    ranked = sorted(candidates, key=lambda s: (len(s.tags) < 2, not s.performers, s.title is None, s.index))
    chosen = [s for s in ranked if unicode(s)][:1]  # one with Unicode, then those with most to change
    for scene in ranked:
        if len(chosen) >= count:
            break
        if scene not in chosen:
            chosen.append(scene)
    return chosen


def plan_edits(w: World, scenes: list[GeneratedScene]) -> list[Edit]:
    """New values for each scene: a tag or more removed, others added, another studio and cast."""
    everything = w.graphql(ALL_NAMES)
    tag_ids = {t["name"]: t["id"] for t in everything["findTags"]["tags"]}
    studio_ids = {s["name"]: s["id"] for s in everything["findStudios"]["studios"]}
    performer_ids = {p["name"]: p["id"] for p in everything["findPerformers"]["performers"]}
    tag_names, studios, performers = list(tag_ids), list(studio_ids), list(performer_ids)
    edits = []
    for n, scene in enumerate(scenes):
        kept = scene.tags[:1]
        added = [t for t in tag_names[n * 3 :] + tag_names if t not in scene.tags][:2]
        new_tags = list(dict.fromkeys(kept + added))
        cast = scene.performers[:1] + [p for p in performers[n * 2 :] + performers if p not in scene.performers][:1]
        studio = next(s for s in studios[n * 2 + 1 :] + studios if s != scene.studio)
        edit = Edit(
            scene=scene,
            title=NEW_TITLES[n % len(NEW_TITLES)],
            details=f"Edited in Stash by the PlexSync demo ({time.strftime('%H:%M:%S')}): "
            "new title, details, date, studio, tags and performers.",
            date=NEW_DATES[n % len(NEW_DATES)],
            studio=studio,
            tags=new_tags,
            removed_tags=[t for t in scene.tags if t not in new_tags],
            performers=list(dict.fromkeys(cast)),
        )
        edit.mutation = {
            "id": scene.stash_id,
            "title": edit.title,
            "details": edit.details,
            "date": edit.date,
            "studio_id": studio_ids[edit.studio],
            "tag_ids": [tag_ids[t] for t in edit.tags],
            "performer_ids": [performer_ids[p] for p in edit.performers],
        }
        edits.append(edit)
    return edits


def send_edit(w: World, edit: Edit) -> None:
    """What Stash's UI does when a user saves a scene: one ``sceneUpdate`` mutation."""
    hooks_before = len(w.host.invocations)
    started = time.monotonic()
    w.graphql(SCENE_UPDATE, {"input": edit.mutation})  # returns once the hook process has run
    edit.seconds = time.monotonic() - started
    hooks = [i for i in w.host.invocations[hooks_before:] if i.kind == "hook"]
    if not hooks:
        raise DemoFailed(f"the edit of scene {edit.scene.stash_id} fired no PlexSync hook")
    if hooks[-1].error:
        raise DemoFailed(f"the hook of scene {edit.scene.stash_id} failed: {hooks[-1].error}")
    edit.hook_output = str(hooks[-1].output)


# -- progress ----------------------------------------------------------------------


class Progress:
    """Prints a status line when it changed, at most once a second."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last_line = ""
        self.last_at = 0.0

    def show(self, line: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or (line != self.last_line and now - self.last_at >= 1.0):
            say(f"      {now - self.started:5.1f} s  {line}")
            self.last_line, self.last_at = line, now


def synced_items(w: World, titles: dict[str, str | None]) -> tuple[int, int]:
    """(Plex items PlexSync wrote, Plex items of scanned scenes): title locked and equal to Stash's."""
    wanted: dict[int, set[str]] = {}
    for scene in w.lib.scenes:
        if scene.scanned and scene.stash_id:
            for key in scene.rating_keys:
                wanted.setdefault(key, set()).add(expected_title(scene, titles[scene.stash_id]))
    done = 0
    for key, accepted in wanted.items():
        item = w.plex.item(key)
        if "title" in item.locked and item.title in accepted:
            done += 1
    return done, len(wanted)


# -- the table ----------------------------------------------------------------------


def row(label: str, before: str, after: str) -> str:
    return f"  {fit(label, 8)} {fit(before, 42)}  {fit(after, 45)}".rstrip()


def print_table(w: World, edits: list[Edit]) -> None:
    say()
    say('The edited scenes as Plex shows them (before: what "Sync all scenes" had written; after: the edit):')
    say()
    say(row("field", "before the edit", "after the edit"))
    say("  " + "─" * (WIDTH - 4))
    for n, edit in enumerate(edits):
        if n:
            say()
        scene = edit.scene
        assert edit.before is not None
        before, after = edit.before[0], w.plex.item(scene.rating_keys[0])
        file_name = PurePosixPath(after.files[0]).name if after.files else "?"
        others = scene.rating_keys[1:]
        also = f", same as item {', '.join(map(str, others))}" if others else ""
        head = f"Stash scene {scene.stash_id} → Plex item {after.rating_key} ({file_name}{also})"
        say(f"  {fit(head, WIDTH - 3)}".rstrip())
        say(row("title", before.title, after.title))
        say(row("genres", names(before.genres), names(after.genres)))
        say(row("actors", names(before.actors), names(after.actors)))
        say(row("studio", before.studio or "—", after.studio or "—"))
        say(row("date", before.originally_available_at or "—", after.originally_available_at or "—"))
        say(f"  {fit('locked', 8)} {fit(', '.join(sorted(after.locked)), WIDTH - 12)}".rstrip())


# -- the demo ------------------------------------------------------------------------


def link_plex(w: World) -> None:
    """The task "Link Plex account", and the user's part: the code from Stash's log, entered at plex.tv/link."""
    task = w.host.start_task("Link Plex account")
    line = wait_for(
        lambda: next((m for m in task.invocation.messages("info") if "plex.tv/link" in m), None) or task.done,
        LINK_TIMEOUT,
        "the code in Stash's log",
    )
    codes = w.plextv.state.codes_waiting()
    if not isinstance(line, str) or not codes:
        raise DemoFailed(f'the task "Link Plex account" showed no code: {task.invocation.error}')
    say('      task "Link Plex account" (Stash > Settings > Tasks); Stash\'s log at info:')
    say(f"        {fit(line.split(' (')[0], WIDTH - 9)}".rstrip())
    w.plextv.enter_code(codes[0])  # what you do at plex.tv/link, signed in
    done = task.wait(LINK_TIMEOUT)
    if done.error:
        raise DemoFailed(f'the task "Link Plex account" failed: {done.error}')
    say(f"      code entered at plex.tv/link (emulated): Plex URL {w.plex.url} and Plex token saved on the page")


def run(w: World, started: float) -> int:
    lib = w.lib
    scanned = [s for s in lib.scenes if s.scanned]
    unscanned = [s for s in lib.scenes if not s.scanned]
    say(f"  Stash emulator  {fit(w.stash.graphql_url, 34)}  API key {STASH_API_KEY}")
    say(f"  Plex emulator   {fit(w.plex.url, 34)}  token {PLEX_TOKEN}")
    say(
        f"  Library         {len(lib.scenes)} scenes (seed {lib.seed_value}): {len(scanned)} with their Plex "
        f"item(s), {len(unscanned)} not in Plex yet"
    )
    say()
    say("[1/5] PlexSync configured as a user does it")
    say(f"      on Stash's plugin page: path rules {lib.path_map}")
    link_plex(w)
    say("      in the worker's environment: PLEXSYNC_STASH_URL, PLEXSYNC_STASH_API_KEY, PLEXSYNC_DATA_DIR")
    say("      (retries shortened for the demo to 2, 1 s apart; by default 8, from 15 s, doubling)")

    try:
        w.worker.start()
    except (RuntimeError, TimeoutError) as exc:
        raise DemoFailed(str(exc)) from None
    say(f"[2/5] Worker started: huey_consumer huey_config.huey -k thread -w 2 (log {w.worker.log_path.name})")
    w.host.attach()
    say(f'      Plugin "{w.host.manifest.name}" attached: Stash now runs its hook on every scene edit')

    titles: dict[str, str | None] = {s.stash_id: s.title for s in lib.scenes if s.stash_id}
    say('[3/5] Task "Sync all scenes" (Stash > Settings > Tasks), pushing the whole library')
    task = w.host.run_task("Sync all scenes")
    if task.error:
        raise DemoFailed(f'the task "Sync all scenes" failed: {task.error}')
    say(f"      → {fit(str(task.output), WIDTH - 9)}".rstrip())
    progress = Progress()

    def library_synced() -> bool:
        done, total = synced_items(w, titles)
        progress.show(f"{done}/{total} Plex items synced, {w.queued()} job(s) in the queue")
        return done == total

    try:
        wait_for(library_synced, SYNC_ALL_TIMEOUT + len(lib.scenes) / 50, "the library sync")
    except DemoFailed as exc:
        if synced_items(w, titles)[0] == 0:
            raise DemoFailed(f"{exc}: not one Plex item was synced") from None
        say(f"      {exc}; going on with the edits")
    done, total = synced_items(w, titles)
    progress.show(f"{done}/{total} Plex items synced, {w.queued()} job(s) in the queue", force=True)

    chosen = pick_scenes(lib, EDITS)
    if not chosen:
        raise DemoFailed("the library has no scanned movie scene to edit; try another --seed")
    edits = plan_edits(w, chosen)
    say(f"[4/5] Editing {len(edits)} scenes through Stash's GraphQL API (sceneUpdate, as Stash's UI saves)")
    for edit in edits:
        edit.before = [w.plex.item(key) for key in edit.scene.rating_keys]
        send_edit(w, edit)
        titles[edit.scene.stash_id or ""] = edit.title
        old = edit.scene.title or "(no title)"
        line = fit(f"scene {edit.scene.stash_id}: {old} → {edit.title}", 62)
        say(f"      {line}  hook ran in {edit.seconds:.1f} s")
    say(f"      every hook answered like: {edits[-1].hook_output!r}")

    say("[5/5] Waiting for the worker to write the edits into Plex")
    progress = Progress()

    def edits_in_plex() -> bool:
        reached = sum(edit.reached(w.plex) for edit in edits)
        queued = w.queued()
        progress.show(f"{reached}/{len(edits)} edits in Plex, {queued} job(s) in the queue")
        return reached == len(edits)

    try:
        wait_for(edits_in_plex, EDITS_TIMEOUT, "the edits to reach Plex")
    except DemoFailed as exc:
        say(f"      {exc}")
        missing = [e.scene.stash_id for e in edits if not e.reached(w.plex)]
        say(f"      not in Plex: scene(s) {', '.join(str(m) for m in missing)}")
        say()
        say(f"The worker's log ({w.worker.log_path}), last lines:")
        say(w.worker.tail())
        return 1
    with contextlib.suppress(DemoFailed):  # failures settle quickly with the short retries; never wait long
        wait_for(lambda: w.queued() == 0, DRAIN_TIMEOUT, "the queue to drain")
    progress.show(
        f"{len(edits)}/{len(edits)} edits in Plex, {w.queued()} job(s) in the queue, {w.dead_letters()} dead letter(s)",
        force=True,
    )

    print_table(w, edits)

    done, total = synced_items(w, titles)
    letters, queued = w.dead_letters(), w.queued()
    say()
    say(f"Result: all edits reached Plex in {time.monotonic() - started:.1f} s.")
    say(f'  "Sync all scenes" synced {done} of {total} Plex items: their title is Stash\'s, and locked.')
    still = f" ({queued} job(s) still retrying)" if queued else ""
    if letters or queued:
        say(f"  {letters} scene(s) ended as dead letters{still};")
        say("  `python -m plexsync dlq list` shows them, `python -m plexsync dlq retry --all` retries them.")
        example = w.dead_letter_example()
        if example:
            say(f"  {fit(f'e.g. {example}', WIDTH - 3)}".rstrip())
    else:
        say("  No dead letters: files Plex had not scanned were scanned and synced (failed syncs would wait there).")
    say('Next: install it for real: the README, "Install it from Stash" (docs/install.md).')
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    def scene_count(raw: str) -> int:
        value = int(raw)
        if not MIN_SCENES <= value <= MAX_SCENES:
            raise argparse.ArgumentTypeError(f"between {MIN_SCENES} and {MAX_SCENES}")
        return value

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--scenes", type=scene_count, default=40, help="scenes in the generated library (40)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated library (1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    # The demo's world must not pick up a real PlexSync configuration from this shell.
    for name in [n for n in os.environ if n.startswith("PLEXSYNC_")]:
        del os.environ[name]
    tmp = Path(tempfile.mkdtemp(prefix="plexsync-demo-"))
    say("PlexSync demo: Stash scene edits pushed into Plex by the real plugin and worker, against emulators")
    code = 1
    try:
        with world(tmp, args.scenes, args.seed) as w:
            try:
                code = run(w, started)
            except DemoFailed as exc:
                say(f"\nDemo failed: {exc}")
                say(f"The worker's log ({w.worker.log_path}), last lines:")
                say(w.worker.tail())
                code = 1
    except KeyboardInterrupt:
        say("\ninterrupted; stopping the worker and the emulators")
        code = 130
    finally:
        if args.keep:
            say(f"Kept {tmp} (worker.log, data/queue.db, data/plexsync.db). Dead letters:")
            say(f"  PLEXSYNC_DATA_DIR={tmp / 'data'} .venv/bin/python -m plexsync dlq list")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
