"""State shared by the workers and Stash (peewee): attempts, outages, what was written into Plex.

db.py says where it lives.
"""
