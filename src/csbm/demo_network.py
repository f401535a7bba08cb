"""A demo network on this machine: one csbm node per State of a scenario, each with its own
signed log in SQLite (the embedded default), exchanging the scenario's messages as signed
envelopes with signed receipts (DESIGN.md, "How a message travels").

For every message of the scenario, in time order: the sender signs and appends it to its
own log; for each recipient it hands over a delivery (the envelope, a fresh signed
checkpoint, the inclusion proof and the consistency proof from the size that recipient last
saw); the recipient verifies it, appends it to its log with a signed receipt; the sender
verifies the receipt and logs it. Then each node's procedures are rebuilt from its own log
alone and compared with the replay of the scenario, and every log is audited.

This is a shell (it writes files), for ``csbm demo``; the exchange over a network is the
exchange layer's job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from csbm.ledger.audit import AuditReport, audit
from csbm.ledger.checkpoint import Checkpoint
from csbm.ledger.merkle import InclusionProof, leaf_hash, verify_inclusion
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
    logs_agree_with_scenario: bool = False
    nodes: list[NodeSummary] = field(default_factory=list)
    proof: dict[str, Any] = field(default_factory=dict)


def _states(events: Sequence[Event]) -> list[str]:
    codes = {e.sender for e in events}
    for e in events:
        codes.update(r for r in e.recipients if r != ALL)
    return sorted(codes)


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
    nodes: dict[str, Node] = {}
    try:
        for code in states:
            nodes[code] = init_node(code, start, data=directory / code)
        for code, node in nodes.items():
            for other, peer in nodes.items():
                if other != code:
                    node.add_peer_key(other, peer.key.verifier_key, start)
        seen: dict[tuple[str, str], int] = {}
        last: tuple[str, str] | None = None
        for event in events:
            sender = nodes[event.sender]
            recipients = (
                [c for c in states if c != event.sender]
                if ALL in event.recipients
                else [c for c in event.recipients if c != event.sender]
            )
            result = sender.append_message(message_for(event), list(event.recipients), event.at)
            raw = sender.store.entry(result.index).envelope
            report.messages += 1
            if recipients:
                last = (recipients[0], result.message_id)
            for code in recipients:
                delivery = sender.delivery(
                    raw, result.index, seen.get((event.sender, code), 0), event.at
                )
                receipt = nodes[code].receive(delivery, event.at)
                sender.record_receipt(receipt.raw)
                seen[(event.sender, code)] = _size(delivery.checkpoint)
                report.deliveries += 1
                report.receipts += 1
            if step is not None:
                step(f"{event.type} {event.sender} → {', '.join(recipients)}")
        at = events[-1].at
        expected = replay(scenario.events, scenario.context, at)
        expected_cases = _cases(expected)
        # the network's record: every message once, from its sender's log
        sent = [e for node in nodes.values() for e in events_from_log(node, sent_only=True)]
        report.logs_agree_with_scenario = (
            _cases(replay(sent, scenario.context, at)) == expected_cases
        )
        per_case = {case: sum(1 for e in events if e.case == case) for case in expected_cases}
        for code, node in nodes.items():
            held = events_from_log(node)
            counts = {case: sum(1 for e in held if e.case == case) for case in per_case}
            complete = [case for case, n in per_case.items() if counts[case] == n]
            rebuilt = _cases(replay(held, scenario.context, at))
            agrees = all(rebuilt.get(case) == expected_cases[case] for case in complete)
            checked = audit(node.store, code, workers=0)
            size = node.store.size()
            report.nodes.append(
                NodeSummary(code, size, node.store.root(size).hex(), checked, len(complete), agrees)
            )
        if last is not None:
            report.proof = _prove_logged(nodes[last[0]], last[1], at)
    finally:
        for node in nodes.values():
            node.close()
    return report, expected


def _size(note: str) -> int:
    return Checkpoint.parse(note[: note.rfind("\n\n") + 1]).size


def _cases(result: ReplayResult) -> dict[str, dict[str, Any]]:
    doc = result_json(result)
    out: dict[str, dict[str, Any]] = {}
    for case in doc["cases"]:
        trimmed = {k: v for k, v in case.items() if k != "history"}
        out[case["case"]] = trimmed
    return out


def _prove_logged(node: Node, message_id: str, at: datetime) -> dict[str, Any]:
    """Prove that ``node`` logged the message: an RFC 9162 inclusion proof against the
    node's fresh signed checkpoint, verified here as any third party would."""
    note = node.checkpoint(at)
    checkpoint = Checkpoint.parse(note[: note.rfind("\n\n") + 1])  # the body, before signatures
    entry = node.store.entry_by_message_id(message_id)
    assert entry is not None
    proof: InclusionProof = node.store.prove_inclusion(entry.index, checkpoint.size)
    verify_inclusion(
        leaf_hash(entry.envelope), entry.index, checkpoint.size, list(proof.proof), checkpoint.root
    )
    return {
        "state": node.state,
        "message": entry.kind,
        "checkpoint": note,
        "inclusion": proof.to_json(),
    }
