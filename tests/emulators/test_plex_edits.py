"""The Plex emulator's write side through the real plexapi: the edit language, locks,
tag-list replacement (and the listing-object trap), ratings and the agent refresh."""

from __future__ import annotations

import pytest
from plexapi.exceptions import BadRequest, NotFound
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator


@pytest.fixture
def sid(plex: PlexEmulator) -> int:
    return plex.add_section(title="Movies", kind="movie", locations=["/m"])


def put(server: PlexServer, path: str) -> None:
    server.query(path, method=server._session.put)


def test_batch_edits_are_one_put_changing_values_and_locks(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/scene.mp4"], summary="old")
    before = plex.item(rk).updated_at
    movie = server.fetchItem(rk)
    plex.clear_requests()

    movie.batchEdits()
    movie.editTitle("New Title").editSummary("New plot", locked=False).editStudio("Studio")
    movie.editOriginallyAvailable("2020-05-06").addCollection("Series")
    movie.saveEdits()

    (request,) = plex.requests_matching("PUT")  # plexapi may also GET /library/sections
    assert request.path == f"/library/sections/{sid}/all"
    assert (request.arg("id"), request.arg("type")) == (str(rk), "1")
    item = plex.item(rk)
    assert (item.title, item.summary, item.studio) == ("New Title", "New plot", "Studio")
    assert item.originally_available_at == "2020-05-06"
    assert item.collections == ["Series"]
    assert item.locked == {"title", "studio", "originallyAvailableAt", "collection"}
    assert item.updated_at > before
    assert movie.reload().title == "New Title" and movie.isLocked("studio")


def test_a_value_is_not_locked_unless_asked(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    put(server, f"/library/sections/{sid}/all?type=1&id={rk}&summary.value=Plot")
    assert plex.item(rk).summary == "Plot" and plex.item(rk).locked == set()
    put(server, f"/library/metadata/{rk}?title.locked=1&thumb.locked=1")
    assert plex.item(rk).locked == {"title", "thumb"}
    put(server, f"/library/metadata/{rk}?title.locked=0")
    assert plex.item(rk).locked == {"thumb"}


def test_add_genre_on_a_listing_object_deletes_the_truncated_tags(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"], genres=["A", "B", "C", "D"])
    (listed,) = server.library.sectionByID(sid).all()
    assert [g.tag for g in listed.genres] == ["A", "B"]

    listed.addGenre("E")

    assert plex.item(rk).genres == ["A", "B", "E"]  # C and D are gone: Plex replaced the list

    full = server.fetchItem(rk)
    full.addGenre("F")
    assert plex.item(rk).genres == ["A", "B", "E", "F"]


def test_indexed_tags_replace_the_whole_list(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"], genres=["Old1", "Old2"], labels=["Keep"])
    put(server, f"/library/metadata/{rk}?genre%5B1%5D.tag.tag=Second&genre%5B0%5D.tag.tag=First")
    assert plex.item(rk).genres == ["First", "Second"]
    assert plex.item(rk).labels == ["Keep"]


def test_tag_minus_removes_named_tags(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"], genres=["Sci Fi", "Drama", "A,B", "Action"])
    server.fetchItem(rk).removeGenre(["Sci Fi", "A,B"])  # plexapi quotes each name, then the query
    assert plex.item(rk).genres == ["Drama", "Action"]
    put(server, f"/library/sections/{sid}/all?type=1&id={rk}&genre%5B%5D.tag.tag-=Drama,Missing")
    assert plex.item(rk).genres == ["Action"]


def test_empty_bracket_tag_clears_one_tag_type(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"], genres=["A", "B"], collections=["C"])
    put(server, f"/library/sections/{sid}/all?type=1&id={rk}&genre%5B%5D.tag=")
    assert plex.item(rk).genres == []
    assert plex.item(rk).collections == ["C"]
    assert server.fetchItem(rk).genres == []


def test_actor_role_and_photo_ride_on_the_same_index(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"], actors=["Old"])
    server.fetchItem(rk).edit(
        **{
            "actor[0].tag.tag": "Jane Roe",
            "actor[0].tagging.text": "Detective",
            "actor[0].tagging.thumb": "http://stash/performer/1/image",
            "actor[1].tag.tag": "John Doe",
            "actor.locked": 1,
        }
    )
    roles = server.fetchItem(rk).roles
    assert [(r.tag, r.role, r.thumb) for r in roles] == [
        ("Jane Roe", "Detective", "http://stash/performer/1/image"),
        ("John Doe", None, None),
    ]
    assert plex.item(rk).actors == ["Jane Roe", "John Doe"] and "actor" in plex.item(rk).locked


def test_one_put_edits_several_ids(plex: PlexEmulator, server: PlexServer, sid: int):
    first = plex.add_movie(sid, files=["/m/1.mp4"])
    second = plex.add_movie(sid, files=["/m/2.mp4"])
    untouched = plex.add_movie(sid, files=["/m/3.mp4"])
    put(server, f"/library/metadata/{first},{second}?studio.value=Same")
    put(server, f"/library/sections/{sid}/all?type=1&id={first},{second}&label%5B0%5D.tag.tag=L")
    assert [plex.item(rk).studio for rk in (first, second, untouched)] == ["Same", "Same", ""]
    assert [plex.item(rk).labels for rk in (first, second, untouched)] == [["L"], ["L"], []]


def test_a_section_edit_without_id_edits_every_item_of_the_type(plex: PlexEmulator, server: PlexServer, sid: int):
    keys = [plex.add_movie(sid, files=[f"/m/{n}.mp4"]) for n in range(3)]
    put(server, f"/library/sections/{sid}/all?type=1&studio.value=Everyone")
    assert [plex.item(rk).studio for rk in keys] == ["Everyone"] * 3


@pytest.mark.parametrize(
    "query",
    [
        "year.value=abc",
        "originallyAvailableAt.value=2020-13-45",
        "originallyAvailableAt.value=05/06/2020",
        "title.locked=2",
        "bogus.value=1",
        "genre%5Bx%5D.tag.tag=A",
        "mood%5B0%5D.tag.tag=A",
        "genre%5B0%5D.tagging.text=orphan",
        "userRating.value=11",
    ],
)
def test_malformed_edits_are_refused_and_change_nothing(plex: PlexEmulator, server: PlexServer, sid: int, query: str):
    rk = plex.add_movie(sid, files=["/m/a.mp4"], genres=["G"])
    before = plex.item(rk)
    with pytest.raises(BadRequest) as caught:
        put(server, f"/library/sections/{sid}/all?type=1&id={rk}&title.value=Changed&{query}")
    assert "(400)" in str(caught.value)
    assert plex.item(rk) == before


def test_edits_of_unknown_items_are_404(plex: PlexEmulator, server: PlexServer, sid: int):
    other = plex.add_section(title="Other", kind="movie", locations=["/o"])
    elsewhere = plex.add_movie(other, files=["/o/a.mp4"])
    with pytest.raises(NotFound):
        put(server, f"/library/sections/{sid}/all?type=1&id=999999&title.value=X")
    with pytest.raises(NotFound):
        put(server, f"/library/sections/{sid}/all?type=1&id={elsewhere}&title.value=X")
    with pytest.raises(NotFound):
        put(server, "/library/metadata/999999?title.value=X")
    assert plex.item(elsewhere).title == "a"


def test_every_edit_moves_updated_at_forward(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    stamps = [plex.item(rk).updated_at]
    for n in range(3):
        put(server, f"/library/metadata/{rk}?summary.value={n}")
        stamps.append(plex.item(rk).updated_at)
    assert stamps == sorted(set(stamps))
    assert server.fetchItem(rk).updatedAt.timestamp() == stamps[-1]


def test_rate_sets_and_clears_the_user_rating(plex: PlexEmulator, server: PlexServer, sid: int):
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    movie = server.fetchItem(rk)
    plex.clear_requests()
    movie.rate(7.5)
    (request,) = plex.requests
    assert (request.method, request.path) == ("PUT", "/:/rate")
    assert dict(request.query) == {"key": str(rk), "identifier": "com.plexapp.plugins.library", "rating": "7.5"}
    assert plex.item(rk).user_rating == 7.5
    assert movie.reload().userRating == 7.5
    movie.rate()  # plexapi sends rating=-1 to clear
    assert plex.item(rk).user_rating is None
    with pytest.raises(NotFound):
        put(server, "/:/rate?key=999999&identifier=com.plexapp.plugins.library&rating=3")
    with pytest.raises(NotFound):
        put(server, f"/:/rate?key={rk}&identifier=other&rating=3")
    with pytest.raises(BadRequest):
        put(server, f"/:/rate?key={rk}&identifier=com.plexapp.plugins.library&rating=12")


def test_refresh_undoes_unlocked_fields_and_keeps_locked_ones(
    plex: PlexEmulator, server: PlexServer, sid: int, tmp_path
):
    rk = plex.add_movie(
        sid,
        files=["/m/file-name.mp4"],
        title="Seeded",
        summary="Plot",
        studio="Studio",
        year=1999,
        genres=["G"],
        collections=["C"],
        user_rating=8.0,
    )
    movie = server.fetchItem(rk)
    movie.batchEdits()
    movie.editTitle("Kept").editSummary("Lost", locked=False).addGenre("G2")
    movie.saveEdits()
    poster = tmp_path / "p.jpg"
    poster.write_bytes(b"\xff\xd8poster")
    movie.uploadPoster(filepath=str(poster))
    plex.clear_requests()

    movie.refresh()

    assert [(r.method, r.path) for r in plex.requests] == [("PUT", f"/library/metadata/{rk}/refresh")]
    item = plex.item(rk)
    assert (item.title, item.genres) == ("Kept", ["G", "G2"])
    assert (item.summary, item.studio, item.year, item.collections) == ("", "", None, [])
    assert item.poster is None
    assert item.user_rating == 8.0
    unlocked = plex.add_movie(sid, files=["/m/Other Name.mkv"], title="Seeded")
    server.fetchItem(unlocked).refresh()
    assert plex.item(unlocked).title == "Other Name"
