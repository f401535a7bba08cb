"""``csbm demo``: the live demo network, or (``--once``) the offline tour.

``csbm demo [--data DIR] [--reset] [--port-base N]`` brings up on 127.0.0.1 a hub and a
node per State (UA, BY, RU, LT, LV, EE, PL), each its own ``csbm serve`` process and
SQLite database under DIR (default ``.csbm-demo``), loaded by sending the public cases
through the real exchange, prints each node's URL and logins, and serves until Ctrl-C
(:mod:`csbm.demo.live`). A second run starts the same network again; ``--reset`` starts
clean.

``csbm demo --once`` is the tour for scripts, on the embedded default (SQLite, no set-up):

1. the assessment of the bundled public cases (Zapad-2017, the February 2014 alert
   activity, Union Resolve 2022, an activity near the Belarus–Ukraine border);
2. the Chapter III procedure of February 2022 (Baltic States → Belarus) replayed;
3. the same messages through a demo network of nodes on this machine — one signed SQLite
   log per State, deliveries with checkpoints and proofs, signed receipts — then every log
   audited, the procedures rebuilt from the logs, and an inclusion proof checked.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from csbm.cli._output import console, handles_errors
from csbm.cli._time import user_zone
from csbm.cli.assess import _print_human, load_regime, read_input
from csbm.domain.activity_file import parse_activities
from csbm.errors import InputError, Problem
from csbm.exchange.demo import NetworkReport, run_network
from csbm.i18n import _
from csbm.procedures.scenario import load_scenario
from csbm.rules import assess
from csbm.services.clock import wall_clock
from csbm.services.replay import replay_loaded

ACTIVITY_FILES = (
    "zapad-2017.yaml",
    "snap-2014.yaml",
    "union-resolve-2022.yaml",
    "by-ua-border-2021.yaml",
)
SCENARIO = "baltic-belarus-2022.yaml"


def _heading(text: str) -> None:
    console.print()
    console.rule(f"[bold]{text}[/bold]")


def _print_network(report: NetworkReport) -> None:
    table = Table(title=_("Nodes"))
    for header in (_("State"), _("log size"), _("root"), _("audit"), _("rebuilt from its log")):
        table.add_column(header)
    for node in report.nodes:
        audit = "[green]ok[/green]" if node.audit.ok else f"[red]{node.audit.first_fault}[/red]"
        rebuilt = (
            _("{n} complete case(s) agree").format(n=node.complete_cases)
            if node.agrees_with_scenario
            else "[red]" + _("differs") + "[/red]"
        )
        table.add_row(node.state, str(node.size), node.root[:16] + "…", audit, rebuilt)
    console.print(table)
    agree = _("yes") if report.logs_agree_with_scenario else _("NO")
    console.print(
        _(
            "{messages} messages, {deliveries} deliveries, {receipts} signed receipts; the "
            "procedures rebuilt from the logs agree with the scenario: {agree}"
        ).format(
            messages=report.messages,
            deliveries=report.deliveries,
            receipts=report.receipts,
            agree=agree,
        ),
        highlight=False,
    )
    if report.proof:
        console.print(
            _(
                "Inclusion proof that {state} logged the last {message} (RFC 9162, verified):"
            ).format(state=report.proof["state"], message=report.proof["message"])
        )
        console.print_json(json.dumps(report.proof["inclusion"]))
        # A signed note is copied as it is: never wrapped, or it no longer verifies.
        console.print(
            report.proof["checkpoint"], highlight=False, markup=False, soft_wrap=True, crop=False
        )


def _check_data(data: Path | None) -> None:
    """``--data`` must be a new or empty folder (the demo never writes over a node)."""
    if data is None or not data.exists():
        if data is not None and any(p.exists() and not p.is_dir() for p in data.parents):
            raise InputError(
                "not a folder", [Problem("--data", "lies under a file, not a folder", str(data))]
            )
        return
    if not data.is_dir():
        raise InputError("not a folder", [Problem("--data", "is a file, not a folder", str(data))])
    if any(data.iterdir()):
        raise InputError(
            "not empty", [Problem("--data", "the folder must be new or empty", str(data))]
        )


LIVE_FOLDER = Path(".csbm-demo")
"""Where the live demo keeps its nodes unless ``--data`` says otherwise."""


def _once(examples: Path, data: Path | None, tz: str | None) -> None:
    """The offline tour (``--once``): assess, replay, the in-process network."""
    zone = user_zone(tz)
    _check_data(data)  # before anything is printed: a refusal leaves stdout empty
    packs, forced = load_regime(None)
    clock = wall_clock()
    _heading(_("1. Assessment of the public cases"))
    for name in ACTIVITY_FILES:
        path = examples / name
        console.print(
            "\n[bold underline]" + _("Example: {path}").format(path=path) + "[/bold underline]"
        )
        result = assess(parse_activities(read_input(path), str(path)), packs, clock, forced)
        _print_human(result, [], tz)

    from csbm.cli.replay import _print_timeline

    _heading(_("2. Chapter III, February 2022, replayed"))
    scenario = load_scenario(examples / SCENARIO)
    _print_timeline(scenario.title, replay_loaded(scenario).result, zone)

    _heading(_("3. The same messages through a demo network (SQLite, one log per State)"))
    base = data or Path(tempfile.mkdtemp(prefix="csbm-demo-"))
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[step]}"), console=console, transient=False,
        ) as progress:  # fmt: skip
            task = progress.add_task(_("messages"), total=len(scenario.events), step="")

            def step(text: str) -> None:
                progress.update(task, advance=1, step=text)

            report, _result = run_network(scenario, base / "network", step)
        _print_network(report)
        if data is not None:
            console.print(_("The nodes are kept in {path}").format(path=base / "network"))
        if not report.logs_agree_with_scenario or not all(
            n.audit.ok and n.agrees_with_scenario for n in report.nodes
        ):
            raise typer.Exit(code=1)
    finally:
        if data is None:
            shutil.rmtree(base, ignore_errors=True)


def _say(text: str) -> None:
    typer.echo(text)  # plain lines, never wrapped: a password is copied from them


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @handles_errors
    def demo_command(
        examples: Path = typer.Option(
            Path("examples"), "--examples", help="Folder of example files."
        ),
        data: Path | None = typer.Option(
            None,
            "--data",
            help="The live demo's folder (default .csbm-demo); with --once, keep the tour's "
            "nodes here (default: a temporary folder).",
        ),
        once: bool = typer.Option(
            False,
            "--once",
            help="The offline tour for scripts: assess, replay, in-process network.",
        ),
        reset: bool = typer.Option(
            False, "--reset", help="Remove the live demo's folder and start clean."
        ),
        port_base: int | None = typer.Option(
            None,
            "--port-base",
            help="The hub's port, the nodes on the next ones (default 8470; 0: free ports).",
        ),
        tz: str | None = typer.Option(None, "--tz", help="Show times in this zone as well as UTC."),
    ) -> None:
        """Run the live demo network until Ctrl-C (or, with --once, the offline tour)."""
        if once:
            for flag, given in (("--reset", reset), ("--port-base", port_base is not None)):
                if given:
                    raise InputError(
                        "live demo only",
                        [Problem(flag, "only for the live demo, not --once", None)],
                    )
            _once(examples, data, tz)
            return
        if tz is not None:
            raise InputError("--once only", [Problem("--tz", "only for --once", tz)])
        from csbm.demo.live import run

        run(data or LIVE_FOLDER, examples, _say, reset=reset, port_base=port_base)
