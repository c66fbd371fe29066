"""Stash side: reading scenes, covers and plugin settings over GraphQL."""
