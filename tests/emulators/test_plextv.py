"""The plex.tv emulator, through the real plexapi 4.18.3 over loopback HTTP.

What plexapi sends and parses was read from its ``myplex.py`` (the module
docstring of ``emulators/plextv/server.py`` lists it); these tests run
plexapi's own classes against the emulator, aimed at it by the one seam PlexSync
uses (``plexsync.plex.signin.PlexTvSession``), so a field plexapi needs and the
emulator lacks fails here first.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests
from plexapi.myplex import MyPlexAccount, MyPlexPinLogin

from emulators.plextv import Connection, PlexTvEmulator, plex_direct
from plexsync.plex.signin import HEADERS, PlexTvSession
from tests.emulators.conftest import TOKEN
from tests.support import REPO, SHARED, wait_until

SPEC = SHARED / "plex-api-spec" / "plex-api-spec.yaml"


@pytest.fixture
def plextv() -> Iterator[PlexTvEmulator]:
    emulator = PlexTvEmulator().start()
    yield emulator
    emulator.stop()


def _login(plextv: PlexTvEmulator) -> MyPlexPinLogin:
    return MyPlexPinLogin(session=PlexTvSession(plextv.url), requestTimeout=5, headers=HEADERS)


def _account(plextv: PlexTvEmulator) -> MyPlexAccount:
    return MyPlexAccount(token=plextv.account_token, session=PlexTvSession(plextv.url), timeout=5)


def test_a_code_entered_at_plex_tv_link_gives_plexapi_the_account_token(plextv: PlexTvEmulator) -> None:
    login = _login(plextv)
    code = login.pin
    assert re.fullmatch(r"[A-Z0-9]{4}", code)
    assert plextv.requests_matching("POST", r"^/api/v2/pins$")[0].status == 201
    assert login.checkLogin() is False and not login.expired  # not entered yet
    # the user, signed in at plex.tv/link, types the code: plexapi's own MyPlexAccount.link
    _account(plextv).link(code)
    assert login.checkLogin() is True
    assert login.token == plextv.account_token
    assert plextv.state.codes_waiting() == []


def test_plexapis_threaded_wait_sees_the_code_entered(plextv: PlexTvEmulator) -> None:
    login = _login(plextv)
    login.run(timeout=20)
    wait_until(lambda: plextv.requests_matching("GET", r"^/api/v2/pins/\d+$"), message="plexapi polls the code")
    threading.Timer(0.3, plextv.enter_code, args=(login.pin,)).start()
    assert login.waitForLogin() is True
    assert login.token == plextv.account_token


def test_a_code_is_read_only_by_the_client_that_asked_for_it(plextv: PlexTvEmulator) -> None:
    login = _login(plextv)
    code = login.pin
    plextv.enter_code(code)
    pin_id = login._id
    other = requests.get(
        f"{plextv.url}/api/v2/pins/{pin_id}", headers={"X-Plex-Client-Identifier": "someone-else"}, timeout=5
    )
    assert other.status_code == 404 and "Code not found or expired" in other.text
    assert login.checkLogin() is True


def test_an_expired_code_is_gone_and_plexapi_calls_it_expired(plextv: PlexTvEmulator) -> None:
    now = [1_700_000_000.0]
    plextv.state.clock = lambda: now[0]
    login = _login(plextv)
    code = login.pin
    assert plextv.requests_matching("POST", r"^/api/v2/pins$")
    now[0] += 899
    assert login.checkLogin() is False and login.expired is False  # still alive a second before 900 s
    now[0] += 1
    assert plextv.enter_code(code) is False
    assert login.checkLogin() is False
    assert login.expired is True
    with pytest.raises(Exception, match=r"\(404\)"):
        _account(plextv).link(code)


def test_plexapi_reads_the_account_and_its_servers_with_every_connection(plextv: PlexTvEmulator) -> None:
    plextv.add_server(
        "Basement",
        "machine-1",
        "server-token-1",
        [
            plex_direct("192.168.1.10", 32400),
            Connection("http://192.168.1.10:32400"),
            plex_direct("203.0.113.7", 41234, local=False),
            plex_direct("198.51.100.2", 8443, local=False, relay=True),
            Connection("http://[2001:db8::10]:32400", ipv6=True),
        ],
    )
    plextv.add_server("Friend's", "machine-2", "shared-token", [Connection("http://10.0.0.9:32400")], owned=False)
    plextv.state.add_player("Chrome")
    account = _account(plextv)
    assert (account.username, account.email) == ("stash-fan", "stash-fan@example.com")
    resources = account.resources()
    assert [r.name for r in resources] == ["Basement", "Friend's", "Chrome"]
    basement, shared, player = resources
    assert (basement.accessToken, basement.clientIdentifier, basement.owned, basement.provides) == (
        "server-token-1",
        "machine-1",
        True,
        "server",
    )
    assert shared.owned is False and player.provides == "client,player,pubsub-player" and player.connections == []
    flags = [(c.local, c.relay, c.ipv6, c.protocol) for c in basement.connections]
    assert flags == [
        (True, False, False, "https"),
        (True, False, False, "http"),
        (False, False, False, "https"),
        (False, True, False, "https"),
        (True, False, True, "http"),
    ]
    assert basement.connections[0].uri.endswith(".plex.direct:32400")
    assert basement.connections[0].httpuri == "http://192.168.1.10:32400"
    # plexapi's own order: local before remote before relay, https before http
    order = basement.preferred_connections()
    assert order.index(basement.connections[0].uri) < order.index("http://192.168.1.10:32400")
    assert order.index("http://192.168.1.10:32400") < order.index(basement.connections[2].uri)
    assert order[-1] in (basement.connections[3].uri, basement.connections[3].httpuri)
    # a shared server's local addresses are not plexapi's to try
    assert shared.preferred_connections() == []


def test_resources_honour_the_include_flags(plextv: PlexTvEmulator) -> None:
    plextv.add_server(
        "Basement",
        "machine-1",
        "server-token-1",
        [plex_direct("192.168.1.10", 32400), plex_direct("198.51.100.2", 8443, local=False, relay=True)],
    )
    headers = {**HEADERS, "X-Plex-Token": plextv.account_token}
    bare = requests.get(f"{plextv.url}/api/v2/resources", headers=headers, timeout=5).text
    assert 'relay="1" IPv6' not in bare and "plex.direct" not in bare
    assert 'uri="http://192.168.1.10:32400"' in bare


def test_refusals_look_like_plex_tvs(plextv: PlexTvEmulator) -> None:
    url = f"{plextv.url}/api/v2/user"
    assert requests.get(url, headers={"X-Plex-Token": plextv.account_token}, timeout=5).status_code == 400
    nobody = requests.get(url, headers={"X-Plex-Client-Identifier": "x", "X-Plex-Token": "wrong"}, timeout=5)
    assert nobody.status_code == 401 and 'code="1001"' in nobody.text
    json = requests.get(url, headers={**HEADERS, "Accept": "application/json"}, timeout=5)
    assert json.status_code == 406
    with pytest.raises(Exception, match=r"\(401\)"):
        MyPlexAccount(token="wrong", session=PlexTvSession(plextv.url), timeout=5)


def test_the_account_routes_are_plex_tvs_documented_ones() -> None:
    """``/user`` and ``/resources`` are in the OpenAPI description under ``https://plex.tv/api/v2``;
    the PIN routes are not there (they come from plexapi's source and plexapi.dev)."""
    if not SPEC.is_file():
        pytest.skip(f"the Plex OpenAPI spec is not at {SPEC}")
    text = SPEC.read_text(encoding="utf-8")
    for path in ("/user", "/resources"):
        block = text.split(f"\n  {path}:\n", 1)[1].split("\n  /", 1)[0]
        assert "https://plex.tv/api/v2" in block, path
    assert "\n  /pins:" not in text
    assert [route for _, route in PlexTvEmulator.ROUTES] == [
        "/api/v2/pins",
        "/api/v2/pins/{pinID}",
        "/api/v2/pins/link",
        "/api/v2/user",
        "/api/v2/resources",
    ]


def test_the_command_line_emulator_lists_a_running_plex_as_the_accounts_server(plex) -> None:
    """``python -m emulators.plextv``: prints the variable to export and how to enter a code."""
    command = [sys.executable, "-m", "emulators.plextv", "--server", f"Basement={plex.url}", "--server-token", TOKEN]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        export, how = process.stdout.readline().strip(), process.stdout.readline().strip()
        url = export.removeprefix("export PLEXSYNC_PLEX_TV_URL=")
        assert url.startswith("http://127.0.0.1:") and how.startswith("# enter a code as plex.tv/link does: curl")
        words = shlex.split(how.removeprefix("# enter a code as plex.tv/link does: "))
        token = next(w for w in words if w.startswith("X-Plex-Token: ")).removeprefix("X-Plex-Token: ")
        account = MyPlexAccount(token=token, session=PlexTvSession(url), timeout=5)
        [server] = account.resources()
        assert (server.name, server.clientIdentifier, server.accessToken) == (
            "Basement",
            plex.library.machine_identifier,
            TOKEN,
        )
        assert server.connections[0].uri == plex.url
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
