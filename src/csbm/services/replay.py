"""Replay: a scenario file or a node's own log run through the procedures at a clock.

Source: DESIGN.md principle 1 (procedures are projections of the log) and issue 4, item 3
(``csbm replay``); issue 9, item 3 (the use case lives here, not in the CLI). The result
is a :class:`ReplayDocument`, whose JSON form is ``csbm replay --json``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from csbm.domain.time import plain
from csbm.node import Node
from csbm.procedures.base import CaseView, Event
from csbm.procedures.runner import ReplayResult, replay
from csbm.procedures.scenario import Scenario, load_scenario
from csbm.projection import events_from_log, node_context
from csbm.services.documents import (
    Document,
    FindingDocument,
    HistoryDocument,
    Instant,
    Owed,
    QuotaDocument,
    RefusedEntry,
)


class CaseDocument(Document):
    """One case at the clock: state, parties, deadlines, details, history, findings."""

    case: str
    procedure: str
    state: str
    parties: dict[str, list[str]]
    deadlines: list[Owed]
    details: dict[str, Any]
    history: list[HistoryDocument]
    findings: list[FindingDocument]

    @classmethod
    def of(cls, view: CaseView) -> CaseDocument:
        return cls(
            case=view.case,
            procedure=view.procedure,
            state=view.state,
            parties={role: list(codes) for role, codes in view.parties.items()},
            deadlines=[Owed.of_deadline(d) for d in view.deadlines],
            details=plain(view.details),
            history=[HistoryDocument.of(h) for h in view.history],
            findings=[FindingDocument.of(f) for f in view.findings],
        )


class ReplayDocument(Document):
    """Every procedure at the clock ``at``; ``refused``: log entries a schema refuses."""

    at: Instant
    cases: list[CaseDocument]
    quotas: list[QuotaDocument]
    findings: list[FindingDocument]
    refused: list[RefusedEntry] = Field(default_factory=list)

    @classmethod
    def of(cls, result: ReplayResult, refused: Sequence[RefusedEntry] = ()) -> ReplayDocument:
        return cls(
            at=result.at,
            cases=[CaseDocument.of(c) for c in result.cases],
            quotas=[QuotaDocument.of(q) for q in result.quotas],
            findings=[FindingDocument.of(f) for f in result.findings],
            refused=list(refused),
        )


@dataclass(frozen=True)
class Replayed:
    """A replay and where its messages came from: the scenario (None for a log), the
    result, and the log entries refused by a schema (empty for a scenario)."""

    result: ReplayResult
    scenario: Scenario | None = None
    refused: tuple[RefusedEntry, ...] = ()

    def document(self) -> ReplayDocument:
        return ReplayDocument.of(self.result, self.refused)


def replay_scenario(path: Path, at: datetime | None = None) -> Replayed:
    """Load the scenario at ``path`` and replay it at ``at`` (default: its last event)."""
    return replay_loaded(load_scenario(path), at)


def replay_loaded(scenario: Scenario, at: datetime | None = None) -> Replayed:
    """Replay a scenario already read at ``at`` (default: its last event)."""
    return Replayed(replay(scenario.events, scenario.context, at), scenario)


def log_events(node: Node) -> tuple[list[Event], tuple[RefusedEntry, ...]]:
    """The procedure messages of ``node``'s log as events, and the entries a schema
    refuses (index, message id, sender, kind, reason: csbm.projection)."""
    projected = events_from_log(node)
    refused = tuple(RefusedEntry.model_validate(r.as_dict()) for r in projected.refused)
    return list(projected.events), refused


def replay_node(node: Node, at: datetime | None = None) -> Replayed:
    """Replay the procedure messages ``node`` sent and received, under every bundled pack."""
    events, refused = log_events(node)
    return Replayed(replay(events, node_context(), at), None, refused)


def replay_source(
    scenario: Path | None, open_node: Callable[[], Node] | None, at: datetime | None
) -> Replayed:
    """A scenario file when given, else the log of the node ``open_node()`` opens."""
    if scenario is not None:
        return replay_scenario(scenario, at)
    if open_node is None:
        raise ValueError("a scenario or a node is required")
    with open_node() as node:
        return replay_node(node, at)
