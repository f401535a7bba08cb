"""``csbm status [--data DIR] [--json]``: outbox depth, each sent message with its
receipts or whom it still waits for, and the peers' last checkpoints (on a hub: who has
acknowledged each relayed message). The use case is :mod:`csbm.services.status`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.i18n import _


def register(app: typer.Typer) -> None:
    @app.command("status")
    @handles_errors
    def status_command(
        data: Path | None = DATA_OPTION,
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Outbox depth, receipts of sent messages, peers' last checkpoints."""
        from csbm.hub import Hub, is_hub
        from csbm.services.status import hub_status, status

        if is_hub(data):
            with Hub.open(data) as hub:
                hub_doc = hub_status(hub)
            if as_json:
                print_json(hub_doc.to_json())
                return
            console.print(
                _("Hub: {n} node(s), {depth} relay(s) waiting").format(
                    n=len(hub_doc.nodes), depth=hub_doc.outbox_depth
                ),
                highlight=False,
            )
            for m in hub_doc.messages:
                console.print(
                    f"  {m.message_id} {_('from')} {m.sender}: "
                    + _("acknowledged by {acked}; waiting for {waiting}").format(
                        acked=", ".join(m.acknowledged) or "-",
                        waiting=", ".join(m.waiting_for) or "-",
                    ),
                    highlight=False,
                )
            return
        with open_node(data, db) as node:
            doc = status(node)
        if as_json:
            print_json(doc.to_json())
            return
        console.print(
            _("{state}: log size {size}, outbox depth {depth}").format(
                state=doc.state, size=doc.size, depth=doc.outbox_depth
            ),
            highlight=False,
        )
        for sent in doc.sent:
            acked = ", ".join(f"{r.state}#{r.receipt_index}" for r in sent.receipts) or "-"
            console.print(
                f"  {sent.message_id} {sent.type} → {','.join(sent.to)}: "
                + _("receipts {acked}; waiting for {waiting}").format(
                    acked=acked, waiting=", ".join(sent.waiting_for) or "-"
                )
                + (f" ({sent.last_error})" if sent.waiting_for and sent.last_error else ""),
                highlight=False,
            )
        for p in doc.peers:
            seen = "-" if p.last_checkpoint_size is None else str(p.last_checkpoint_size)
            console.print(
                f"  {_('peer')} {p.state} {p.url} {p.fingerprint} "
                + _("last checkpoint size {size}").format(size=seen),
                highlight=False,
            )
