"""The README's tour of notifications runs as written (issue 10: "the README's tour shows
one notification sent in a scenario and its findings")."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _tour_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme.split("## A tour", 1)[1].split("\n## ", 1)[0]
    lines = re.findall(r"^\$ (csbm .*anakonda-2014\.yaml.*)$", tour, flags=re.MULTILINE)
    return [shlex.split(line.split("#", 1)[0])[1:] for line in lines]


def test_the_tour_shows_the_anakonda_commands() -> None:
    assert len(_tour_commands()) == 3


@pytest.mark.parametrize("args", _tour_commands(), ids=lambda a: " ".join(a[:2]))
def test_each_tour_command_runs_as_written(args: list[str], monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    if "--json" in args and args[0] == "replay":
        doc = json.loads(result.stdout)
        case = next(c for c in doc["cases"] if c["case"] == "anakonda-14")
        lead = next(d for d in case["deadlines"] if d["rule"] == "NOTIF_LEAD")
        assert (lead["due"], lead["met_at"]) == ("2014-08-13T00:00:00Z", "2014-08-20T00:00:00Z")
    if args[0] == "deadlines":
        assert "NOTIF_LEAD" in result.stdout and "overdue" in result.stdout
    if args[0] == "assess":
        assert "done 7 days late" in result.stdout
