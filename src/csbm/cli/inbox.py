"""``csbm inbox [--data DIR] [--json]``: the messages other States sent this node.

The use case is :mod:`csbm.services.inbox`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.i18n import _


def register(app: typer.Typer) -> None:
    @app.command("inbox")
    @handles_errors
    def inbox_command(
        data: Path | None = DATA_OPTION,
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """The messages other States sent this node, in log order."""
        from csbm.services.inbox import inbox

        with open_node(data, db) as node:
            doc = inbox(node)
        if as_json:
            print_json(doc.to_json())
            return
        if not doc.messages:
            console.print(_("No messages received."), highlight=False)
            return
        table = Table(title=_("Inbox of {state}").format(state=doc.state))
        for head in (_("index"), _("received from"), _("created"), _("type"), _("case"),
                     _("message id")):  # fmt: skip
            table.add_column(head)
        for m in doc.messages:
            table.add_row(
                str(m.index), m.sender, m.created_at, m.type, m.case or "", m.message_id
            )
        console.print(table)
