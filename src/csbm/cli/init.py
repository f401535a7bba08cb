"""``csbm init --state XX [--data DIR] [--db URL] [--json]``: create a node for one State."""

from __future__ import annotations

from pathlib import Path

import typer

from csbm.cli._node import DATA_OPTION, DB_OPTION
from csbm.cli._output import console, handles_errors, print_json
from csbm.domain.time import now
from csbm.i18n import _
from csbm.node import init_node


def register(app: typer.Typer) -> None:
    @app.command("init")
    @handles_errors
    def init_command(
        state: str = typer.Option(..., "--state", help="ISO 3166-1 alpha-2 code of the State."),
        data: Path | None = DATA_OPTION,
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Create a node: data directory, signing key (0600), database, first log entry.

        Set CSBM_KEY_PASSPHRASE to encrypt the signing key with a passphrase.
        """
        node = init_node(state, now(), data, db)
        try:
            key = node.key
            doc = {
                "state": node.state,
                "data": str(node.directory),
                "db": node.config.db_url,
                "origin": node.origin,
                "key_id": key.key_id,
                "public_key": key.verifier_key,
                "fingerprint": key.fingerprint,
                "encrypted": node.config.encrypted,
            }
        finally:
            node.close()
        if as_json:
            print_json(doc)
            return
        console.print(
            _("Initialised a csbm node for {state} in {data}").format(
                state=doc["state"], data=doc["data"]
            ),
            highlight=False,
        )
        console.print(f"  database    {doc['db']}", highlight=False)
        console.print(f"  key id      {doc['key_id']}", highlight=False)
        console.print(f"  public key  {doc['public_key']}", highlight=False)
        console.print(f"  fingerprint {doc['fingerprint']}", highlight=False)
