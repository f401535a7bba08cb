"""``csbm deadlines SCENARIO [--at INSTANT] [--json] [--tz ZONE]``: what is owed, soonest first.

The open and overdue deadlines of every procedure at the clock (default: now), in UTC and
in the user's zone (``--tz``, else $TZ, else the system's) — issue 4, item 4. Deadlines
whose number no pack gives ("unknown") and that are not done are listed after them.
The messages come from a scenario file, or — without one — from the node's own log
(``--data`` / ``--db``): the procedure messages it sent and received (csbm.projection).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.cli._time import both, user_zone
from csbm.cli.replay import STATUS_STYLE, parse_clock
from csbm.domain.time import iso, now
from csbm.i18n import _
from csbm.procedures.base import CaseView, Deadline
from csbm.procedures.runner import ReplayResult, replay
from csbm.procedures.scenario import load_scenario
from csbm.projection import events_from_log, node_context


def replay_source(
    scenario: Path | None, data: Path | None, db: str | None, clock: datetime
) -> ReplayResult:
    """Replay a scenario file, or — without one — the procedure messages of the node's log."""
    if scenario is not None:
        loaded = load_scenario(scenario)
        return replay(loaded.events, loaded.context, clock)
    with open_node(data, db) as node:
        events = events_from_log(node)
    return replay(events, node_context(), clock)


def pending(result: ReplayResult) -> list[tuple[CaseView, Deadline]]:
    """Open and overdue deadlines, soonest first; undone unknown ones last."""
    rows: list[tuple[CaseView, Deadline]] = []
    for view in result.cases:
        for d in view.deadlines:
            if (
                d.status == "open"
                or (d.status == "missed" and d.met_at is None)
                or (d.status == "unknown" and d.met_at is None)
            ):
                rows.append((view, d))
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (r[1].due or far, r[0].case, r[1].rule, r[1].owed_by))
    return rows


def _hours(delta_seconds: float) -> float:
    return round(delta_seconds / 3600, 1)


def deadline_row(view: CaseView, d: Deadline, clock: datetime, zone: tzinfo) -> dict[str, Any]:
    overdue = d.status == "missed"
    row: dict[str, Any] = {
        "case": view.case,
        "procedure": view.procedure,
        "rule": d.rule,
        "paragraph": d.paragraph,
        "pack": d.pack,
        "title": d.title,
        "due": iso(d.due) if d.due else None,
        "due_local": d.due.astimezone(zone).isoformat() if d.due else None,
        "status": "overdue" if overdue else d.status,
        "owed_by": list(d.owed_by),
        "owed_to": list(d.owed_to),
        "note": d.note,
    }
    if d.due is not None:
        seconds = (d.due - clock).total_seconds()
        row["hours_left" if seconds >= 0 else "hours_overdue"] = abs(_hours(seconds))
    return row


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
        clock = parse_clock(at) or now()
        result = replay_source(scenario, data, db, clock)
        rows = pending(result)
        if as_json:
            print_json(
                {
                    "at": iso(clock),
                    "zone": str(zone),
                    "deadlines": [deadline_row(v, d, clock, zone) for v, d in rows],
                }
            )
            return
        console.print(_("deadlines as at {at}").format(at=both(clock, zone)))
        if not rows:
            console.print(_("nothing open or overdue"))
            return
        table = Table(show_header=True, header_style="bold", box=None)
        for column in (
            _("due"), _("status"), _("rule"), "¶", _("case"), _("owed by"), _("to"), _("note"),
        ):  # fmt: skip
            table.add_column(column)
        for view, d in rows:
            status = _("overdue") if d.status == "missed" else _(d.status)
            style = STATUS_STYLE.get(d.status, "")
            table.add_row(
                both(d.due, zone),
                f"[{style}]{status}[/{style}]",
                d.rule,
                d.paragraph or "",
                view.case,
                ", ".join(d.owed_by),
                ", ".join(d.owed_to),
                d.note or "",
            )
        console.print(table)
