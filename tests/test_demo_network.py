"""The demo network (csbm.exchange.demo): the Baltic States → Belarus messages through one
signed log per State, over the in-process transport."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbm.errors import InputError
from csbm.exchange.demo import run_network
from csbm.ledger.merkle import InclusionProof
from csbm.node import Node
from csbm.procedures.scenario import load_scenario
from csbm.projection import events_from_log

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_network_logs_agree_with_the_scenario(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "baltic-belarus-2022.yaml")
    steps: list[str] = []
    report, expected = run_network(scenario, tmp_path / "net", steps.append)
    assert len(steps) == report.messages == len(scenario.events)
    assert report.receipts == report.deliveries > report.messages
    assert report.logs_agree_with_scenario
    states = {n.state for n in report.nodes}
    assert {"LT", "BY", "PL"} <= states
    for node in report.nodes:
        assert node.audit.ok, node.audit.first_fault
        assert node.agrees_with_scenario
    by = next(n for n in report.nodes if n.state == "BY")
    assert by.complete_cases == 1
    proof = InclusionProof.from_json(report.proof["inclusion"])
    proof.verify()
    assert report.proof["state"] in states
    assert expected.cases and expected.cases[0].state == "joint_meeting_held"
    # one signed checkpoint per message sent (a batch to all its recipients), not one per
    # delivery: 7 messages, 21 deliveries, 7 checkpoints
    assert report.checkpoints == report.messages < report.deliveries


def test_a_nodes_log_holds_what_it_sent_and_received(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "baltic-belarus-2022.yaml")
    run_network(scenario, tmp_path / "net")
    with Node.open(tmp_path / "net" / "LT") as lt:
        held = events_from_log(lt).events
        sent = events_from_log(lt, sent_only=True).events
    assert {e.sender for e in sent} == {"LT"}
    assert len(held) > len(sent)
    assert [e.type for e in held][:2] == ["ch3.request", "ch3.reply"]


def test_the_network_refuses_a_used_folder(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "baltic-belarus-2022.yaml")
    run_network(scenario, tmp_path / "net")
    with pytest.raises(InputError, match="already"):
        run_network(scenario, tmp_path / "net")
