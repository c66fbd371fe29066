"""Plex side: finding items by file and writing their metadata."""
