"""The huey queue: the instance, its crash-safe storage, and the job lifecycle."""
