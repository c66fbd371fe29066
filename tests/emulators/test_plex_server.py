"""The Plex emulator's read side, driven through the real plexapi: server, sections,
paged listings, item details, episodes, multi-part items, paths and JSON."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ElementTree

import pytest
import requests
from plexapi.exceptions import NotFound
from plexapi.server import PlexServer

from emulators.plex import PlexEmulator
from tests.emulators.conftest import TOKEN


def raw_get(plex: PlexEmulator, path: str, **headers: str) -> requests.Response:
    return requests.get(plex.url + path, headers={"X-Plex-Token": TOKEN, **headers}, timeout=5)


def test_start_then_identity_answers_without_a_token() -> None:
    plex = PlexEmulator(token=TOKEN, friendly_name="Box")
    try:
        plex.start()
        answer = requests.get(plex.url + "/identity", timeout=5)
        assert answer.status_code == 200
        root = ElementTree.fromstring(answer.content)
        assert root.tag == "MediaContainer"
        assert root.get("machineIdentifier") == plex.library.machine_identifier
        assert requests.get(plex.url + "/", timeout=5).status_code == 401
    finally:
        plex.stop()


def test_server_root_is_what_plexserver_reads(plex: PlexEmulator, server: PlexServer) -> None:
    assert server.friendlyName == "PlexSync Emulator"
    assert server.machineIdentifier == plex.library.machine_identifier
    assert server.version
    assert server.identity().machineIdentifier == plex.library.machine_identifier


def test_sections_carry_type_title_and_locations(plex: PlexEmulator, server: PlexServer) -> None:
    movies = plex.add_section(title="Movies", kind="movie", locations=["/media/plex/movies", "C:\\Media\\Films"])
    shows = plex.add_section(title="TV", kind="show", locations=["/media/plex/tv"])
    sections = {s.key: s for s in server.library.sections()}
    assert set(sections) == {movies, shows}
    assert (sections[movies].type, sections[movies].title) == ("movie", "Movies")
    assert sections[movies].locations == ["/media/plex/movies", "C:\\Media\\Films"]
    assert sections[shows].type == "show"
    assert sections[movies].uuid and sections[movies].agent and sections[movies].scanner
    assert server.library.section("TV").key == shows
    assert server.query(f"/library/sections/{movies}").get("librarySectionID") == str(movies)


def test_paged_listing_returns_every_item_in_pages(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    keys = {plex.add_movie(sid, files=[f"/m/movie {n:04d}.mp4"]) for n in range(2500)}
    section = server.library.sectionByID(sid)
    plex.clear_requests()

    movies = section.search(libtype="movie", container_size=1000)

    assert sorted(m.ratingKey for m in movies) == sorted(keys)
    listings = plex.requests_matching("GET", rf"^/library/sections/{sid}/all$")
    assert len(listings) == 3
    assert {r.arg("type") for r in listings} == {"1"}
    assert section.totalViewSize(libtype="movie") == 2500


def test_listing_window_from_query_params_and_container_attributes(plex: PlexEmulator) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    for n in range(30):
        plex.add_movie(sid, files=[f"/m/{n:02d}.mp4"])
    answer = raw_get(plex, f"/library/sections/{sid}/all?type=1&X-Plex-Container-Start=10&X-Plex-Container-Size=5")
    root = ElementTree.fromstring(answer.content)
    assert (root.get("size"), root.get("totalSize"), root.get("offset")) == ("5", "30", "10")
    assert [v.get("title") for v in root.findall("Video")] == ["10", "11", "12", "13", "14"]
    assert answer.headers["X-Plex-Container-Total-Size"] == "30"
    empty = raw_get(plex, f"/library/sections/{sid}/all?type=1&X-Plex-Container-Start=40&X-Plex-Container-Size=5")
    assert ElementTree.fromstring(empty.content).get("size") == "0"
    bad = raw_get(plex, f"/library/sections/{sid}/all?type=1", **{"X-Plex-Container-Start": "-1"})
    assert bad.status_code == 400


def test_listing_is_sorted_by_title_and_follows_a_rename(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    plex.add_movie(sid, files=["/m/b.mp4"], title="Bravo")
    alpha = plex.add_movie(sid, files=["/m/a.mp4"], title="alpha")
    plex.add_movie(sid, files=["/m/c.mp4"], title="Charlie")
    section = server.library.sectionByID(sid)
    assert [m.title for m in section.all()] == ["alpha", "Bravo", "Charlie"]
    server.fetchItem(alpha).editTitle("Zulu")
    assert [m.title for m in section.all()] == ["Bravo", "Charlie", "Zulu"]


def test_detail_has_full_tags_while_listing_is_truncated(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(
        sid,
        files=["/m/x.mp4"],
        title="X",
        summary="Plot",
        studio="Studio",
        originally_available_at="2021-03-04",
        year=2021,
        genres=["G1", "G2", "G3", "G4"],
        collections=["C1", "C2", "C3"],
        labels=["L1", "L2", "L3"],
        actors=[("A1", "Hero", "http://img/a1.jpg"), "A2", "A3", "A4", "A5"],
        directors=["D1"],
        locked=["title", "genre"],
    )
    (listed,) = server.library.sectionByID(sid).all()
    assert [g.tag for g in listed.genres] == ["G1", "G2"]
    assert [c.tag for c in listed.collections] == ["C1", "C2"]
    assert [r.tag for r in listed.roles] == ["A1", "A2", "A3"]
    listing_xml = raw_get(plex, f"/library/sections/{sid}/all?type=1").content
    assert b"<Field" not in listing_xml

    movie = server.fetchItem(rk)
    assert [g.tag for g in movie.genres] == ["G1", "G2", "G3", "G4"]
    assert [c.tag for c in movie.collections] == ["C1", "C2", "C3"]
    assert [lb.tag for lb in movie.labels] == ["L1", "L2", "L3"]
    assert [r.tag for r in movie.roles] == ["A1", "A2", "A3", "A4", "A5"]
    assert (movie.roles[0].role, movie.roles[0].thumb) == ("Hero", "http://img/a1.jpg")
    assert [d.tag for d in movie.directors] == ["D1"]
    assert {f.name for f in movie.fields if f.locked} == {"title", "genre"}
    assert movie.isLocked("title") and not movie.isLocked("summary")
    assert (movie.summary, movie.studio, movie.year) == ("Plot", "Studio", 2021)
    assert movie.originallyAvailableAt.strftime("%Y-%m-%d") == "2021-03-04"
    assert (movie.librarySectionID, movie.librarySectionTitle) == (sid, "Movies")
    assert movie.librarySectionKey == f"/library/sections/{sid}"
    assert movie.media[0].parts[0].file == "/m/x.mp4"
    assert movie.media[0].parts[0].size > 0 and movie.media[0].parts[0].key.startswith("/library/parts/")


def test_several_ids_at_once_and_unknown_ids(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    first = plex.add_movie(sid, files=["/m/1.mp4"])
    second = plex.add_movie(sid, files=["/m/2.mp4"])
    assert [m.ratingKey for m in server.fetchItems([second, first])] == [second, first]
    with pytest.raises(NotFound):
        server.fetchItem(999_999)
    assert raw_get(plex, "/library/metadata/abc").status_code == 400


def test_episodes_have_show_and_season(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="TV", kind="show", locations=["/tv"])
    e2 = plex.add_episode(sid, show_title="Show", season=1, episode=2, files=["/tv/Show/S01/Show - s01e02.mkv"])
    e1 = plex.add_episode(sid, show_title="Show", season=1, episode=1, files=["/tv/Show/S01/Show - s01e01.mkv"])
    e3 = plex.add_episode(sid, show_title="Show", season=2, episode=1, files=["/tv/Show/S02/Show - s02e01.mkv"])

    episode = server.fetchItem(e2)
    assert (episode.type, episode.grandparentTitle, episode.parentIndex, episode.index) == ("episode", "Show", 1, 2)
    assert episode.locations == ["/tv/Show/S01/Show - s01e02.mkv"]
    assert episode.section().key == sid

    section = server.library.sectionByID(sid)
    (show,) = section.all()
    assert (show.type, show.title, show.childCount) == ("show", "Show", 2)
    assert [s.index for s in show.seasons()] == [1, 2]
    assert [e.ratingKey for e in show.episodes()] == [e1, e2, e3]
    assert [e.ratingKey for e in show.season(1).episodes()] == [e1, e2]
    assert [e.ratingKey for e in section.searchEpisodes()] == [e1, e2, e3]
    assert len(section.searchSeasons()) == 2
    assert plex.item(e3).show_title == "Show" and plex.item(e3).season == 2


def test_multi_part_item_is_one_item_with_several_parts(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    files = ["/m/Heat (1995)/Heat - cd1.avi", "/m/Heat (1995)/Heat - cd2.avi"]
    rk = plex.add_movie(sid, files=files)
    movie = server.fetchItem(rk)
    assert movie.title == "Heat"
    assert len(movie.media) == 1 and [p.file for p in movie.media[0].parts] == files
    assert movie.locations == files
    assert plex.find_by_file(files[1]) == [rk]
    assert plex.item(rk).files == files


def test_same_file_in_two_sections(plex: PlexEmulator, server: PlexServer) -> None:
    one = plex.add_section(title="A", kind="movie", locations=["/shared"])
    two = plex.add_section(title="B", kind="movie", locations=["/shared"])
    first = plex.add_movie(one, files=["/shared/x.mp4"])
    second = plex.add_movie(two, files=["/shared/x.mp4"])
    assert plex.find_by_file("/shared/x.mp4") == [first, second]
    assert [server.fetchItem(rk).librarySectionID for rk in (first, second)] == [one, two]


def test_unicode_forms_and_windows_paths_round_trip_exactly(plex: PlexEmulator, server: PlexServer) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m", "C:\\Media"])
    nfc = unicodedata.normalize("NFC", "/m/Amélie \u2013 東京.mkv")
    nfd = unicodedata.normalize("NFD", nfc)
    windows = 'C:\\Media\\Sub Dir\\x & <y> "z".mkv'
    rk_nfc = plex.add_movie(sid, files=[nfc])
    rk_nfd = plex.add_movie(sid, files=[nfd])
    rk_win = plex.add_movie(sid, files=[windows])

    assert nfc != nfd
    assert plex.find_by_file(nfc) == [rk_nfc] and plex.find_by_file(nfd) == [rk_nfd]
    assert server.fetchItem(rk_nfc).locations == [nfc]
    assert server.fetchItem(rk_nfd).locations == [nfd]
    assert server.fetchItem(rk_win).locations == [windows]
    assert server.fetchItem(rk_win).title == 'x & <y> "z"'
    listed = {m.ratingKey: m.locations for m in server.library.sectionByID(sid).all()}
    assert listed == {rk_nfc: [nfc], rk_nfd: [nfd], rk_win: [windows]}


def test_json_when_asked_for(plex: PlexEmulator) -> None:
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(sid, files=["/m/a.mp4", "/m/b.mp4"], genres=["Drama"], locked=["title"])
    answer = raw_get(plex, f"/library/metadata/{rk}", Accept="application/json")
    assert answer.headers["Content-Type"].startswith("application/json")
    (item,) = answer.json()["MediaContainer"]["Metadata"]
    assert item["ratingKey"] == str(rk) and item["type"] == "movie"
    assert [p["file"] for p in item["Media"][0]["Part"]] == ["/m/a.mp4", "/m/b.mp4"]
    assert item["Genre"] == [{"id": 1, "filter": "genre=1", "tag": "Drama"}]
    assert item["Field"] == [{"locked": True, "name": "title"}]
    sections = raw_get(plex, "/library/sections", Accept="application/json").json()["MediaContainer"]
    assert sections["Directory"][0]["Location"][0]["path"] == "/m"
    listing = raw_get(plex, f"/library/sections/{sid}/all?type=1", Accept="application/json").json()
    assert listing["MediaContainer"]["totalSize"] == 1


def test_unknown_routes_and_methods_answer_404(plex: PlexEmulator, server: PlexServer) -> None:
    with pytest.raises(NotFound):
        server.query("/no/such/thing")
    with pytest.raises(NotFound):
        server.query("/library/sections/99/all")
    sid = plex.add_section(title="Movies", kind="movie", locations=["/m"])
    rk = plex.add_movie(sid, files=["/m/a.mp4"])
    answer = requests.delete(f"{plex.url}/library/metadata/{rk}", headers={"X-Plex-Token": TOKEN}, timeout=5)
    assert answer.status_code == 404
    assert b"Traceback" not in answer.content
    assert plex.item(rk).title == "a"
