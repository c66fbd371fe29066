"""How "sync all" cuts the library into pages (plexsync.sync.bulk.plan)."""

from __future__ import annotations

import itertools

from plexsync.sync import bulk


class Ids:
    def __init__(self, ids: list[int]) -> None:
        self.ids = [str(i) for i in ids]

    def scene_ids(self, page_size: int):
        for start in range(0, len(self.ids), page_size):
            yield self.ids[start : start + page_size]


def test_pages_cover_every_id_once_and_the_last_one_is_open_at_the_top():
    ids = list(range(1, 2000, 2))  # 1,000 ids with gaps (deleted scenes)
    pages = bulk.plan(Ids(ids))
    assert len(pages) == 10 and all(page.planned == 100 for page in pages)
    assert pages[0].after == 0 and pages[-1].upto is None  # a scene added after the listing is read too
    for before, page in itertools.pairwise(pages):
        assert page.after == before.upto  # no gap, no overlap
    covered = [i for i in ids for page in pages if page.after < i and (page.upto is None or i <= page.upto)]
    assert covered == ids


def test_a_small_library_is_still_spread_over_several_pages_and_an_empty_one_is_one_page():
    pages = bulk.plan(Ids(list(range(1, 61))))
    assert [page.planned for page in pages] == [10] * 6
    assert bulk.plan(Ids([])) == [bulk.Page(0, None, 0)]
