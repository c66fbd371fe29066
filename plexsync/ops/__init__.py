"""Operating PlexSync: the Stash plugin protocol and buttons, the CLI, logs, cleanup."""
