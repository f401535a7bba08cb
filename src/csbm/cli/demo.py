"""``csbm demo``: the main job on the embedded default — for now, the assessment of the
bundled public cases (examples/*.yaml activity files)."""

from __future__ import annotations

from pathlib import Path

import typer

from csbm.cli._output import console, handles_errors
from csbm.cli.assess import _print_human, load_regime, read_input
from csbm.domain.activity_file import parse_activities
from csbm.domain.time import now
from csbm.i18n import _
from csbm.rules import assess

DEMO_FILES = ("zapad-2017.yaml", "snap-2014.yaml", "union-resolve-2022.yaml")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @handles_errors
    def demo_command(
        examples: Path = typer.Option(
            Path("examples"), "--examples", help="Folder of example files."
        ),
        tz: str | None = typer.Option(None, "--tz", help="Show times in this zone as well as UTC."),
    ) -> None:
        """Assess the bundled public cases (Zapad-2017, February 2014, Union Resolve 2022)."""
        packs, forced = load_regime(None)
        clock = now()
        for name in DEMO_FILES:
            path = examples / name
            console.print(
                "\n[bold underline]" + _("Example: {path}").format(path=path) + "[/bold underline]"
            )
            result = assess(parse_activities(read_input(path), str(path)), packs, clock, forced)
            _print_human(result, [], tz)
