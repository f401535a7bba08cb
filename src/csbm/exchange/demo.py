"""A demo network on this machine: one csbm node per State of a scenario, each with its own
signed log in SQLite (the embedded default), exchanging the scenario's messages over the
in-process transport as signed envelopes with signed receipts (DESIGN.md, "How a message
travels").

For every message of the scenario, in time order, the sender signs and appends it to its
own log and sends it (:func:`csbm.exchange.outbox.send`): one signed checkpoint for the
message, one delivery per recipient (the envelope, that checkpoint, the inclusion proof
and the consistency proof from the size the recipient last acknowledged, read from its
receipts in the sender's log); the recipient verifies it and appends it with a signed
receipt; the sender verifies the receipt and logs it. Then each node's procedures are
rebuilt from its own log alone and compared with the replay of the scenario, and every
log is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from csbm.exchange.inprocess import InProcessTransport
from csbm.exchange.outbox import Outgoing, send
from csbm.ledger.audit import AuditReport
from csbm.ledger.envelope import parse_envelope
from csbm.ledger.merkle import leaf_hash, verify_inclusion
from csbm.node import Node, init_node
from csbm.procedures.base import ALL, Event
from csbm.procedures.runner import ReplayResult, replay, result_json
from csbm.procedures.scenario import Scenario
from csbm.projection import events_from_log, message_for


@dataclass
class NodeSummary:
    state: str
    size: int
    root: str
    audit: AuditReport
    complete_cases: int
    agrees_with_scenario: bool


@dataclass
class NetworkReport:
    directory: Path
    messages: int = 0
    deliveries: int = 0
    receipts: int = 0
    checkpoints: int = 0
    logs_agree_with_scenario: bool = False
    nodes: list[NodeSummary] = field(default_factory=list)
    proof: dict[str, Any] = field(default_factory=dict)


def _states(events: Sequence[Event]) -> list[str]:
    codes = {e.sender for e in events}
    for e in events:
        codes.update(r for r in e.recipients if r != ALL)
    return sorted(codes)


def _open_network(states: Sequence[str], directory: Path, start: datetime) -> dict[str, Node]:
    """A node per State under ``directory``, each knowing every other's key."""
    nodes: dict[str, Node] = {}
    try:
        for code in states:
            nodes[code] = init_node(code, start, data=directory / code)
        for code, node in nodes.items():
            for other, peer in nodes.items():
                if other != code:
                    node.add_peer_key(other, peer.key.verifier_key, start)
    except BaseException:
        for node in nodes.values():
            node.close()
        raise
    return nodes


def run_network(
    scenario: Scenario,
    directory: Path,
    step: Callable[[str], None] | None = None,
) -> tuple[NetworkReport, ReplayResult]:
    """Run ``scenario`` through a network of nodes under ``directory`` (must be empty)."""
    events = sorted(scenario.events, key=lambda e: e.order)
    if not events:
        raise ValueError("the scenario has no events")
    start = events[0].at - timedelta(days=1)
    states = _states(events)
    report = NetworkReport(directory)
    nodes = _open_network(states, directory, start)
    transport = InProcessTransport(nodes)
    try:
        last: tuple[str, str] | None = None
        for event in events:
            outgoing = Outgoing(message_for(event), tuple(event.recipients), event.at)
            sent = send(nodes[event.sender], transport, [outgoing], states, event.at)
            (recipients,) = sent.recipients
            report.messages += 1
            report.deliveries += sent.deliveries
            report.receipts += len(sent.receipts)
            report.checkpoints += 0 if sent.checkpoint is None else 1
            if recipients:
                last = (recipients[0], sent.message_ids[0])
            if step is not None:
                step(f"{event.type} {event.sender} → {', '.join(recipients)}")
        at = events[-1].at
        expected = replay(scenario.events, scenario.context, at)
        _compare(report, nodes, scenario, events, expected, at)
        if last is not None:
            report.proof = _prove_logged(transport, last[0], last[1], at)
    finally:
        for node in nodes.values():
            node.close()
    return report, expected


def _compare(
    report: NetworkReport,
    nodes: dict[str, Node],
    scenario: Scenario,
    events: Sequence[Event],
    expected: ReplayResult,
    at: datetime,
) -> None:
    """Rebuild the procedures from the logs: from every sender's log together (the
    network's record), and from each node's own log alone; audit every log."""
    expected_cases = _cases(expected)
    sent = [e for node in nodes.values() for e in events_from_log(node, sent_only=True).events]
    report.logs_agree_with_scenario = _cases(replay(sent, scenario.context, at)) == expected_cases
    per_case = {case: sum(1 for e in events if e.case == case) for case in expected_cases}
    for code, node in nodes.items():
        held = events_from_log(node).events
        counts = {case: sum(1 for e in held if e.case == case) for case in per_case}
        complete = [case for case, n in per_case.items() if counts[case] == n]
        rebuilt = _cases(replay(held, scenario.context, at))
        agrees = all(rebuilt.get(case) == expected_cases[case] for case in complete)
        checked = node.audit(workers=0)
        size = node.size()
        report.nodes.append(
            NodeSummary(code, size, node.root(size).hex(), checked, len(complete), agrees)
        )


def _cases(result: ReplayResult) -> dict[str, dict[str, Any]]:
    doc = result_json(result)
    out: dict[str, dict[str, Any]] = {}
    for case in doc["cases"]:
        trimmed = {k: v for k, v in case.items() if k != "history"}
        out[case["case"]] = trimmed
    return out


def _prove_logged(
    transport: InProcessTransport, state: str, message_id: str, at: datetime
) -> dict[str, Any]:
    """Prove that ``state`` logged the message: fetch its fresh signed checkpoint and its
    RFC 9162 inclusion proof over the transport, and verify them as any third party would."""
    checkpoint = transport.fetch_checkpoint(state, at)
    envelope, proof = transport.fetch_inclusion(state, message_id, checkpoint.size)
    verify_inclusion(leaf_hash(envelope), proof.leaf_index, checkpoint.size, list(proof.proof),
                     checkpoint.root)  # fmt: skip
    return {
        "state": state,
        "message": parse_envelope(envelope).kind,
        "checkpoint": checkpoint.note,
        "inclusion": proof.to_json(),
    }
