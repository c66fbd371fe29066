"""Build PlexSync's plugin source: the ``index.yml`` Stash's package manager reads, and the package zip.

``python3 run.py package DIR`` (or ``.venv/bin/python -m plugin_source DIR``).
What goes into the zip is decided by a rule (:mod:`plugin_source.contents`),
the wheels it ships are downloaded and checked against ``requirements.lock``
(:mod:`plugin_source.wheels`), and the same tree builds the same bytes
(:mod:`plugin_source.archive`, :mod:`plugin_source.index`). How the result is
published and added to Stash: docs/install.md. This folder is a build tool,
not part of the package.
"""
