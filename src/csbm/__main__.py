"""``python -m csbm`` runs the command line."""

from csbm.cli.main import main

main()
