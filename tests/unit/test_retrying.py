"""The request-retry policy's decisions, on built requests and answers (the
HTTP side is in tests/integration/test_request_retries.py)."""

from __future__ import annotations

import json

import pytest
import requests

from plexsync.retrying import PLEX, STASH, malformed_body, transient_graphql_error


def answer(body: bytes, content_type: str, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = content_type
    return response


def prepared(method: str, url: str, **kwargs) -> requests.PreparedRequest:
    return requests.Request(method, url, **kwargs).prepare()


@pytest.mark.parametrize(
    ("body", "kind", "fault"),
    [
        (b'<?xml version="1.0"?>\n<MediaContainer size="0"/>\n', "text/xml", False),
        (b"", "text/xml", False),  # Plex's edit answer: 200, empty
        (b'<MediaContainer size="3"><Video ratingKey="1"', "text/xml", True),  # cut short
        (b"\x8f\x00garbage\x00<<not xml", "text/xml", True),
        (b"<a>\x00</a>", "application/xml", True),  # XML never holds a NUL
        (b'{"data": {"findScene": null}}', "application/json", False),
        (b'{"data": {"findScene": {"title": "x"', "application/json", True),
        (b"\xd3\x11 random", "application/json; charset=utf-8", True),
        (b"\x89PNG\r\n\x1a\n....", "image/png", False),  # images: only their length is checked
    ],
)
def test_a_body_that_cannot_be_a_whole_answer_of_its_type_is_a_fault(body: bytes, kind: str, fault: bool):
    assert (malformed_body(answer(body, kind)) is not None) is fault


def test_an_error_status_body_is_left_to_the_status_check():
    assert malformed_body(answer(b"<html>503", "text/xml", status=503)) is None
    assert PLEX.fault_in(answer(b"<html>503", "text/html", status=503)) == "HTTP 503"
    assert PLEX.fault_in(answer(b"", "text/html", status=404)) is None
    assert PLEX.fault_in(answer(b"", "text/html", status=401)) is None


def graphql(errors: list[dict], data: object = None) -> requests.Response:
    return answer(json.dumps({"errors": errors, "data": data}).encode(), "application/json")


def test_only_answers_whose_every_error_is_transient_are_asked_again():
    assert transient_graphql_error(graphql([{"message": "database is locked", "path": ["findScene"]}]))
    assert transient_graphql_error(graphql([{"message": "database is locked (5) (SQLITE_BUSY)"}]))
    assert not transient_graphql_error(graphql([{"message": "database is locked"}, {"message": "not found"}]))
    assert not transient_graphql_error(graphql([{"message": 'Cannot query field "x"'}]))
    assert not transient_graphql_error(answer(b'{"data": {"findScene": null}}', "application/json"))
    assert STASH.fault_in(graphql([{"message": "database is locked"}])) is not None
    assert PLEX.fault_in(graphql([{"message": "database is locked"}])) is None  # a Stash matter only


def test_what_is_safe_to_send_twice():
    plex = "http://plex:32400"
    assert PLEX.is_safe(prepared("GET", f"{plex}/library/sections/1/all"))
    assert PLEX.is_safe(prepared("PUT", f"{plex}/library/sections/1/all?type=1&id=5&title.value=x"))
    assert PLEX.is_safe(prepared("POST", f"{plex}/library/metadata/5/posters", data=b"png"))
    assert PLEX.is_safe(prepared("POST", f"{plex}/library/metadata/5/arts", data=b"png"))
    assert not PLEX.is_safe(prepared("POST", f"{plex}/library/sections/1/refresh"))
    assert not PLEX.is_safe(prepared("DELETE", f"{plex}/library/metadata/5"))

    stash = "http://stash:9999"
    assert STASH.is_safe(prepared("GET", f"{stash}/scene/5/screenshot"))
    assert STASH.is_safe(prepared("POST", f"{stash}/graphql", json={"query": "query Q { version { hash } }"}))
    assert STASH.is_safe(prepared("POST", f"{stash}/graphql", json={"query": "\n  { version { hash } }"}))
    assert not STASH.is_safe(prepared("POST", f"{stash}/graphql", json={"query": "mutation { x }"}))
    assert not STASH.is_safe(prepared("POST", f"{stash}/graphql", data=b"not json"))
    assert not STASH.is_safe(prepared("POST", f"{stash}/graphql", json={"query": 5}))
    assert not STASH.is_safe(prepared("POST", f"{stash}/other", json={"query": "query { x }"}))
