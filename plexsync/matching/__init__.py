"""Matching Stash files to Plex items: path rules."""
