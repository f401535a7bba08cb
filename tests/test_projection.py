"""Deadlines rebuilt from a node's own log (csbm.projection): `csbm deadlines` and
`csbm export ical` without a scenario file read the procedure messages the node logged.
A logged entry that today's validation refuses is listed as refused with its reason, never
a traceback (issue 9, item 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from icalendar import Calendar
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.domain.time import parse_instant
from csbm.message import to_payload, validate_message
from csbm.node import Node
from csbm.procedures.runner import replay
from csbm.projection import LogProjection, events_from_log, message_for, node_context

runner = CliRunner()

SENT_AT = datetime(2022, 2, 11, 10, 0, tzinfo=UTC)
REQUEST = {
    "type": "ch3.request",
    "to": ["RU"],
    "case": "ua-ru-2022",
    "body": {"activity": "build-up of forces near the border"},
}


def _node(tmp_path: Path) -> Path:
    data = tmp_path / "ua"
    assert runner.invoke(app, ["init", "--state", "UA", "--data", str(data)]).exit_code == 0
    return data


def _node_with_request(tmp_path: Path) -> Path:
    data = _node(tmp_path)
    message = validate_message(REQUEST)
    with Node.open(data) as node:
        node.append_message(to_payload(message), list(message.to), SENT_AT)
    return data


def _behind_the_back(data: Path, payload: dict[str, Any], recipients: list[str],
                     at: datetime) -> int:
    """Sign and append straight into the store: no validation (as a bug or an old
    version of the application might have done)."""
    with Node.open(data) as node:
        (result,) = node.append([node.sign(payload, recipients, at)])
    return result.index


def test_the_log_holds_the_request_as_an_event(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    with Node.open(data) as node:
        projected = events_from_log(node)
    assert isinstance(projected, LogProjection) and projected.refused == ()
    assert [(e.type, e.sender, e.recipients, e.case, e.at) for e in projected.events] == [
        ("ch3.request", "UA", ("RU",), "ua-ru-2022", SENT_AT)
    ]
    assert "case" not in projected.events[0].body


def test_an_entry_is_validated_once_and_its_body_model_handed_to_the_measure(
    tmp_path: Path,
) -> None:
    """The projection carries the model its body was validated into (Event.parsed), so
    the measure does not validate the body a second time (issue 10)."""
    from csbm.procedures.registry import body_model

    data = _node_with_request(tmp_path)
    with Node.open(data) as node:
        (event,) = events_from_log(node).events
    assert event.parsed is not None
    body, model = event.parsed
    assert body is event.body and type(model) is body_model("ch3.request")
    assert event.model_of(body_model("ch3.request")) is model


def test_message_for_is_the_payload_of_the_one_form(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    with Node.open(data) as node:
        (event,) = events_from_log(node).events
    assert message_for(event) == to_payload(validate_message(REQUEST))
    assert message_for(event)["case"] == "ua-ru-2022"


def test_a_malformed_entry_is_refused_with_its_reason_and_the_rest_projected(
    tmp_path: Path,
) -> None:
    data = _node_with_request(tmp_path)
    bad = _behind_the_back(
        data, {"kind": "ch3.meeting_request", "case": "ua-ru-2022", "body": {}}, ["all"],
        SENT_AT + timedelta(hours=1))
    xx = _behind_the_back(
        data, {"kind": "ch3.request", "case": "c2", "body": {"on_behalf_of": ["XX"], "c": 1}},
        ["RU"], SENT_AT + timedelta(hours=2))
    old = _behind_the_back(  # the form of the log before the one message model
        data, {"kind": "ch3.request", "body": {"case": "c3"}}, ["RU"],
        SENT_AT + timedelta(hours=3))
    unknown = _behind_the_back(data, {"kind": "note", "body": {}}, ["RU"],
                               SENT_AT + timedelta(hours=4))
    with Node.open(data) as node:
        projected = events_from_log(node)
        ids = {r.index: r for r in projected.refused}
        logged = node.store.entry(bad)
    assert [e.type for e in projected.events] == ["ch3.request"]
    assert sorted(ids) == [bad, xx, old, unknown]
    first = ids[bad]
    assert (first.kind, first.sender, first.message_id) == (
        "ch3.meeting_request", "UA", logged.message_id)
    assert first.reason == "message.body.scope: required"
    assert ids[xx].reason == (
        "message.body.on_behalf_of[0]: not a participating State's ISO 3166-1 alpha-2 code "
        "(got 'XX'); message.body.c: unknown field (got 1)")
    assert ids[old].reason == "message.body.case: unknown field (got 'c3')"
    assert ids[unknown].reason.startswith("message.kind: unknown message kind")
    assert first.as_dict() == {"index": bad, "message_id": logged.message_id, "sender": "UA",
                               "kind": "ch3.meeting_request",
                               "reason": "message.body.scope: required"}
    # the deadlines of the good entry are still there: no deadline owed to "UA, XX"
    result = replay(list(projected.events), node_context(), SENT_AT + timedelta(hours=5))
    owed_to = {s for d in result.deadlines() for s in d.owed_to}
    assert "XX" not in owed_to
    assert [d.rule for d in result.deadlines()] == ["CH3_REPLY"]


def test_an_entry_past_the_horizon_is_refused_not_a_traceback(tmp_path: Path) -> None:
    data = _node(tmp_path)
    late = _behind_the_back(data, to_payload(validate_message(REQUEST)), ["RU"],
                            datetime(9999, 12, 30, tzinfo=UTC))
    with Node.open(data) as node:
        projected = events_from_log(node)
    (refused,) = projected.refused
    assert refused.index == late and refused.reason.startswith("created_at: instant too late")


def test_ledger_entries_are_not_procedure_messages(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    with Node.open(data) as node:
        # the key announcement of init is in the log, and skipped
        assert node.store.size() == 2
        assert len(events_from_log(node, sent_only=True).events) == 1


def test_deadlines_lists_a_malformed_entry_as_refused(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    bad = _behind_the_back(
        data, {"kind": "ch3.meeting_request", "case": "ua-ru-2022", "body": {}}, ["all"],
        SENT_AT + timedelta(hours=1))
    at = (SENT_AT + timedelta(hours=2)).isoformat()
    result = runner.invoke(app, ["deadlines", "--data", str(data), "--json", "--at", at])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    (refused,) = doc["refused"]
    assert refused["index"] == bad and refused["reason"] == "message.body.scope: required"
    assert [r["rule"] for r in doc["deadlines"]] == ["CH3_REPLY"]
    text = runner.invoke(app, ["deadlines", "--data", str(data), "--at", at])
    assert text.exit_code == 0, text.stderr
    assert f"log[{bad}] ch3.meeting_request from UA" in text.stdout
    assert "message.body.scope: required" in text.stdout


def test_deadlines_from_the_node_log(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    at = SENT_AT + timedelta(hours=1)
    result = runner.invoke(
        app, ["deadlines", "--data", str(data), "--json", "--at", at.isoformat()]
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["deadlines"]
    (reply,) = [r for r in rows if r["rule"] == "CH3_REPLY"]
    assert reply["status"] == "open" and reply["owed_by"] == ["RU"]
    assert parse_instant(reply["due"]).at == SENT_AT + timedelta(hours=48)
    late = runner.invoke(
        app,
        ["deadlines", "--data", str(data), "--json", "--at",
         (SENT_AT + timedelta(hours=49)).isoformat()],
    )
    (overdue,) = [r for r in json.loads(late.stdout)["deadlines"] if r["rule"] == "CH3_REPLY"]
    assert overdue["status"] == "overdue"


def test_export_ical_from_the_node_log(tmp_path: Path) -> None:
    data = _node_with_request(tmp_path)
    out = tmp_path / "d.ics"
    result = runner.invoke(
        app, ["export", "ical", "--data", str(data), "-o", str(out), "--at",
              SENT_AT.isoformat()])
    assert result.exit_code == 0, result.stderr
    calendar = Calendar.from_ical(out.read_bytes())
    summaries = [str(c.get("summary")) for c in calendar.walk("VEVENT")]
    assert any("CH3_REPLY" in s for s in summaries)


def test_deadlines_without_a_node_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["deadlines", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert result.stdout == ""


def _node_with_notifications(tmp_path: Path) -> Path:
    """UA's node: its calendar (without the activity) and its notification, both signed."""
    data = _node(tmp_path)
    activity = {"name": "Rapid Trident", "conducting_states": ["UA"], "host_state": "UA",
                "start": "2022-09-20", "end": "2022-09-30",
                "forces": {"troops": 12500, "battle_tanks": 10, "acv": 50, "artillery": 20}}
    messages = [
        (datetime(2021, 11, 10, tzinfo=UTC),
         {"type": "calendar", "body": {"year": 2022, "nil": True}}),
        (datetime(2022, 7, 1, tzinfo=UTC), {"type": "notification", "case": "rt-2022",
                                             "body": {"activity": activity}}),
    ]
    with Node.open(data) as node:
        for at, raw in messages:
            message = validate_message(raw)
            node.append_message(to_payload(message), list(message.to), at)
    return data


