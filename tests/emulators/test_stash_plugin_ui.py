"""The Stash emulator's plugin UI surface, as Stash (cf3489e) has it: the
``plugins`` query the UI loads plugins with, ``/plugin/{id}/javascript|css``
(local files concatenated, a newline after each), ``/plugin/{id}/assets``, and
``runPluginOperation`` (the plugin run once with ``args`` as given; its
``output`` the answer, its ``error`` the GraphQL error)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import requests

from emulators.plugin_host import PluginHost
from emulators.stash import StashEmulator

API_KEY = "ui-test-key"
ECHO = Path(__file__).parent / "plugins" / "echo" / "echo.py"


@pytest.fixture
def host(stash: StashEmulator, tmp_path: Path) -> PluginHost:
    folder = tmp_path / "plugins" / "Painter"
    (folder / "images").mkdir(parents=True)
    shutil.copy(ECHO, folder / "echo.py")
    (folder / "a.js").write_text("window.a = 1;")
    (folder / "b.js").write_text("window.b = 2;")
    (folder / "a.css").write_text(".a { color: red; }")
    (folder / "images" / "dot.svg").write_text("<svg/>")
    (folder / "Painter.yml").write_text(
        textwrap.dedent(
            """\
            name: Painter
            exec: [python, "{pluginDir}/echo.py"]
            interface: raw
            ui:
              requires: [Base]
              javascript: [a.js, https://cdn.invalid/lib.js, b.js, missing.js]
              css: [a.css]
              assets:
                /img: images
            """
        )
    )
    plugin = PluginHost(folder, stash)
    plugin.attach()
    return plugin


def gql(stash: StashEmulator, query: str, variables: dict | None = None) -> dict:
    answer = requests.post(
        stash.graphql_url, json={"query": query, "variables": variables or {}}, headers={"ApiKey": API_KEY}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def get(stash: StashEmulator, path: str) -> requests.Response:
    return requests.get(stash.url + path, headers={"ApiKey": API_KEY}, timeout=10)


def test_the_ui_lists_the_attached_plugin_with_the_urls_of_its_files(stash: StashEmulator, host: PluginHost):
    plugins = gql(stash, "{ plugins { id name enabled requires paths { javascript css } } }")["data"]["plugins"]
    assert plugins == [
        {
            "id": "Painter",
            "name": "Painter",
            "enabled": True,
            "requires": ["Base"],
            "paths": {
                "javascript": ["https://cdn.invalid/lib.js", f"{stash.url}/plugin/Painter/javascript"],
                "css": [f"{stash.url}/plugin/Painter/css"],
            },
        }
    ]
    host.detach()
    assert gql(stash, "{ plugins { id } }")["data"]["plugins"] == []


def test_local_files_are_served_concatenated_and_assets_from_their_folder(stash: StashEmulator, host: PluginHost):
    javascript = get(stash, "/plugin/Painter/javascript")
    assert javascript.headers["Content-Type"] == "text/javascript"
    assert javascript.text == "window.a = 1;\nwindow.b = 2;\n\n"  # the missing file leaves its newline
    assert get(stash, "/plugin/Painter/css").text == ".a { color: red; }\n"
    assert get(stash, "/plugin/Painter/assets/img/dot.svg").text == "<svg/>"
    assert get(stash, "/plugin/Painter/assets/img/../Painter.yml").status_code == 404
    assert get(stash, "/plugin/Other/javascript").status_code == 404
    anonymous = requests.get(stash.url + "/plugin/Painter/javascript", timeout=10, allow_redirects=False)
    assert anonymous.status_code == 302  # to the login page first


def test_run_plugin_operation_runs_the_plugin_once_with_the_args_as_given(stash: StashEmulator, host: PluginHost):
    mutation = "mutation($args: Map) { runPluginOperation(plugin_id: %s, args: $args) }"
    answer = gql(stash, mutation % '"Painter"', {"args": {"mode": "echo", "scene_id": "7"}})
    output = answer["data"]["runPluginOperation"]
    assert output["stdin"]["args"] == {"mode": "echo", "scene_id": "7"}  # no task, no default args
    assert output["stdin"]["server_connection"]["SessionCookie"]["Name"] == "session"
    assert [i.kind for i in host.invocations] == ["operation"]

    failed = gql(stash, mutation % '"Painter"', {"args": {"mode": "error"}})
    assert failed["data"]["runPluginOperation"] is None
    assert failed["errors"][0]["message"] == "the plugin failed on purpose"
    assert gql(stash, mutation % '"Painter"', {"args": {"mode": "raw"}})["data"]["runPluginOperation"] == (
        "this is not JSON\n"
    )
    unknown = gql(stash, mutation % '"Nobody"', {"args": {}})
    assert unknown["errors"][0]["message"] == "plugin Nobody not found"
