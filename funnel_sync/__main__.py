"""`python -m funnel_sync` runs the command line."""

from funnel_sync.cli import main

main()
