"""Issue 10's "done when", from the command line: notifications and calendars replayed and
assessed on arrival (``csbm replay FILE --json``, ``--at``), ``csbm deadlines`` and
``csbm assess`` of a scenario."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app

runner = CliRunner()


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _case(doc: dict[str, Any], label: str) -> dict[str, Any]:
    return next(c for c in doc["cases"] if c["case"] == label)


def _deadline(case: dict[str, Any], rule: str) -> dict[str, Any]:
    return next(d for d in case["deadlines"] if d["rule"] == rule)


def test_anakonda_calendar_met_notification_late_and_observation_opened(
    repo_root: Path,
) -> None:
    doc = _json("replay", str(repo_root / "examples/anakonda-2014.yaml"), "--json")
    calendar = _deadline(_case(doc, "calendar-2014"), "CAL_DEADLINE")
    assert (calendar["status"], calendar["owed_by"]) == ("met", ["PL"])
    case = _case(doc, "anakonda-14")
    assert case["procedure"] == "prior_notification" and case["state"] == "notified"
    lead = _deadline(case, "NOTIF_LEAD")
    assert lead["due"] == "2014-08-13T00:00:00Z"
    assert (lead["status"], lead["met_at"]) == ("missed", "2014-08-20T00:00:00Z")  # late
    assert (lead["owed_by"], lead["owed_to"], lead["paragraph"]) == (["PL"], ["all"], "38")
    observation = _deadline(case, "OBS_INVITE_TIMING")
    assert observation["owed_by"] == ["PL"] and "OBS_INVITE" in observation["note"]
    late = [f for f in doc["findings"] if f["kind"] == "late" and f["rule"] == "NOTIF_LEAD"]
    assert late and late[0]["case"] == "anakonda-14"


def test_anakonda_before_the_notification_the_lead_is_overdue(repo_root: Path) -> None:
    doc = _json("replay", str(repo_root / "examples/anakonda-2014.yaml"),
                "--at", "2014-08-14", "--json")
    case = _case(doc, "anakonda-14")
    assert case["state"] == "planned"
    lead = _deadline(case, "NOTIF_LEAD")
    assert (lead["due"], lead["status"], lead["met_at"]) == (
        "2014-08-13T00:00:00Z", "missed", None)
    assert "calendar entry" in lead["note"]
    # the calendar opened no observation obligation: the notified figures do
    assert all(d["rule"] != "OBS_INVITE_TIMING" for d in case["deadlines"])
    due = _json("deadlines", str(repo_root / "examples/anakonda-2014.yaml"),
                "--at", "2014-08-14", "--json")
    row = next(d for d in due["deadlines"] if d["rule"] == "NOTIF_LEAD")
    assert (row["status"], row["case"], row["hours_overdue"]) == ("overdue", "anakonda-14", 24.0)


def test_zapad_notified_in_time_no_observation_near_threshold(repo_root: Path) -> None:
    doc = _json("replay", str(repo_root / "examples/zapad-2017-notified.yaml"), "--json")
    case = _case(doc, "zapad-2017")
    lead = _deadline(case, "NOTIF_LEAD")
    assert (lead["due"], lead["status"]) == ("2017-08-03T00:00:00Z", "met")
    assert [d["rule"] for d in case["deadlines"]] == ["NOTIF_LEAD"]  # no observation owed
    near = [f for f in doc["findings"] if f["kind"] == "near_threshold"]
    assert [(f["rule"], f["paragraph"], f["case"]) for f in near] == [
        ("OBS_INVITE", "47.4", "zapad-2017")]
    assert "12,700" in near[0]["message"] and "13,000" in near[0]["message"]
    assert not [f for f in doc["findings"] if f["rule"] == "CAL_LATE_ENTRY"]


def test_gate_violation_and_late_calendar_entry(repo_root: Path) -> None:
    path = str(repo_root / "examples/notification-checks.yaml")
    doc = _json("replay", path, "--json")
    by_rule = {f["rule"]: f for f in doc["findings"]}
    gate = by_rule["CONSTR_40K_GATE"]
    assert (gate["kind"], gate["case"], gate["paragraph"]) == ("violation", "example-45", "70")
    assert "communicated two years ahead" in gate["message"]
    late = by_rule["CAL_LATE_ENTRY"]
    assert (late["case"], late["paragraph"], late["states"]) == ("example-10", "~65", ["NO"])
    # the 45,000 activity is in its calendar; the 10,000 one was communicated nowhere: the
    # gate is about the first only, the calendar about the second only
    assert [f["case"] for f in doc["findings"] if f["rule"] == "CAL_LATE_ENTRY"] == ["example-10"]
    assert [f["case"] for f in doc["findings"] if f["rule"] == "CONSTR_40K_GATE"] == [
        "example-45"]
    due = _json("deadlines", path, "--at", "2026-06-02T00:00Z", "--json")
    assert {f["rule"] for f in due["findings"]} == {"CONSTR_40K_GATE", "CAL_LATE_ENTRY"}


def test_an_advance_communication_lifts_the_gate(tmp_path: Path, repo_root: Path) -> None:
    text = (repo_root / "examples/notification-checks.yaml").read_text()
    advance = """  - at: 2024-11-10T09:00Z
    type: advance_communication
    from: NO
    body:
      year: 2026
      activities:
        - {case: example-45, name: Example-45, conducting_states: [NO], host_state: NO,
           start: 2026-09-01, end: 2026-09-20, forces: {troops: 45000}}
