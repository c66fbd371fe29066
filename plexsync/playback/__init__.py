"""The way back: plays, resume points and ratings made in Plex, copied into Stash."""
