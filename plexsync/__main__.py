from plexsync.ops.cli import main

main(prog_name="python -m plexsync")
