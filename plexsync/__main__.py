from plexsync.tools.cli import main

main(prog_name="python -m plexsync")
