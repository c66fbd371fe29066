"""The environment's proxy and CA settings, looked up once per server by RetryingSession.

requests reads ``HTTP_PROXY``/``NO_PROXY`` (twice, through all of ``os.environ``) and
``REQUESTS_CA_BUNDLE`` again for every request; profiled, that was a tenth of a bulk
sync's worker CPU. The cache must give what requests itself gives, per server.
"""

from __future__ import annotations

import pytest
import requests

from plexsync.retrying import PLEX, RetryingSession

PLEX_URL = "http://plex.local:32400/library/metadata/1"
STASH_URL = "http://stash.local:9999/graphql"


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "stash.local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/home-ca.pem")


def _settings(session: requests.Session, url: str) -> dict:
    return session.merge_environment_settings(url, {}, None, None, None)


def test_each_server_gets_what_requests_gives_it(proxied: None) -> None:
    ours, theirs = RetryingSession(PLEX), requests.Session()
    for url in (PLEX_URL, STASH_URL):
        assert _settings(ours, url) == _settings(theirs, url)
    assert _settings(ours, PLEX_URL)["proxies"]["http"] == "http://proxy.example:3128"
    assert "http" not in _settings(ours, STASH_URL)["proxies"]  # NO_PROXY still per server
    assert _settings(ours, PLEX_URL)["verify"] == "/etc/ssl/certs/home-ca.pem"


def test_the_environment_is_read_once_and_each_answer_is_a_copy(proxied: None, monkeypatch: pytest.MonkeyPatch) -> None:
    session = RetryingSession(PLEX)
    first = _settings(session, PLEX_URL)
    first["proxies"]["http"] = "http://changed:1"
    monkeypatch.setenv("HTTP_PROXY", "http://later:1")  # a running worker's environment does not change
    assert _settings(session, PLEX_URL)["proxies"]["http"] == "http://proxy.example:3128"
    assert _settings(RetryingSession(PLEX), PLEX_URL)["proxies"]["http"] == "http://later:1"


def test_explicit_proxies_are_merged_by_requests_itself(proxied: None) -> None:
    session = RetryingSession(PLEX)
    given = {"http": "http://explicit:8080"}
    assert session.merge_environment_settings(PLEX_URL, given, None, None, None)["proxies"]["http"] == (
        "http://explicit:8080"
    )
