"""Compiled bytecode for the plugin's own modules, so hooks do not compile them.

Stash runs a fresh hook process for every scene it saves (issue #9). Where
``PYTHONDONTWRITEBYTECODE`` is set (many container images set it), Python
never writes ``__pycache__``, so every hook process compiles every plugin
module it imports, again: a third of a hook's own time. The variable only
stops Python from *writing* bytecode; it still *reads* bytecode that is
there. So ``python3 run.py setup`` and every worker at start compile the
plugin package into ``__pycache__`` (``compileall`` writes whatever the
variable says; it skips files that are up to date, so a worker's start pays
a few milliseconds of ``stat`` calls). A ``git pull`` makes a file newer than
its bytecode: Python then compiles it in memory as before, until the next
worker start or setup writes it anew. A read-only plugin folder just keeps
the old behaviour.
"""

from __future__ import annotations

import os

from plexsync.hookenv import PLUGIN_DIR


def compile_plugin(plugin_dir: str = PLUGIN_DIR) -> bool:
    """Write bytecode for every module of the ``plexsync`` package; False when some could not be."""
    import compileall

    return bool(compileall.compile_dir(os.path.join(plugin_dir, "plexsync"), quiet=2))


if __name__ == "__main__":  # run.py setup
    raise SystemExit(0 if compile_plugin() else 1)
