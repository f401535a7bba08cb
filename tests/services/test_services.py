"""The services over a node and a clock, without the CLI: replay, deadlines, export,
ledger operations, the clock, and the one "owed" shape (issue 9, item 3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from csbm.domain.time import iso
from csbm.errors import InputError
from csbm.ledger.merkle import ConsistencyProof, InclusionProof
from csbm.message import to_payload, validate_message
from csbm.node import Node, init_node
from csbm.procedures.base import Deadline
from csbm.procedures.runner import result_json
from csbm.rules.model import Obligation
from csbm.services import (
    Owed,
    clock_or_now,
    ical,
    parse_clock,
    replay_node,
    replay_scenario,
    wall_clock,
)
from csbm.services import ledger as ledger_services
from csbm.services.deadlines import deadlines

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SENT_AT = datetime(2022, 2, 11, 10, 0, tzinfo=UTC)


def _instants(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [v for k, x in doc.items() for v in _instants(x)] + [
            x for k, x in doc.items() if k in ("at", "due", "met_at") and isinstance(x, str)
        ]
    if isinstance(doc, list):
        return [v for x in doc for v in _instants(x)]
    return []


def test_replay_document_is_the_runner_json_plus_refused(repo_root: Path) -> None:
    replayed = replay_scenario(repo_root / "examples/baltic-belarus-2022.yaml")
    doc = replayed.document().to_json()
    expected = result_json(replayed.result)
    assert doc.pop("refused") == []
    for case in doc["cases"]:  # the one "owed" shape adds kind and triggered_by
        for d in case["deadlines"]:
            assert d.pop("kind") is None and d.pop("triggered_by") == []
    assert doc == expected
    assert _instants(doc) and all(ISO_Z.match(t) for t in _instants(doc))


def test_deadlines_document_hours_status_and_one_instant_format(repo_root: Path) -> None:
    replayed = replay_scenario(repo_root / "examples/ukraine-russia-2022.yaml")
    clock = datetime(2022, 2, 14, 0, 0, 0, 800000, tzinfo=UTC)  # sub-second clock
    doc = deadlines(replayed, clock, ZoneInfo("Europe/Kyiv")).to_json()
    assert doc["at"] == "2022-02-14T00:00:00Z"  # one format, to the second...
    rows = doc["deadlines"]
    assert rows and rows[0]["rule"] == "CH3_REPLY" and rows[0]["status"] == "overdue"
    assert "hours_left" not in rows[0] and rows[0]["hours_overdue"] == 14.0
    assert all(ISO_Z.match(r["due"]) for r in rows if r["due"])
    # ...and the wall clock is taken to the whole second too
    stamped = wall_clock(lambda: clock)
    assert iso(stamped) == "2022-02-14T00:00:00Z"


def test_parse_clock_names_the_field_given() -> None:
    assert parse_clock(None) is None
    assert parse_clock("2022-02-09T12:00+02:00") == datetime(2022, 2, 9, 10, tzinfo=UTC)
    with pytest.raises(InputError) as caught:
        parse_clock("yesterday", "at")
    assert caught.value.problems[0].path == "at"
    with pytest.raises(InputError) as cli:
        clock_or_now("2022-03-27T02:30 Europe/Vienna", "--at")
    assert cli.value.lines()[0].startswith("--at: 2022-03-27T02:30 does not exist")
    assert clock_or_now(None).microsecond == 0


def test_ical_is_the_same_bytes_for_the_same_data(repo_root: Path) -> None:
    clock = datetime(2022, 2, 14, 0, 0, tzinfo=UTC)
    replayed = replay_scenario(repo_root / "examples/ukraine-russia-2022.yaml", clock)
    one = ical(replayed.result, clock)
    two = ical(replayed.result, clock + timedelta(hours=1, seconds=15, microseconds=123))
    assert one == two  # DTSTAMP is the last revision of each case, never the clock
    events = list(Calendar.from_ical(one).walk("VEVENT"))
    last = max(h.at for c in replayed.result.cases for h in c.history)
    assert last < clock
    assert events and {e.decoded("dtstamp") for e in events} == {last}


def test_owed_is_one_shape_for_deadlines_and_obligations() -> None:
    due = datetime(2022, 2, 11, 10, tzinfo=UTC)
    d = Owed.of_deadline(
        Deadline("CH3_REPLY", "16.1.3", "vd2011", due, "open", ("RU",), ("UA",))
    ).to_json()
    o = Owed.of_obligation(
        Obligation("NOTIF_LEAD", "38", "vd2011", "prior_notification", ("BY",), "all", due,
                   "missed", ("zapad",))
    ).to_json()  # fmt: skip
    assert set(d) == set(o)
    assert (d["due"], o["due"]) == ("2022-02-11T10:00:00Z", "2022-02-11T10:00:00Z")
    assert o["owed_to"] == ["all"] and o["triggered_by"] == ["zapad"] and o["met_at"] is None
    assert d["owed_to"] == ["UA"] and d["kind"] is None


@pytest.fixture
def node(tmp_path: Path) -> Any:
    with init_node("UA", SENT_AT - timedelta(days=1), data=tmp_path / "ua") as opened:
        yield opened


def test_replay_node_shows_a_refused_entry_with_its_reason(node: Node) -> None:
    message = validate_message(
        {"type": "ch3.request", "to": ["RU"], "case": "c1", "body": {"activity": "build-up"}}
    )
    node.append_message(to_payload(message), ["RU"], SENT_AT)
    bad = node.sign({"kind": "ch3.meeting_request", "case": "c1", "body": {}}, ["all"], SENT_AT)
    (logged,) = node.append([bad])  # behind the application's back
    replayed = replay_node(node, SENT_AT + timedelta(hours=1))
    doc = deadlines(replayed, SENT_AT + timedelta(hours=1), UTC).to_json()
    assert doc["refused"] == [
        {"index": logged.index, "message_id": bad.message_id, "sender": "UA",
         "kind": "ch3.meeting_request", "reason": "message.body.scope: required"}
    ]  # fmt: skip
    assert [r["rule"] for r in doc["deadlines"]] == ["CH3_REPLY"]
    assert replayed.document().to_json()["refused"] == doc["refused"]


def test_ledger_services_append_checkpoint_prove_verify(node: Node) -> None:
    first = ledger_services.append(node, {"kind": "note", "body": {"n": 1}}, ["all"], SENT_AT)
    again = ledger_services.append(
        node, {"kind": "note", "body": {"n": 1}}, ["all"], SENT_AT, first.message_id
    )
    assert again.duplicate and again.index == first.index
    ledger_services.append(node, {"kind": "note", "body": {"n": 2}}, ["all"], SENT_AT)
    cp = ledger_services.checkpoint(node, SENT_AT)
    assert (cp.origin, cp.size) == ("csbm/UA", node.size())
    assert cp.note.startswith(f"csbm/UA\n{cp.size}\n{cp.root}\n\n")
    inclusion = ledger_services.prove_inclusion(node, first.index)
    InclusionProof.from_json(inclusion.to_json()).verify()
    assert inclusion.root == cp.root
    consistency = ledger_services.prove_consistency(node, 1, cp.size)
    ConsistencyProof.from_json(consistency.to_json()).verify()
    with pytest.raises(InputError) as caught:
        ledger_services.prove_consistency(node, 3, 2)
    assert caught.value.problems[0].path == "from_size"  # neutral names; the CLI maps them
    summary = ledger_services.verify(node, workers=0)
    assert summary.ok and summary.entries == cp.size and summary.first_fault is None
    assert summary.to_json()["report"]["ok"] is True
