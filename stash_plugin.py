"""Stash runs this file for every hook firing and task run of the plugin
(``exec`` in StashPlexSync.yml), with the plugin's JSON on stdin.

Stash starts its own configured Python; when the plugin folder has the
virtual environment made by ``python3 run.py setup``, the script switches to
it so the plugin's packages are found without touching Stash's Python.

Stash's Python may be old (3.9 still ships in some images), so this one file
is written for any Python 3 (no annotations, f-strings or newer syntax): it
must get far enough to say, in one line, what is missing.
"""
# ruff: noqa: UP031  (%-formatting: what every Python 3 parses)

import json
import os
import sys

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
NEEDED = (3, 11)


def _venv_python():
    venv = os.path.join(PLUGIN_DIR, ".venv")
    for candidate in (os.path.join(venv, "bin", "python"), os.path.join(venv, "Scripts", "python.exe")):
        if os.path.exists(candidate):
            if os.path.realpath(sys.prefix) == os.path.realpath(venv):
                return None  # already running in it
            return candidate
    return None


def _answer_error(message):
    sys.stdout.write(json.dumps({"error": "PlexSync: " + message}) + "\n")
    sys.stdout.flush()
    return 0


def _not_set_up(detail):
    advice = "run `python3 run.py setup` in %s (with Python %d.%d or newer)" % (PLUGIN_DIR, NEEDED[0], NEEDED[1])
    return detail + ": " + advice


def _main():
    venv_python = _venv_python()
    if venv_python:
        try:
            os.execv(venv_python, [venv_python, os.path.abspath(__file__)])
        except OSError as exc:
            return _answer_error(_not_set_up("its environment %s cannot start (%s)" % (venv_python, exc.strerror)))
    if sys.version_info < NEEDED:
        version = "%d.%d" % sys.version_info[:2]
        return _answer_error(_not_set_up("not set up, and Stash's Python %s is too old to run it" % version))
    sys.path.insert(0, PLUGIN_DIR)
    try:
        from plexsync.plugin.protocol import main
    except ImportError as exc:
        return _answer_error(_not_set_up("not set up (%s is not installed)" % (getattr(exc, "name", None) or exc)))
    return main()


if __name__ == "__main__":
    sys.exit(_main())
