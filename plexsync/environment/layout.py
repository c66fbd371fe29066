"""Where the set-up keeps its files, relative to the plugin folder.

``.deps/`` sits beside the plugin's files. Stash's package manager deletes,
on an upgrade or an uninstall, exactly the files its zip held
(``pkg/pkg/manager.go``: ``deletePackageFiles``), so ``.deps/`` and ``data/``
(the queue, the dead letters, the inbox) survive both, and a new package
version finds the previous set-up next to its own. Nothing under ``.deps/`` is
a ``.yml`` file: Stash loads every ``*.yml`` below its plugins folder as a
plugin manifest (``pkg/plugin/plugins.go``).

* ``.deps/<digest>/``: the pure-Python packages of one lock (the first 16 hex
  digits of the sha256 of both lock files), renamed into place complete;
* ``.deps/<digest>-<feature>-<interpreter>/``: an optional feature's compiled
  package for one interpreter (``cpython-311-linux``), as pip installed it;
* ``.deps/setup.lock``: held by the one process setting up;
* ``.deps/status.json``: the running set-up's progress, then its outcome until
  an invocation has reported it in Stash's log.
"""

from __future__ import annotations

import os
import sys

DEPS = ".deps"
WHEELS = "wheels"
LOCK_FILES = ("requirements.lock", "requirements-optional.lock")
STATUS = "status.json"
SETUP_LOCK = "setup.lock"
#: Set by the entry script for every process it starts (a worker, a set-up): the lock digest of the
#: packages on its path, so a worker can tell that the plugin was upgraded under it.
ENV_DIGEST = "_PLEXSYNC_DEPS_DIGEST"


def deps_root(plugin_dir: str) -> str:
    return os.path.join(plugin_dir, DEPS)


def wheels_dir(plugin_dir: str) -> str:
    return os.path.join(plugin_dir, WHEELS)


def target(plugin_dir: str, digest: str) -> str:
    return os.path.join(plugin_dir, DEPS, digest)


def interpreter_tag() -> str:
    """What a compiled package depends on: the interpreter and its ABI (``cpython-311``) and the OS."""
    return f"{sys.implementation.cache_tag}-{sys.platform}"


def feature_target(plugin_dir: str, digest: str, feature: str) -> str:
    return os.path.join(plugin_dir, DEPS, f"{digest}-{feature}-{interpreter_tag()}")


def status_path(plugin_dir: str) -> str:
    return os.path.join(plugin_dir, DEPS, STATUS)


def setup_lock_path(plugin_dir: str) -> str:
    return os.path.join(plugin_dir, DEPS, SETUP_LOCK)
