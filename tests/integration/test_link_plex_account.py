"""The task *Link Plex account*, run by the plugin host as Stash runs it, against the
plex.tv emulator and the Plex emulator, through the real plexapi over real HTTP.

The user's part is played as on plex.tv/link: read the code in Stash's log (an
info line: a task's output is only logged at Debug) and enter it, signed in
(plexapi's ``MyPlexAccount.link``, the request the page sends).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from plexapi.myplex import MyPlexAccount

from emulators.plex import PlexEmulator
from emulators.plextv import Connection, PlexTvEmulator, plex_direct
from emulators.plugin_host import Invocation, PluginHost, RunningTask
from plexsync.config import PLUGIN_ID, SYNC_SETTINGS
from plexsync.plex.signin import PlexTvSession
from tests.integration.conftest import PLEX_ROOT, PLEX_TOKEN, STASH_ROOT, World
from tests.integration.test_sync_end_to_end import edit_scene
from tests.support import REPO, wait_until

PATH_MAP = f"{STASH_ROOT}={PLEX_ROOT}"


@pytest.fixture
def plextv() -> Iterator[PlexTvEmulator]:
    emulator = PlexTvEmulator().start()
    yield emulator
    emulator.stop()


def closed_port() -> int:
    """A loopback port nothing listens on: an address plex.tv still lists for a server that moved."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unlinked(world: World, plextv: PlexTvEmulator, **stored) -> PluginHost:
    """Stash with PlexSync installed but no Plex URL or token yet, and plex.tv at the emulator's address."""
    world.stash.set_plugin_settings(PLUGIN_ID, {"path_map": PATH_MAP, **stored})
    env = {**world.hook_env(), "PLEXSYNC_PLEX_TV_URL": plextv.url}
    world._host = PluginHost(REPO, world.stash, env=env, stash_dir=world.tmp / "stash-config")
    return world._host


def shown_code(task: RunningTask) -> str:
    """The code as Stash's log shows it (at info level)."""
    line = wait_until(
        lambda: next((m for m in task.invocation.messages("info") if "plex.tv/link" in m), None),
        timeout=60,
        message="the code in Stash's log",
    )
    match = re.search(r"open plex\.tv/link and enter ([A-Z0-9]{4})\b", line)
    assert match, line
    return match.group(1)


def enter_code(plextv: PlexTvEmulator, code: str) -> None:
    """What the user does at plex.tv/link, signed in."""
    MyPlexAccount(token=plextv.account_token, session=PlexTvSession(plextv.url), timeout=10).link(code)


def link(host: PluginHost, plextv: PlexTvEmulator, args: dict | None = None) -> Invocation:
    task = host.start_task("Link Plex account", args)
    enter_code(plextv, shown_code(task))
    return task.wait(90)


def stored(world: World) -> dict:
    return dict(world.stash.library.plugin_settings.get(PLUGIN_ID, {}))


def assert_no_token_shown(invocation: Invocation, plextv: PlexTvEmulator, *tokens: str) -> None:
    shown = invocation.stdout + "\n".join(line.message for line in invocation.logs)
    for token in (plextv.account_token, *tokens):
        assert token not in shown


