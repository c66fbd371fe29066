"""Plugin settings saved through GraphQL, as Stash's Settings > Plugins page saves them.

Real Stash (``internal/api/resolver_mutation_configure.go``, ``ConfigurePlugin``):
``configurePlugin(plugin_id: ID!, input: Map!): Map!`` calls
``SetPluginConfiguration(pluginID, input)``, which *overwrites* the whole
configuration of that plugin id (known plugin or not), writes the config file,
and answers ``GetPluginConfiguration(pluginID)``: the settings as now stored.
The UI sends every setting of the plugin each time (stashapi's
``configure_plugin`` reads the stored ones first and sends the merge). Values
keep their JSON type: a NUMBER setting is stored as a number. No plugin hook
fires for it.
"""

from __future__ import annotations

import requests
from stashapi.stashapp import StashInterface

from emulators.stash import StashEmulator
from plexsync.config import PLUGIN_ID, SyncSettings

API_KEY = "settings-key"
CONFIGURE = "mutation($id: ID!, $input: Map!) { configurePlugin(plugin_id: $id, input: $input) }"
READ = "query($ids: [ID!]) { configuration { plugins(include: $ids) } }"


def graphql(stash: StashEmulator, query: str, variables: dict) -> dict:
    response = requests.post(
        stash.graphql_url, json={"query": query, "variables": variables}, headers={"ApiKey": API_KEY}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_configure_plugin_stores_the_settings_and_answers_them(stash: StashEmulator) -> None:
    hooks: list[object] = []
    stash.on_mutation = lambda *call: hooks.append(call)
    settings = {"plex_url": "http://plex:32400", "plex_token": "t0k", "retries": 3}
    answer = graphql(stash, CONFIGURE, {"id": PLUGIN_ID, "input": settings})
    assert answer == {"data": {"configurePlugin": settings}}
    stored = graphql(stash, READ, {"ids": [PLUGIN_ID]})["data"]["configuration"]["plugins"]
    assert stored == {PLUGIN_ID: settings}
    assert isinstance(stored[PLUGIN_ID]["retries"], int)
    assert hooks == []
    resolved = SyncSettings.resolve(stored[PLUGIN_ID], {})
    assert (resolved.plex_url, resolved.retries) == ("http://plex:32400", 3)


def test_configure_plugin_replaces_rather_than_merges(stash: StashEmulator) -> None:
    graphql(stash, CONFIGURE, {"id": PLUGIN_ID, "input": {"plex_url": "http://a:1", "path_map": "/x=/y"}})
    graphql(stash, CONFIGURE, {"id": PLUGIN_ID, "input": {"plex_url": "http://b:2"}})
    stored = graphql(stash, READ, {"ids": [PLUGIN_ID]})["data"]["configuration"]["plugins"]
    assert stored == {PLUGIN_ID: {"plex_url": "http://b:2"}}


def test_configure_plugin_accepts_an_inline_map_and_any_plugin_id(stash: StashEmulator) -> None:
    answer = graphql(stash, 'mutation { configurePlugin(plugin_id: "Other", input: {flag: true, n: 2}) }', {})
    assert answer["data"]["configurePlugin"] == {"flag": True, "n": 2}
    stored = graphql(stash, READ, {"ids": ["Other"]})["data"]["configuration"]["plugins"]
    assert stored == {"Other": {"flag": True, "n": 2}}


def test_configure_plugin_refuses_a_value_that_is_not_a_map(stash: StashEmulator) -> None:
    answer = graphql(stash, CONFIGURE, {"id": PLUGIN_ID, "input": "plex_url=http://a:1"})
    assert answer["data"] is None
    assert answer["errors"][0]["message"] == "string is not a map"
    assert stash.library.plugin_settings == {}


def test_configure_plugin_needs_the_credential_like_any_request(stash: StashEmulator) -> None:
    response = requests.post(
        stash.graphql_url, json={"query": CONFIGURE, "variables": {"id": PLUGIN_ID, "input": {}}}, timeout=10
    )
    assert response.status_code == 401
    assert stash.library.plugin_settings == {}


def test_stashapi_configure_plugin_merges_into_what_is_stored(stash: StashEmulator) -> None:
    client = StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "ApiKey": API_KEY})
    client.configure_plugin(PLUGIN_ID, {"plex_url": "http://plex:32400", "retries": 2})
    answer = client.configure_plugin(PLUGIN_ID, {"retries": 5})
    assert answer == {"plex_url": "http://plex:32400", "retries": 5}
    assert client.find_plugin_config(PLUGIN_ID) == answer
