"""The Stash plugin: the stdin/stdout protocol of one invocation and the buttons on Stash's Tasks page.

Every hook process imports this package: it stays empty.
"""
