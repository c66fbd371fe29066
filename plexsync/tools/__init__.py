"""What a user runs by hand: the ``plexsync`` command and the reports it shares with Stash's tasks."""
