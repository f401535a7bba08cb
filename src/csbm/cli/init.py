"""``csbm init --state XX [--data DIR] [--db URL] [--json]``: create a node for one State."""

from __future__ import annotations

from pathlib import Path

import typer

from csbm.cli._node import DATA_OPTION, DB_OPTION
from csbm.cli._output import console, fail, handles_errors, print_json
from csbm.domain.time import now
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.node import init_node


def register(app: typer.Typer) -> None:
    @app.command("init")
    @handles_errors
    def init_command(
        state: str | None = typer.Option(
            None, "--state", help="ISO 3166-1 alpha-2 code of the State."
        ),
        hub: bool = typer.Option(
            False, "--hub", help="Make the network's hub (relays messages to all) instead."
        ),
        data: Path | None = DATA_OPTION,
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Create a node: data directory, signing key (0600), database, first log entry.

        Set CSBM_KEY_PASSPHRASE to encrypt the signing key with a passphrase. With --hub,
        the network's hub: it relays messages to all participating States.
        """
        if hub:
            _init_hub(state, data, db, as_json)
            return
        if state is None:
            fail(
                InputError(
                    "missing --state", [Problem("--state", "required (or --hub for a hub)")]
                )
            )
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


def _init_hub(state: str | None, data: Path | None, db: str | None, as_json: bool) -> None:
    """``csbm init --hub``: the hub's data directory, request-signing key and database."""
    from csbm.hub import init_hub

    if state is not None:
        fail(InputError("a hub has no State", [Problem("--state", "not with --hub", state)]))
    hub = init_hub(now(), data, db)
    try:
        doc = {
            "hub": True,
            "data": str(hub.directory),
            "db": hub.config.db_url,
            "key_id": hub.key.key_id,
            "public_key": hub.key.verifier_key,
            "fingerprint": hub.key.fingerprint,
        }
    finally:
        hub.close()
    if as_json:
        print_json(doc)
        return
    console.print(_("Initialised a csbm hub in {data}").format(data=doc["data"]), highlight=False)
    console.print(f"  database    {doc['db']}", highlight=False)
    console.print(f"  public key  {doc['public_key']}", highlight=False)
    console.print(f"  fingerprint {doc['fingerprint']}", highlight=False)
