"""Options and helpers shared by the ledger commands: --data, --db, opening the node."""

from __future__ import annotations

from pathlib import Path

import typer

from csbm.node import Node

DATA_OPTION = typer.Option(
    None, "--data", help="The node's data directory (default: $CSBM_DATA, else ./.csbm)."
)
DB_OPTION = typer.Option(
    None, "--db", help="Database URL (default: the one in the data directory's config)."
)


def open_node(data: Path | None, db: str | None) -> Node:
    return Node.open(data, db)
