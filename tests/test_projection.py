"""Deadlines rebuilt from a node's own log (csbm.projection): `csbm deadlines` and
`csbm export ical` without a scenario file read the procedure messages the node logged."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from icalendar import Calendar
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.domain.time import parse_instant
from csbm.node import Node
from csbm.projection import events_from_log

runner = CliRunner()

REQUEST = """kind: ch3.request
recipients: [RU]
body:
  case: ua-ru-2022
  activity: build-up of forces near the border
"""


def _node_with_request(tmp_path: Path) -> Path:
    data = tmp_path / "ua"
    assert runner.invoke(app, ["init", "--state", "UA", "--data", str(data)]).exit_code == 0
    message = tmp_path / "request.yaml"
    message.write_text(REQUEST, encoding="utf-8")
    result = runner.invoke(app, ["ledger", "append", str(message), "--data", str(data)])
    assert result.exit_code == 0, result.stderr
    return data


def test_the_log_holds_the_request_as_an_event(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    with Node.open(data) as node:
        events = events_from_log(node)
    assert [(e.type, e.sender, e.recipients, e.case) for e in events] == [
        ("ch3.request", "UA", ("RU",), "ua-ru-2022")
    ]
    assert "case" not in events[0].body


def test_deadlines_from_the_node_log(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    with Node.open(data) as node:
        (event,) = events_from_log(node)
    at = event.at + timedelta(hours=1)
    result = runner.invoke(
        app, ["deadlines", "--data", str(data), "--json", "--at", at.isoformat()]
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["deadlines"]
    (reply,) = [r for r in rows if r["rule"] == "CH3_REPLY"]
    assert reply["status"] == "open" and reply["owed_by"] == ["RU"]
    assert parse_instant(reply["due"]).at == event.at + timedelta(hours=48)
    late = runner.invoke(
        app,
        [
            "deadlines",
            "--data",
            str(data),
            "--json",
            "--at",
            (event.at + timedelta(hours=49)).isoformat(),
        ],
    )
    (overdue,) = [r for r in json.loads(late.stdout)["deadlines"] if r["rule"] == "CH3_REPLY"]
    assert overdue["status"] == "overdue"


def test_export_ical_from_the_node_log(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    out = tmp_path / "d.ics"
    result = runner.invoke(app, ["export", "ical", "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    calendar = Calendar.from_ical(out.read_bytes())
    summaries = [str(c.get("summary")) for c in calendar.walk("VEVENT")]
    assert any("CH3_REPLY" in s for s in summaries)


def test_deadlines_without_a_node_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["deadlines", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert result.stdout == ""
