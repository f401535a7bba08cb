"""``csbm deadlines [SCENARIO] [--at INSTANT] [--json] [--tz ZONE]``: what is owed, soonest first.

The open and overdue deadlines of every procedure at the clock (default: now, to the
second), in UTC and in the user's zone (``--tz``, else $TZ, else the system's) — issue 4,
item 4. Deadlines whose number no pack gives ("unknown") and that are not done are listed
after them. The messages come from a scenario file, or — without one — from the node's own
log (``--data`` / ``--db``), where a logged message a schema refuses is shown as refused,
with its reason. The use case is :mod:`csbm.services.deadlines`; this is its shell.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.cli._time import both, user_zone
from csbm.cli.replay import STATUS_STYLE, print_refused
from csbm.i18n import _
from csbm.services.clock import clock_or_now
from csbm.services.deadlines import assessment_findings, deadlines, pending
from csbm.services.replay import replay_source


def register(app: typer.Typer) -> None:
    @app.command("deadlines")
    @handles_errors
    def deadlines_command(
        scenario: Path | None = typer.Argument(
            None, help="A scenario file (see csbm replay); default: this node's log."
        ),
        data: Path | None = DATA_OPTION,
        db: str | None = DB_OPTION,
        at: str | None = typer.Option(None, "--at", help="The clock (default: now)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
        tz: str | None = typer.Option(
            None, "--tz", help="Your zone (default: $TZ or the system's)."
        ),
    ) -> None:
        """Open and overdue deadlines, soonest first, in UTC and in your zone."""
        zone = user_zone(tz)
        clock = clock_or_now(at, "--at")
        replayed = replay_source(scenario, lambda: open_node(data, db), clock)
        if as_json:
            print_json(deadlines(replayed, clock, zone))
            return
        rows = pending(replayed.result)
        console.print(_("deadlines as at {at}").format(at=both(clock, zone)))
        if not rows:
            console.print(_("nothing open or overdue"))
        else:
            table = Table(show_header=True, header_style="bold", box=None)
            # Codes are never cut (rule ids, paragraphs, case labels, State codes); dates and
            # notes wrap between words, so the table fits 80 columns.
            longest = max(len(d.rule) for _v, d in rows)
            table.add_column(_("due"))
            table.add_column(_("status"))
            table.add_column(_("rule"), no_wrap=True, min_width=max(longest, len(_("rule"))))
            table.add_column(_("case"), no_wrap=True)
            table.add_column(_("owed by → to"), min_width=12)
            for view, d in rows:
                status = _("overdue") if d.status == "missed" else _(d.status)
                style = STATUS_STYLE.get(d.status, "")
                paragraph = f"\n[dim]¶{d.paragraph}[/dim]" if d.paragraph else ""
                note = f"\n[dim]{escape(_(d.note))}[/dim]" if d.note else ""
                table.add_row(
                    both(d.due, zone),
                    f"[{style}]{status}[/{style}]",
                    d.rule + paragraph,
                    escape(view.case),
                    f"{', '.join(d.owed_by)} → {', '.join(d.owed_to)}" + note,
                )
            console.print(table)
        findings = assessment_findings(replayed.result)
        if findings:
            console.print()
            console.print("[bold]" + _("findings of the activities notified") + "[/bold]")
            for f in findings:
                para = f" ¶{f.paragraph}" if f.paragraph else ""
                console.print(f"  {_(f.kind.replace('_', ' '))} {f.rule or ''}{para} "
                              f"{f.case or ''}: {_(f.message)}", markup=False, highlight=False)
        print_refused(replayed.refused)
