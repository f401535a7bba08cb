"""``csbm replay [SCENARIO] [--data DIR] [--db URL] [--at INSTANT] [--json] [--tz ZONE]``.

Runs a scenario's timeline of messages — or, without one, the messages of the node's own
log — through the procedures (``csbm.services.replay``) and shows every case at the clock:
its state, parties, deadlines, history, and the findings and quotas (issue 4, item 3), and
the logged messages a schema refuses, with the reason (issue 9). Without ``--json`` a Rich
timeline. ``--schemas`` prints the JSON schema of every message kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from csbm.cli._output import handles_errors, print_json, streamed_utf8
from csbm.cli._time import both, user_zone
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.message import schemas as message_schemas
from csbm.procedures.runner import ReplayResult
from csbm.services.clock import parse_clock
from csbm.services.documents import RefusedEntry
from csbm.services.replay import replay_source

if TYPE_CHECKING:
    from csbm.node import Node

STATUS_STYLE = {
    "met": "green",
    "missed": "bold red",
    "open": "yellow",
    "unknown": "magenta",
    "waived": "dim",
}


def print_refused(refused: Sequence[RefusedEntry]) -> None:
    """The log entries a schema refuses: one line each, with the reason."""
    if not refused:
        return
    from csbm.cli._output import console  # Rich: imported only to print, never for --json

    console.print()
    console.print("[bold red]" + _("refused log entries") + "[/bold red]")
    for r in refused:
        console.print(
            _("log[{index}] {kind} from {sender} ({id}): refused: {reason}").format(
                index=r.index, kind=r.kind, sender=r.sender, id=r.message_id, reason=r.reason
            ),
            markup=False,
            highlight=False,
        )


def _print_timeline(title: str | None, result: ReplayResult, zone: tzinfo) -> None:
    from rich.markup import escape  # Rich: imported only to print, never for --json
    from rich.table import Table

    from csbm.cli._output import console

    title = title or "scenario"
    console.print(
        _("[bold]{title}[/bold] — as at {at}").format(title=title, at=both(result.at, zone))
    )
    if not result.cases:
        console.print(_("no procedure has a message at or before this instant"))
    for view in result.cases:
        parties = "; ".join(
            f"{role}: {', '.join(codes) or '—'}" for role, codes in view.parties.items()
        )
        console.print()
        console.rule(f"[bold]{view.case}[/bold] · {view.procedure} · [cyan]{view.state}[/cyan]")
        console.print(parties, markup=False)
        timeline = Table(show_header=True, header_style="bold", box=None)
        timeline.add_column(_("when"))
        timeline.add_column(_("message"), no_wrap=True)
        timeline.add_column(_("from → to"), overflow="fold")
        timeline.add_column("", overflow="fold")
        for h in view.history:
            verdict = (
                "[green]" + _("accepted") + "[/green]"
                if h.accepted
                else "[red]" + _("refused") + "[/red]: " + escape(_(h.reason or ""))
            )
            timeline.add_row(
                both(h.at, zone), h.type, f"{h.sender} → {', '.join(h.recipients)}", verdict
            )
        console.print(timeline)
        if view.deadlines:
            table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            # Codes whole (rule, paragraph); words never cut: a long one folds, prose wraps.
            longest = max(len(d.rule) for d in view.deadlines)
            table.add_column(_("rule"), no_wrap=True, min_width=max(longest, len(_("rule"))))
            # An instant wraps before its zone ("2022-02-11 10:00" / "UTC (12:00 EET)").
            table.add_column(_("due"), max_width=17)
            table.add_column(_("status"), max_width=17)
            owed_word = max(
                (len(w) for d in view.deadlines for w in ", ".join(d.owed_by).split()), default=8
            )
            table.add_column(_("owed by"), overflow="fold", min_width=min(owed_word, 24))
            for d in view.deadlines:
                style = STATUS_STYLE.get(d.status, "")
                paragraph = f"\n[dim]¶{d.paragraph}[/dim]" if d.paragraph else ""
                note = f"\n[dim]{escape(_(d.note))}[/dim]" if d.note else ""
                table.add_row(
                    d.rule + paragraph,
                    both(d.due, zone),
                    (f"[{style}]{_(d.status)}[/{style}]" if style else _(d.status))
                    + (f"\n{both(d.met_at, zone)}" if d.met_at else ""),  # done at
                    escape(", ".join(d.owed_by)) + note,
                )
            console.print(table)
    if result.quotas:
        console.print()
        table = Table(title="quotas", show_header=True, header_style="bold", box=None)
        for column in (
            _("rule"), _("State"), _("year"), _("from"), _("used"), _("limit"), _("remaining"),
            _("note"),
        ):  # fmt: skip
            table.add_column(column, overflow="fold")
        for q in result.quotas:
            table.add_row(
                q.rule,
                q.state,
                str(q.year),
                q.counterpart or "",
                str(q.used),
                "?" if q.limit is None else str(q.limit),
                "?" if q.remaining is None else str(q.remaining),
                _(q.note) if q.note else "",
            )
        console.print(table)
    if result.findings:
        console.print()
        console.print("[bold]" + _("findings") + "[/bold]")
        for f in result.findings:
            where = f"{f.rule} ¶{f.paragraph} " if f.rule and f.paragraph else ""
            console.print(f"  [yellow]{f.kind}[/yellow] {where}{f.case or ''}: ", end="",
                          markup=True, highlight=False)
            console.print(_(f.message), markup=False, highlight=False)


def _open_node(data: Path | None, db: str | None) -> Node:
    """The node of ``--data``/``--db`` (its store, SQLAlchemy, imported only for a log)."""
    from csbm.cli._node import open_node

    return open_node(data, db)


def register(app: typer.Typer) -> None:
    @app.command("replay")
    @handles_errors
    def replay_command(
        scenario: Path | None = typer.Argument(
            None,
            help="YAML or JSON: {regime: [packs], events: [{at, type, from, to, case, body}]}; "
            "without it, the node's own log (--data, --db).",
        ),
        data: Path | None = typer.Option(
            None,
            "--data",
            help="Without SCENARIO: the node's data directory (default: $CSBM_DATA, else ./.csbm).",
        ),
        db: str | None = typer.Option(None, "--db", help="Without SCENARIO: the database URL."),
        at: str | None = typer.Option(
            None, "--at", help="Show the procedures at this instant (default: the last event)."
        ),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
        tz: str | None = typer.Option(None, "--tz", help="Show times in this zone as well as UTC."),
        schemas: bool = typer.Option(
            False,
            "--schemas",
            help="Print the JSON schema of the message form and of every kind's body, and exit.",
        ),
    ) -> None:
        """Run a timeline of messages (a scenario, or the node's log) through the procedures;
        show cases and deadlines, and any logged message a schema refuses."""
        if schemas:
            print_json(message_schemas())
            return
        if scenario is not None and (data is not None or db is not None):
            raise InputError(
                "a scenario or a node, not both",
                [Problem("SCENARIO", "give a scenario file, or --data/--db for a node's log")],
            )
        zone = user_zone(tz)
        clock = parse_clock(at, "--at")
        replayed = replay_source(scenario, lambda: _open_node(data, db), clock)
        if as_json:
            streamed_utf8(replayed.json_chunks())
            return
        title = replayed.scenario.title if replayed.scenario else _("this node's log")
        _print_timeline(title, replayed.result, zone)
        print_refused(replayed.refused)
