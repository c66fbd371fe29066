"""The Tasks-page buttons of the manifest and the modes the plugin answers are the same set."""

from __future__ import annotations

import yaml

from plexsync.plugin.tasks import MODES
from tests.support import REPO


def test_every_manifest_task_has_a_mode_and_every_mode_a_task():
    manifest = yaml.safe_load((REPO / "StashPlexSync.yml").read_text())
    modes = [task["defaultArgs"]["mode"] for task in manifest["tasks"]]
    assert sorted(modes) == sorted(MODES)
    assert len(manifest["tasks"]) <= 10  # a short, clear list (issue #16 added Set up PlexSync and Link Plex account)
    names = [task["name"] for task in manifest["tasks"]]
    assert names[:2] == ["Status", "Doctor"]


def test_the_page_operations_never_wait_for_a_set_up():
    """The entry script, before the packages exist, answers the scene page's operations at once
    (it cannot import this module to ask which they are)."""
    from plexsync.environment.entry import PAGE_OPERATIONS
    from plexsync.plugin.tasks import OPERATIONS

    assert set(PAGE_OPERATIONS) == set(OPERATIONS)
