"""Benchmark (not a test): what the Plex index costs on a 100,000-scene library.

Prints, in one run against one Plex emulator holding the generated library:

* the baseline: a bare plexapi client paging the same listings
  (``section.search(libtype=...)``, plexapi's default page of 100 items,
  building its objects), which is also what such a client pays again to
  find one new item;
* PlexSync's index: requests and seconds to build it, and requests to find
  one item added after it was built (the newest-items page, no relisting).

Run: ``.venv/bin/python -m benchmarks.index [--scenes N]`` (target: the index
of 100,000 items in 100 requests or fewer; a new item in a few).
"""

from __future__ import annotations

import argparse
import time

from plexapi.server import PlexServer

from emulators.library import generate_library
from emulators.plex import PlexEmulator
from emulators.stash import StashEmulator
from plexsync.plex.writer import PlexWriter

TOKEN = "benchmark-token"
LIBTYPES = {"movie": "movie", "show": "episode"}


def listing_requests(plex: PlexEmulator) -> int:
    return len(plex.requests_matching("GET", r"^/library/sections"))


def baseline(plex: PlexEmulator) -> tuple[int, float, int]:
    plex.clear_requests()
    started = time.perf_counter()
    server = PlexServer(plex.url, TOKEN, timeout=120)
    items = 0
    for section in server.library.sections():
        if section.type in LIBTYPES:
            items += len(section.search(libtype=LIBTYPES[section.type]))
    return listing_requests(plex), time.perf_counter() - started, items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=100_000)
    args = parser.parse_args()

    started = time.perf_counter()
    library = generate_library(args.scenes)
    plex = PlexEmulator(token=TOKEN).start()
    try:
        library.seed(StashEmulator(), plex)
        print(
            f"library: {args.scenes} scenes, {len(plex.library.items)} Plex metadata items, "
            f"generated and seeded in {time.perf_counter() - started:.1f} s"
        )

        base_requests, base_seconds, base_items = baseline(plex)

        plex.clear_requests()
        writer = PlexWriter(plex.url, TOKEN, timeout=120)
        started = time.perf_counter()
        probe = library.scenes[0].plex_paths[0]
        writer.find(probe)
        index_seconds = time.perf_counter() - started
        index_requests = listing_requests(plex)

        section = library.section_ids["Movies"]
        new_path = f"{library.plex_root}/movies/Benchmark/new item.mp4"
        new_key = plex.add_movie(section, files=[new_path])
        plex.clear_requests()
        found = writer.find(new_path)
        assert [t.rating_key for t in found] == [new_key], found
        new_requests = len(plex.requests)

        rows = [
            ("", "requests", "seconds", ""),
            ("bare plexapi client, all items", base_requests, f"{base_seconds:.1f}", f"{base_items} items"),
            ("PlexSync index, all items", index_requests, f"{index_seconds:.1f}", f"{len(writer.index)} items"),
            ("bare client, one new item", base_requests, "", "pages everything again"),
            ("PlexSync index, one new item", new_requests, "", "the newest-items page"),
        ]
        for label, requests, seconds, note in rows:
            print(f"{label:34}{requests:>10}{seconds:>10}   {note}")
        print(f"target: index <= 100 requests: {'met' if index_requests <= 100 else 'MISSED'}")
    finally:
        plex.stop()


if __name__ == "__main__":
    main()