def test_link_fills_plex_url_and_token_and_a_scene_edit_then_reaches_plex(world: World, plextv: PlexTvEmulator):
    """The account's server as plex.tv lists it: a plex.direct name and the local address (the
    one answering), a stale local address, a remote and a relay address."""
    port = world.plex.port
    plextv.add_server(
        "Basement",
        world.plex.library.machine_identifier,
        PLEX_TOKEN,
        [
            plex_direct("127.0.0.1", port),
            Connection(f"http://127.0.0.1:{closed_port()}"),
            plex_direct("203.0.113.7", 41234, local=False),
            plex_direct("198.51.100.2", 8443, local=False, relay=True),
        ],
    )
    plextv.state.add_player("Chrome")
    host = unlinked(world, plextv, retries=3, lock_fields=False)
    scene_id, rating_key = world.add_scene("linked", title="Before linking")

    task = host.start_task("Link Plex account")
    code = shown_code(task)
    assert plextv.state.codes_waiting() == [code]
    assert stored(world) == {"path_map": PATH_MAP, "retries": 3, "lock_fields": False}  # nothing yet
    enter_code(plextv, code)
    invocation = task.wait(90)

    assert invocation.error is None, invocation.error
    settings = stored(world)
    assert (settings["plex_url"], settings["plex_token"]) == (world.plex.url, PLEX_TOKEN)
    # merged into what the user had stored, and every default stored in the same write
    assert (settings["path_map"], settings["retries"], settings["lock_fields"]) == (PATH_MAP, 3, False)
    assert {s.key for s in SYNC_SETTINGS if s.default is not None} <= set(settings)
    linked = [m for m in invocation.messages("info") if "linked Plex server" in m]
    assert linked == [
        f"PlexSync Link Plex account: signed in as stash-fan; linked Plex server 'PlexSync Emulator' at "
        f"{world.plex.url} (its local address): 'Plex URL' and 'Plex token' are saved on Settings > Plugins > "
        "Stash Plex Sync; the task Doctor checks the path rules next"
    ]
    assert invocation.progress  # Stash's progress bar moved while the code waited
    assert_no_token_shown(invocation, plextv, PLEX_TOKEN)

    world.start_consumer()
    host.attach()
    edit_scene(world, scene_id, title="After linking")
    wait_until(lambda: world.plex.item(rating_key).title == "After linking", message="the edit reaches Plex")


def test_several_servers_are_named_with_how_to_choose_and_a_choice_is_kept(world: World, plextv: PlexTvEmulator):
    office = PlexEmulator(token="office-token-9c1d", friendly_name="Office").start()
    try:
        plextv.add_server("Basement", world.plex.library.machine_identifier, PLEX_TOKEN, [Connection(world.plex.url)])
        plextv.add_server("Office", office.library.machine_identifier, office.token, [Connection(office.url)])
        host = unlinked(world, plextv)

        ambiguous = link(host, plextv)
        assert ambiguous.error == (
            f"PlexSync: your Plex account has 2 servers that answer here: 'Basement' ({world.plex.url}), "
            f"'Office' ({office.url}); choose one: put its address into 'Plex URL' (Settings > Plugins > Stash "
            "Plex Sync) and run Link Plex account again (or run it with the argument server=NAME)"
        )
        assert stored(world) == {"path_map": PATH_MAP}  # nothing written

        by_name = link(host, plextv, {"server": "office"})
        assert by_name.error is None, by_name.error
        assert (stored(world)["plex_url"], stored(world)["plex_token"]) == (office.url, office.token)

        # the user put Basement's address into Plex URL, as the message says: the next link keeps it
        world.stash.set_plugin_settings(PLUGIN_ID, {**stored(world), "plex_url": world.plex.url + "/web/index.html#!/"})
        kept = link(host, plextv)
        assert kept.error is None, kept.error
        assert (stored(world)["plex_url"], stored(world)["plex_token"]) == (world.plex.url, PLEX_TOKEN)
        assert any("(the address already in 'Plex URL')" in m for m in kept.messages("info"))
        for invocation in (ambiguous, by_name, kept):
            assert_no_token_shown(invocation, plextv, PLEX_TOKEN, office.token)
    finally:
        office.stop()