"""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text + advance)
    doc = _json("replay", str(scenario), "--json")
    assert not [f for f in doc["findings"] if f["rule"] == "CONSTR_40K_GATE"]
    cycle = _deadline(_case(doc, "advance_communication-2026"), "CONSTR_40K_ADVANCE")
    assert (cycle["due"], cycle["status"]) == ("2024-11-15T23:59:59Z", "met")


def test_assess_reads_a_scenario_with_the_real_notification_time(repo_root: Path) -> None:
    doc = _json("assess", str(repo_root / "examples/anakonda-2014.yaml"),
                "--at", "2014-09-01", "--json")
    (activity,) = doc["activities"]
    assert activity["name"] == "Anakonda-14"
    lead = next(o for o in activity["obligations"] if o["rule"] == "NOTIF_LEAD")
    assert (lead["status"], lead["note"]) == ("missed", "done 7 days late")
    calendar = next(o for o in activity["obligations"] if o["rule"] == "CAL_DEADLINE")
    assert calendar["status"] == "met"


def test_assess_of_a_scenario_before_any_notification_is_refused(
    tmp_path: Path, repo_root: Path
) -> None:
    result = runner.invoke(app, ["assess", str(repo_root / "examples/anakonda-2014.yaml"),
                                 "--at", "2013-01-01"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "no notification or calendar entry" in result.stderr


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ({"activity": {"name": "X", "conducting_states": ["PL"], "host_state": "PL",
                       "start": "2014-09-24", "notified_at": "2014-08-01"}},
         "events[0].body.activity.notified_at", "set by the messages themselves"),
        ({"activity": {"name": "X", "conducting_states": ["PL"], "host_state": "PL",
                       "start": "2014-09-24", "forces": {"troops": -1}}},
         "events[0].body.activity.forces.troops", "must be ≥ 0 (got -1)"),
        ({"activity": {"name": "X", "conducting_states": ["QQ"], "host_state": "PL",
                       "start": "2014-09-24"}},
         "events[0].body.activity.conducting_states", "participating State"),
        ({}, "events[0].body.activity", "required"),
    ],
)
def test_bad_notification_one_line_exit_2(tmp_path: Path, body: dict[str, Any], path: str,
                                          reason: str) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(json.dumps({"events": [
        {"at": "2014-08-20T00:00Z", "type": "notification", "from": "PL", "case": "a",
         "body": body}]}))
    for command in ("replay", "assess"):
        result = runner.invoke(app, [command, str(scenario)])
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert path in result.stderr and reason in result.stderr
        assert "Traceback" not in result.stderr
