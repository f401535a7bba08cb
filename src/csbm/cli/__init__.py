"""The ``csbm`` command (Typer + Rich): a thin shell around the pure core."""
