"""``csbm export ical SCENARIO [--at INSTANT] [-o FILE]``: deadlines for an ordinary calendar.

An RFC 5545 calendar (written with ``icalendar``) with one VEVENT per open or overdue
deadline whose due instant is known: the event starts at the due instant (UTC), carries
the rule, paragraph, case and who owes whom, and has a stable UID — the same deadline
gets the same UID in every export, so a calendar that subscribes updates it in place
(RFC 5545 §3.8.4.7). DTSTAMP is the clock of the export, not the wall time, so the same
input gives the same file.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime, timedelta
from pathlib import Path

import typer
from icalendar import Calendar, Event

from csbm import __version__
from csbm.cli._node import DATA_OPTION, DB_OPTION
from csbm.cli._output import console, handles_errors
from csbm.cli.deadlines import pending, replay_source
from csbm.cli.replay import parse_clock
from csbm.domain.time import now
from csbm.procedures.base import CaseView, Deadline
from csbm.procedures.runner import ReplayResult

export_app = typer.Typer(help="Export deadlines and data (ical).", no_args_is_help=True)


def deadline_uid(view: CaseView, d: Deadline) -> str:
    """A UID that names the obligation, not its current due time."""
    key = "|".join([view.procedure, view.case, d.rule, ",".join(d.owed_by), d.note or ""])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + "@csbm"


def calendar(result: ReplayResult, clock: datetime) -> Calendar:
    """The calendar of the open and overdue deadlines of ``result``."""
    cal = Calendar()
    cal.add("prodid", f"-//csbm//csbm {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "CSBM deadlines")
    for view, d in pending(result):
        if d.due is None:
            continue
        event = Event()
        event.add("uid", deadline_uid(view, d))
        event.add("dtstamp", clock)
        event.add("dtstart", d.due)
        event.add("dtend", d.due + timedelta(minutes=15))
        para = f" ¶{d.paragraph}" if d.paragraph else ""
        overdue = "OVERDUE " if d.status == "missed" else ""
        event.add("summary", f"{overdue}{d.rule}{para}: {', '.join(d.owed_by)} — {view.case}")
        lines = [
            d.title or d.rule,
            f"case: {view.case} ({view.procedure}, {view.state})",
            f"owed by: {', '.join(d.owed_by)}; to: {', '.join(d.owed_to)}",
            f"rule pack: {d.pack}" if d.pack else "",
            d.note or "",
        ]
        event.add("description", "\n".join(line for line in lines if line))
        event.add("categories", [view.procedure])
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    return cal


@export_app.command("ical")
@handles_errors
def export_ical(
    scenario: Path | None = typer.Argument(
        None, help="A scenario file (see csbm replay); default: this node's log."
    ),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    at: str | None = typer.Option(None, "--at", help="The clock (default: now)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write here (default: stdout)."
    ),
) -> None:
    """An RFC 5545 calendar of the open and overdue deadlines."""
    clock = parse_clock(at) or now()
    result = replay_source(scenario, data, db, clock)
    ical = calendar(result, clock).to_ical()
    if output is None:
        sys.stdout.buffer.write(ical)
        sys.stdout.flush()
    else:
        output.write_bytes(ical)
        console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
