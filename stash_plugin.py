"""Stash runs this file for every hook firing and task run of the plugin
(``exec`` in StashPlexSync.yml), with the plugin's JSON on stdin.

Stash starts its own configured Python. Where the packages come from, first found:

* the virtual environment ``.venv`` made by ``python3 run.py setup`` (a
  developer, or a user who runs the worker himself): the script switches to it;
* the set-up the plugin makes itself from the wheels its package ships
  (``.deps/``, :mod:`plexsync.environment`): put on the path; when it is
  missing or made for another lock, the invocation sets it up first (a hook
  in the background, keeping its edit; a task in the foreground);
* Stash's own Python (a git checkout without ``.venv``): as it is.

Stash's Python may be old (3.9 still ships in some images), so this one file
is written for any Python 3 (no annotations, f-strings or newer syntax): it
must get far enough to say, in one line, what is missing.
"""
# ruff: noqa: UP031  (%-formatting: what every Python 3 parses)

import json
import os
import sys

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(PLUGIN_DIR, ".venv")
NEEDED = (3, 11)


def _venv_python():
    for candidate in (os.path.join(VENV, "bin", "python"), os.path.join(VENV, "Scripts", "python.exe")):
        if os.path.exists(candidate):
            return candidate
    return None


def _in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def _answer_error(message):
    sys.stdout.write(json.dumps({"error": "PlexSync: " + message}) + "\n")
    sys.stdout.flush()
    return 0


def _not_set_up(detail):
    advice = "run `python3 run.py setup` in %s (with Python %d.%d or newer)" % (PLUGIN_DIR, NEEDED[0], NEEDED[1])
    return detail + ": " + advice


def _too_old():
    version = "%d.%d" % sys.version_info[:2]
    return (
        "Stash's Python %s (%s) is too old: PlexSync needs Python %d.%d or newer; set Stash's "
        "Settings > System > Python executable path to one, or run `python3 run.py setup` in %s with one"
        % (version, sys.executable, NEEDED[0], NEEDED[1], PLUGIN_DIR)
    )


def _main():
    venv_python = _venv_python()
    if venv_python and not _in_venv():
        try:
            os.execv(venv_python, [venv_python, os.path.abspath(__file__)])
        except OSError as exc:
            return _answer_error(_not_set_up("its environment %s cannot start (%s)" % (venv_python, exc.strerror)))
    if sys.version_info < NEEDED:
        return _answer_error(_too_old())
    sys.path.insert(0, PLUGIN_DIR)
    if not _in_venv():
        from plexsync.environment.activate import NEEDED as SET_UP_FIRST
        from plexsync.environment.activate import activate

        try:
            found = activate(PLUGIN_DIR)
        except (OSError, ValueError) as exc:
            return _answer_error("its set-up in %s cannot be read (%s)" % (os.path.join(PLUGIN_DIR, ".deps"), exc))
        if found == SET_UP_FIRST:
            from plexsync.environment.entry import main as set_up_then_run

            return set_up_then_run()
    try:
        from plexsync.plugin.protocol import main
    except ImportError as exc:
        return _answer_error(_not_set_up("not set up (%s is not installed)" % (getattr(exc, "name", None) or exc)))
    return main()


if __name__ == "__main__":
    sys.exit(_main())
