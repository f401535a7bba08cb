"""``csbm send FILE [--data DIR] [--json]``: sign, log and queue one message.

FILE holds one message in the scenario-event form -- ``type``, ``to``, ``case``, ``body``
(the node fills in sender and time) -- validated by the same schemas as ``csbm replay``.
The message is logged and queued in one commit and its message id printed; the node's
``csbm serve`` delivers it and logs the receipt. The use case is
:mod:`csbm.services.send`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import handles_errors, print_json
from csbm.domain.time import now


def register(app: typer.Typer) -> None:
    @app.command("send")
    @handles_errors
    def send_command(
        file: Path = typer.Argument(..., help="A message: type, to, case, body (YAML or JSON)."),
        data: Path | None = DATA_OPTION,
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Sign, log and queue a message for delivery; print its message id."""
        from csbm.reader import read_document
        from csbm.services.send import send_data

        document = read_document(file, max_bytes=1024 * 1024)
        with open_node(data, db) as node:
            sent = send_data(node, document, now())
        if as_json:
            print_json(sent.to_json())
            return
        typer.echo(sent.message_id)