def test_a_logged_notification_is_assessed_in_the_projection(tmp_path: Path) -> None:
    data = _node_with_notifications(tmp_path)
    result = runner.invoke(app, ["replay", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    case = next(c for c in doc["cases"] if c["case"] == "rt-2022")
    lead = next(d for d in case["deadlines"] if d["rule"] == "NOTIF_LEAD")
    assert (lead["status"], lead["met_at"]) == ("met", "2022-07-01T00:00:00Z")
    rules = {f["rule"] for f in doc["findings"] if f["case"] == "rt-2022"}
    assert {"CAL_LATE_ENTRY", "OBS_INVITE"} <= rules  # a nil calendar; 12,500 near 13,000
    due = runner.invoke(app, ["deadlines", "--data", str(data), "--at", "2022-07-02",
                              "--json"])
    assert due.exit_code == 0, due.output
    assert "CAL_LATE_ENTRY" in {f["rule"] for f in json.loads(due.stdout)["findings"]}


def test_assess_reads_a_node_s_log(tmp_path: Path) -> None:
    data = _node_with_notifications(tmp_path)
    result = runner.invoke(app, ["assess", "--data", str(data), "--at", "2022-08-01", "--json"])
    assert result.exit_code == 0, result.output
    (activity,) = json.loads(result.stdout)["activities"]
    assert activity["name"] == "Rapid Trident"
    lead = next(o for o in activity["obligations"] if o["rule"] == "NOTIF_LEAD")
    assert lead["status"] == "met"
    calendar = next(o for o in activity["obligations"] if o["rule"] == "CAL_DEADLINE")
    assert calendar["status"] == "missed"  # the logged calendar is a nil return
    both = runner.invoke(app, ["assess", "x.yaml", "--data", str(data)])
    assert both.exit_code == 2 and both.stdout == "" and "give a file, or --data" in both.stderr
