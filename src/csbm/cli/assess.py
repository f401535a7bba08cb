"""``csbm assess FILE [--regime PACK ...] [--at INSTANT] [--json] [--tz ZONE]``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from csbm.cli._output import console, err_console, handles_errors, streamed_utf8
from csbm.cli._time import both, user_zone
from csbm.domain.activity import ASSUMED, Activity
from csbm.domain.time import parse_instant
from csbm.errors import InputError, Problem
from csbm.i18n import _, phrase
from csbm.reader import read_text
from csbm.rules import Assessment, RulePack
from csbm.rules.model import Finding
from csbm.services.assess import (
    assess_activities,
    json_chunks,
    load_regime,
    read_assess_input,
)
from csbm.services.clock import clock_or_now

if TYPE_CHECKING:
    from csbm.node import Node

__all__ = ["load_regime", "parse_at", "read_input"]

_STATUS_STYLE = {
    "met": "green",
    "missed": "bold red",
    "open": "yellow",
    "unknown": "magenta",
    "not_applicable": "dim",
}


def read_input(path: Path) -> str:
    """The text of a file (kept for callers that parse text themselves)."""
    return read_text(path)


def parse_at(value: str | None) -> tuple[Any, str | None]:
    """The clock of the assessment (``--at``, else the wall clock to the second) and what
    was assumed reading it (a bare date is 00:00 UTC), by the one clock parser."""
    clock = clock_or_now(value, "--at")
    assumed = parse_instant(value).assumed if value is not None else None
    return clock, (phrase(ASSUMED, field="--at", assumption=assumed) if assumed else None)


def _print_human(result: Assessment, extra_assumed: list[str], tz: str | None) -> None:
    zone = user_zone(tz)
    console.print(
        _("[bold]Assessment[/bold] under {regime} — as at {at}").format(
            regime=", ".join(result.regime), at=both(result.at, zone)
        ),
    )
    for item in result.activities:
        a = item.activity
        console.rule(f"[bold]{a.name}[/bold]")
        console.print(
            _("{kind}; host {host}; conducting {conducting}; {start} → {end}").format(
                kind=_(a.kind.value.replace("_", " ")),
                host=a.host_state,
                conducting=", ".join(a.conducting_states),
                start=both(a.start, zone),
                end=both(a.end, zone),
            )
        )
        for app in item.packs:
            template = (
                _("pack {pack} (provisionally): {reason}")
                if app.provisional
                else _("pack {pack}: {reason}")
            )
            line = "  " + template.format(pack=app.pack.id, reason=_(app.reason))
            for d in app.distances:
                pair = f"{d.states[0]}–{d.states[1]}"
                line += "; " + _("{pair} border {km} km (±{tolerance})").format(
                    pair=pair, km=f"{d.km:.1f}", tolerance=f"{d.tolerance_km:g}"
                )
            console.print(line, highlight=False)
        for decision in item.not_applied:
            if decision.pack.parties != "all" and a.host_state not in decision.pack.parties:
                continue  # not a party: nothing to say in the human view
            console.print(
                "  [dim]"
                + _("not applied: {pack} — {reason}").format(
                    pack=decision.pack.id, reason=_(decision.reason)
                )
                + "[/dim]",
                highlight=False,
            )
        if item.obligations:
            table = Table(show_lines=False, expand=False)
            # Codes are never cut: the rule id and the paragraph keep their width and wrap
            # nowhere; the prose wraps between words (the note goes under the obligation,
            # so the table fits 80 columns in every language).
            rule_width = max(len(o.rule) for o in item.obligations)
            table.add_column(_("rule"), no_wrap=True, min_width=max(rule_width, len(_("rule"))))
            table.add_column("¶", no_wrap=True)
            for header in (_("obligation"), _("due"), _("status")):
                table.add_column(header, min_width=_longest_word(header))
            for ob in item.obligations:
                style = _STATUS_STYLE.get(ob.status, "")
                kind = _(ob.kind.replace("_", " "))
                table.add_row(
                    f"{ob.rule}\n[dim]{ob.pack}[/dim]",
                    ob.paragraph or "",
                    kind + (f"\n[dim]{_(ob.note)}[/dim]" if ob.note else ""),
                    both(ob.due, zone),
                    f"[{style}]{_(ob.status.replace('_', ' '))}[/{style}]",
                )
            console.print(table)
        else:
            console.print("  [dim]" + _("no obligations under the packs that apply") + "[/dim]")
        _print_findings(item.findings)
    broken = [c for c in result.constraints if c.status != "within"]
    console.rule("[bold]" + _("Constraining provisions") + "[/bold]")
    console.print(
        _("{checks} checks, {broken} broken, {unknown} unknown").format(
            checks=len(result.constraints),
            broken=sum(c.status == "broken" for c in broken),
            unknown=sum(c.status == "unknown" for c in broken),
        )
    )
    _print_findings(result.findings)
    for note in [*extra_assumed, *result.assumed]:
        text = _("assumed: {note}").format(note=_(note))
        console.print("[dim]" + text + "[/dim]", highlight=False)


def _print_findings(findings: tuple[Finding, ...]) -> None:
    colours = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "blue"}
    for f in findings:
        colour = colours.get(f.severity, "")
        console.print(
            f"  [{colour}]{_(f.kind.replace('_', ' '))}[/{colour}] [dim]{f.rule}[/dim] "
            f"{_(f.message)}",
            highlight=False,
        )


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=1)


PROGRESS_FROM = 5000

DB_OPTION = typer.Option(
    None, "--db", help="Database URL (default: the one in the data directory's config)."
)
"""``--db`` as csbm.cli._node gives it, here so that ``csbm assess FILE`` does not import
the node and its database layer (SQLAlchemy: about 0.5 s of its start)."""


def _open_node(data: Path | None, db: str | None) -> Node:
    from csbm.cli._node import open_node

    return open_node(data, db)


def _assess_with_progress(
    activities: list[Activity], packs: list[RulePack], clock: datetime, forced: bool
) -> Assessment:
    """The engine, with a progress bar on stderr for large files (stdout stays clean)."""
    if len(activities) < PROGRESS_FROM:
        return assess_activities(activities, packs, clock, forced=forced)
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(_("assessing"), total=len(activities))
        return assess_activities(
            activities,
            packs,
            clock,
            forced=forced,
            on_progress=lambda done: progress.update(task, completed=done),
        )


def register(app: typer.Typer) -> None:
    @app.command("assess")
    @handles_errors
    def assess_command(
        file: Path | None = typer.Argument(
            None,
            help="YAML or JSON: one activity or 'activities: [...]'; or a scenario "
            "({events: [...]}: its notifications and calendar entries); without it, the "
            "node's own log (--data, --db).",
        ),
        data: Path | None = typer.Option(
            None,
            "--data",
            help="Without FILE: the node's data directory (default: $CSBM_DATA, else ./.csbm).",
        ),
        db: str | None = DB_OPTION,
        regime: list[str] | None = typer.Option(
            None,
            "--regime",
            help="Rule pack id or file; repeat to stack "
            "(default: every bundled pack that applies).",
        ),
        at: str | None = typer.Option(
            None, "--at", help="Assess as at this instant (default: now)."
        ),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
        tz: str | None = typer.Option(None, "--tz", help="Show times in this zone as well as UTC."),
    ) -> None:
        """Obligations and findings for military activities under the rule packs."""
        if tz is not None:
            user_zone(tz)
        clock, at_note = parse_at(at)
        if file is not None and (data is not None or db is not None):
            raise InputError(
                "a file or a node, not both",
                [Problem("FILE", "give a file, or --data/--db for a node's log")],
            )
        found = read_assess_input(file, lambda: _open_node(data, db), regime, clock)
        result = _assess_with_progress(found.activities, found.packs, clock, found.forced)
        extra = [at_note] if at_note else []
        if as_json:
            streamed_utf8(json_chunks(result, extra))
        else:
            _print_human(result, extra, tz)
