"""PlexSync's Python packages, set up by the plugin itself inside Stash (issue #16).

A package installed from Stash's *Available Plugins* lands in a Stash whose
Python has none of PlexSync's packages, and no terminal is part of that flow.
So the package ships every runtime dependency that is pure Python as the
wheel files themselves (``wheels/``, pinned with their sha256 in
``requirements.lock``), and the plugin installs them with the standard library
only: a wheel is a zip. The few compiled ones belong to optional features
(Pillow for *Poster shape: portrait*, psycopg2 for ``PLEXSYNC_DATABASE_URL``)
and are installed with pip, hash-pinned (``requirements-optional.lock``), only
when the feature is configured.

The modules, in the order an invocation meets them:

* :mod:`~plexsync.environment.layout`: where everything lives (``.deps/``
  beside the plugin's files, never inside a folder the package writes);
* :mod:`~plexsync.environment.activate`: the entry script's question "is the
  set-up for this lock there?", answered with a few ``stat`` calls (a hook is hot);
* :mod:`~plexsync.environment.entry`: an invocation while it is not: a hook
  records its edit in the inbox and starts the set-up in the background, a
  task runs the set-up in the foreground with Stash's progress bar;
* :mod:`~plexsync.environment.installer`: the set-up itself, one at a time,
  atomic (a half-done set-up is never used), with its progress and outcome in
  a status file the next invocation reports in Stash's log;
* :mod:`~plexsync.environment.inbox`: the edits recorded meanwhile, and their
  take-over into the queue once the packages are there;
* :mod:`~plexsync.environment.features`: the optional compiled packages.

Everything here imports only the standard library (a test checks it): it runs
before the packages exist.
"""
