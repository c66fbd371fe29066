"""PlexSync: Stash scene metadata pushed into the matching Plex items.

The data path, one module per step: :mod:`plexsync.hooks` (Stash hook ->
queue), :mod:`plexsync.queue.instance` and :mod:`plexsync.tasks` (the huey queue and
its tasks), :mod:`plexsync.stash.reader` (Stash read), :mod:`plexsync.sync.mapping`
(Stash -> Plex fields), :mod:`plexsync.plex.writer` (Plex write), and
:mod:`plexsync.dlq` (what finally failed). :mod:`plexsync.queue.lifecycle` ties
the job lifecycle (journal, dead letters, outages) to huey's signals.
"""
