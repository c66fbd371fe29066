"""The worker's life: it starts itself (with Stash's key), holds its lock, beats, publishes its health, keeps time
and cleans up.

A hook process loads parts of this package (:mod:`.autostart`,
:mod:`.health`), so nothing here is imported at package level.
"""
