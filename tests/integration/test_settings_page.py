"""Issue #16: Stash's plugin page shows what is in force, and a value PlexSync cannot use is
one clear line where the user looks (Stash's log at warning, ``plexsync doctor``).

Stash's page draws an unset switch as off and an unset number as empty
(../shared/stash-plugins.md, "What a user sees of a plugin in Stash's UI"); what
it draws is read back here the way the page reads it, over GraphQL.
"""

from __future__ import annotations

import requests

from plexsync.config import PLUGIN_ID, SYNC_SETTINGS, SyncSettings
from plexsync.stash.settings_store import page_value
from plexsync.tools.exitcodes import ExitCode
from tests.integration.conftest import PLEX_TOKEN, STASH_API_KEY, World
from tests.integration.test_cli_status_doctor import cli
from tests.integration.test_sync_end_to_end import edit_scene
from tests.support import wait_until

PAGE_QUERY = "query($ids: [ID!]) { configuration { plugins(include: $ids) } }"


def page(world: World) -> dict:
    """What Stash's settings page reads."""
    answer = requests.post(
        world.stash.graphql_url,
        json={"query": PAGE_QUERY, "variables": {"ids": [PLUGIN_ID]}},
        headers={"ApiKey": STASH_API_KEY},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["data"]["configuration"]["plugins"][PLUGIN_ID]


def test_a_task_run_stores_every_default_and_the_page_then_shows_what_is_in_force(world: World):
    world.configure_plugin(retries=3, lock_fields=False, poster_shape="")
    user = dict(world.stash.library.plugin_settings[PLUGIN_ID])
    assert "playback_plays" not in page(world)  # what the page draws as "off", while the copy is on

    status = world.host.run_task("Status")
    assert status.error is None and status.messages("warning") == []

    shown = page(world)
    for setting in SYNC_SETTINGS:
        if user.get(setting.key) not in (None, "") or setting.default is None:
            continue
        assert shown[setting.key] == page_value(setting, setting.default), setting.key
    assert (shown["retries"], shown["lock_fields"], shown["poster_shape"]) == (3, False, "cover")
    assert shown["playback_plays"] is True and shown["retry_delay"] == 15
    assert (shown["plex_url"], shown["plex_token"], shown["path_map"]) == (
        user["plex_url"],
        PLEX_TOKEN,
        user["path_map"],
    )
    assert SyncSettings.resolve(shown, environ={}) == SyncSettings.resolve(user, environ={})

    world.host.run_task("List dead letters")
    assert page(world) == shown  # stored once


def test_no_secret_default_is_stored_and_an_unset_token_stays_unset(world: World):
    world.stash.set_plugin_settings(PLUGIN_ID, {"path_map": "/data/stash=/media/plex"})
    world.host.run_task("Status")
    shown = page(world)
    assert "plex_token" not in shown and "plex_url" not in shown
    assert shown["path_map"] == "/data/stash=/media/plex" and shown["worker_mode"] == "auto"


def test_a_refused_value_is_one_warning_in_stash_log_and_one_line_in_doctor(world: World):
    world.configure_plugin(poster_shape="square", plex_url="https://app.plex.tv/desktop/#!/")
    poster_line = "'Poster shape' on Stash's plugin page: 'square' is not one of cover, portrait"
    url_line = (
        "'Plex URL' on Stash's plugin page: https://app.plex.tv is Plex's web app, not your Plex server: "
        "run the task 'Link Plex account', or give the server's own address like http://192.168.1.10:32400"
    )

    status = world.host.run_task("Status")
    assert status.messages("warning") == [f"PlexSync: {url_line}", f"PlexSync: {poster_line}"]

    doctor = cli(world, "doctor")
    assert doctor.returncode == ExitCode.SETTINGS
    assert f"[FAIL] Settings: {url_line}\n" in doctor.stdout
    assert f"[FAIL] Settings: {poster_line}\n" in doctor.stdout
    page = "on Stash's plugin page (Settings > Plugins > Stash Plex Sync)"
    assert f"fix: correct it: 'Poster shape' {page}, or PLEXSYNC_POSTER_SHAPE" in doctor.stdout

    in_stash = world.host.run_task("Doctor")
    assert in_stash.messages("warning") == [
        f"PlexSync Doctor: [FAIL] Settings: {url_line}; fix: correct it: 'Plex URL' {page}",
        f"PlexSync Doctor: [FAIL] Settings: {poster_line}; fix: correct it: 'Poster shape' {page}",
        "PlexSync Doctor: 2 problem(s) found, each with its fix (below)",
    ]


def test_a_plex_address_pasted_from_the_browser_is_read_as_the_servers(world: World):
    port = world.plex.port
    world.configure_plugin(plex_url=f"127.0.0.1:{port}/web/index.html#!/")
    scene_id, rating_key = world.add_scene("pasted")

    doctor = cli(world, "doctor")
    assert f"[ok]   Plex: http://127.0.0.1:{port} answers" in doctor.stdout, doctor.stdout

    world.start_consumer()
    world.host.attach()
    edit_scene(world, scene_id, title="Reached through a pasted address")
    wait_until(lambda: world.plex.item(rating_key).title == "Reached through a pasted address", message="sync")
    assert page(world)["plex_url"] == f"127.0.0.1:{port}/web/index.html#!/"  # the user's value, untouched


def test_a_refused_value_reaches_stash_log_through_the_hooks_too(world: World):
    """No task run needed: the worker holds the jobs and the next hooks say why, at warning level."""
    world.configure_plugin(poster_shape="square")
    scene_id, rating_key = world.add_scene("refused", title="Refused")
    before = world.plex.item(rating_key).title
    world.start_consumer()
    world.host.attach()
    line = "'Poster shape' on Stash's plugin page: 'square' is not one of cover, portrait"
    edits = iter(range(1000))

    def a_hook_warns() -> bool:
        edit_scene(world, scene_id, title=f"Edit {next(edits)}")
        return any(line in message for message in world.host.invocations[-1].messages("warning"))

    wait_until(a_hook_warns, timeout=90, interval=1.0, message="the refused value in a hook's warning")
    assert world.plex.item(rating_key).title == before  # held, not written with a guess
    assert world.dead_letters() == []  # and not dropped
