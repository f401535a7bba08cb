"""``csbm replay SCENARIO [--at INSTANT] [--json] [--tz ZONE] [--schemas]``.

Runs a scenario's timeline of messages through the procedures (``csbm.procedures``) and
shows every case at the clock: its state, parties, deadlines, history, and the findings
and quotas (issue 4, item 3). Without ``--json`` a Rich timeline.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import typer
from rich.table import Table

from csbm.cli._output import console, handles_errors, print_json
from csbm.cli._time import both, user_zone
from csbm.domain.time import InstantError, parse_instant
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.procedures.registry import message_schemas
from csbm.procedures.runner import ReplayResult, replay, result_json
from csbm.procedures.scenario import Scenario, load_scenario

STATUS_STYLE = {
    "met": "green",
    "missed": "bold red",
    "open": "yellow",
    "unknown": "magenta",
    "waived": "dim",
}


def parse_clock(value: str | None, option: str = "--at") -> datetime | None:
    """The instant of ``--at``; None when not given."""
    if value is None:
        return None
    try:
        return parse_instant(value).at
    except InstantError as exc:
        raise InputError(f"bad {option}", [Problem(option, str(exc), value)]) from None


def run_scenario(file: Path, at: str | None) -> tuple[Scenario, ReplayResult]:
    """Load ``file`` and replay it at ``--at`` (default: its last event)."""
    clock = parse_clock(at)
    scenario = load_scenario(file)
    return scenario, replay(scenario.events, scenario.context, clock)


def _print_timeline(scenario: Scenario, result: ReplayResult, zone: tzinfo) -> None:
    title = scenario.title or "scenario"
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
        timeline.add_column(_("message"))
        timeline.add_column(_("from → to"))
        timeline.add_column("")
        for h in view.history:
            verdict = "[green]accepted[/green]" if h.accepted else f"[red]refused[/red]: {h.reason}"
            timeline.add_row(
                both(h.at, zone), h.type, f"{h.sender} → {', '.join(h.recipients)}", verdict
            )
        console.print(timeline)
        if view.deadlines:
            table = Table(show_header=True, header_style="bold", box=None)
            for column in (
                _("rule"),
                "¶",
                _("due"),
                _("status"),
                _("done"),
                _("owed by"),
                _("note"),
            ):
                table.add_column(column)
            for d in view.deadlines:
                style = STATUS_STYLE.get(d.status, "")
                table.add_row(
                    d.rule,
                    d.paragraph or "",
                    both(d.due, zone),
                    f"[{style}]{_(d.status)}[/{style}]" if style else _(d.status),
                    both(d.met_at, zone) if d.met_at else "",
                    ", ".join(d.owed_by),
                    d.note or "",
                )
            console.print(table)
    if result.quotas:
        console.print()
        table = Table(title="quotas", show_header=True, header_style="bold", box=None)
        for column in (
            _("rule"), _("State"), _("year"), _("from"), _("used"), _("limit"), _("remaining"),
            _("note"),
        ):  # fmt: skip
            table.add_column(column)
        for q in result.quotas:
            table.add_row(
                q.rule,
                q.state,
                str(q.year),
                q.counterpart or "",
                str(q.used),
                "?" if q.limit is None else str(q.limit),
                "?" if q.remaining is None else str(q.remaining),
                q.note or "",
            )
        console.print(table)
    if result.findings:
        console.print()
        console.print("[bold]" + _("findings") + "[/bold]")
        for f in result.findings:
            console.print(f"  [yellow]{f.kind}[/yellow] {f.case or ''}: ", end="")
            console.print(f.message, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("replay")
    @handles_errors
    def replay_command(
        scenario: Path | None = typer.Argument(
            None, help="YAML or JSON: {regime: [packs], events: [{at, type, from, to, case, body}]}"
        ),
        at: str | None = typer.Option(
            None, "--at", help="Show the procedures at this instant (default: the last event)."
        ),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
        tz: str | None = typer.Option(None, "--tz", help="Show times in this zone as well as UTC."),
        schemas: bool = typer.Option(
            False, "--schemas", help="Print the JSON schema of every message kind and exit."
        ),
    ) -> None:
        """Run a timeline of messages through the procedures; show cases and deadlines."""
        if schemas:
            print_json(message_schemas())
            return
        if scenario is None:
            raise InputError(
                "a scenario file is required",
                [Problem("SCENARIO", "give a scenario file (or --schemas)")],
            )
        zone = user_zone(tz)
        loaded, result = run_scenario(scenario, at)
        if as_json:
            print_json(result_json(result))
        else:
            _print_timeline(loaded, result, zone)