def test_a_stale_local_address_and_another_server_there_are_passed_over_for_the_remote_one(
    world: World, plextv: PlexTvEmulator
):
    """Plex's /identity tells servers apart without the token: the token never goes to the wrong one."""
    stranger = PlexEmulator(token="stranger-token-55aa", friendly_name="Neighbour").start()
    try:
        plextv.add_server(
            "Basement",
            world.plex.library.machine_identifier,
            PLEX_TOKEN,
            [
                Connection(f"http://127.0.0.1:{closed_port()}"),
                Connection(stranger.url),  # the server's old LAN address, now another Plex server's
                Connection(world.plex.url, local=False),
            ],
        )
        invocation = link(unlinked(world, plextv), plextv)
        assert invocation.error is None, invocation.error
        assert stored(world)["plex_url"] == world.plex.url
        assert any("(its remote address (no local address answers from here))" in m for m in invocation.messages())
        assert [r for r in stranger.requests if r.path != "/identity"] == []  # only asked who it is
    finally:
        stranger.stop()


def test_no_answering_address_and_no_own_server_each_say_what_to_do(world: World, plextv: PlexTvEmulator):
    plextv.add_server("Friend's", "machine-f", "shared-token-77", [Connection(world.plex.url)], owned=False)
    host = unlinked(world, plextv)
    shared_only = link(host, plextv)
    assert shared_only.error == (
        "PlexSync: your Plex account has no Plex Media Server of its own (a server shared with you cannot be "
        "written to): sign in with the account that owns the server"
    )
    gone = closed_port()
    plextv.add_server(
        "Basement", world.plex.library.machine_identifier, PLEX_TOKEN, [Connection(f"http://127.0.0.1:{gone}")]
    )
    unreachable = link(host, plextv)
    assert unreachable.error.startswith(
        f"PlexSync: no address of your Plex server answers from this machine ('Basement': http://127.0.0.1:{gone}: "
        "connection refused or host unknown); is Plex running?"
    ), unreachable.error
    assert "\n" not in unreachable.error
    assert stored(world) == {"path_map": PATH_MAP}


def test_an_expired_code_ends_the_task_with_one_line_and_writes_nothing(world: World):
    plextv = PlexTvEmulator(pin_lifetime=1.0).start()
    try:
        plextv.add_server("Basement", world.plex.library.machine_identifier, PLEX_TOKEN, [Connection(world.plex.url)])
        task = unlinked(world, plextv).start_task("Link Plex account")
        code = shown_code(task)
        invocation = task.wait(60)
        assert invocation.error == (
            f"PlexSync: plex.tv no longer knows the code {code} (it expired, or plex.tv stopped answering)"
        )
        assert plextv.enter_code(code) is False
        assert stored(world) == {"path_map": PATH_MAP}
    finally:
        plextv.stop()


def test_stopping_the_task_while_it_waits_leaves_the_settings_as_they_were(world: World, plextv: PlexTvEmulator):
    plextv.add_server("Basement", world.plex.library.machine_identifier, PLEX_TOKEN, [Connection(world.plex.url)])
    task = unlinked(world, plextv, plex_url="http://old-plex:32400", plex_token="old-token-1234").start_task(
        "Link Plex account"
    )
    shown_code(task)  # waiting for the code to be entered
    task.kill()  # Stash's stop button: SIGKILL
    invocation = task.wait(30)
    assert invocation.killed and invocation.error == "signal: killed"
    assert invocation.returncode == -9
    assert stored(world) == {"path_map": PATH_MAP, "plex_url": "http://old-plex:32400", "plex_token": "old-token-1234"}


def test_plex_tv_unreachable_is_one_line(world: World):
    gone = closed_port()
    world.stash.set_plugin_settings(PLUGIN_ID, {"path_map": PATH_MAP})
    env = {**world.hook_env(), "PLEXSYNC_PLEX_TV_URL": f"http://127.0.0.1:{gone}"}
    world._host = PluginHost(REPO, world.stash, env=env, stash_dir=world.tmp / "stash-config")
    invocation = world._host.run_task("Link Plex account")
    assert invocation.error == (
        f"PlexSync: plex.tv (http://127.0.0.1:{gone}) did not give a code: connection refused or host unknown"
    )
    assert stored(world) == {"path_map": PATH_MAP}
