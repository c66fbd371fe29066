"""State shared by the workers and Stash (peewee): attempts, outages, posters; db.py says where it lives."""
