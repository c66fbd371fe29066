"""Local state shared by the workers (peewee): attempts, outages, posters."""
