"""Stash runs this file for every hook firing and task run of the plugin
(``exec`` in StashPlexSync.yml), with the plugin's JSON on stdin.

Stash starts its own configured Python; when the plugin folder has the
virtual environment made by ``python3 run.py setup``, the script switches to
it so the plugin's packages are found without touching Stash's Python.
"""

import json
import os
import sys

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))


def _venv_python() -> str | None:
    venv = os.path.join(PLUGIN_DIR, ".venv")
    for candidate in (os.path.join(venv, "bin", "python"), os.path.join(venv, "Scripts", "python.exe")):
        if os.path.exists(candidate):
            if os.path.realpath(sys.prefix) == os.path.realpath(venv):
                return None  # already running in it
            return candidate
    return None


if __name__ == "__main__":
    venv_python = _venv_python()
    if venv_python:
        os.execv(venv_python, [venv_python, os.path.abspath(__file__)])
    sys.path.insert(0, PLUGIN_DIR)
    try:
        from plexsync.ops.plugin import main
    except ImportError as exc:
        sys.stdout.write(
            json.dumps({"error": f"PlexSync is not set up ({exc}): run 'python3 run.py setup' in {PLUGIN_DIR}"}) + "\n"
        )
        sys.exit(0)
    sys.exit(main())
