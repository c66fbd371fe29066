"""One scene's sync: the pure mapping, the orchestration, and the worker's task bodies."""
