"""Replay: a scenario file or a node's own log run through the procedures at a clock.

Source: DESIGN.md principle 1 (procedures are projections of the log) and issue 4, item 3
(``csbm replay``); issue 9, item 3 (the use case lives here, not in the CLI). The result
is a :class:`ReplayDocument`, whose JSON form is ``csbm replay --json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import Field

from csbm.domain.time import iso, plain
from csbm.procedures.base import CaseView, Event
from csbm.procedures.runner import ReplayResult, replay
from csbm.procedures.scenario import Scenario, load_scenario
from csbm.services.documents import (
    Document,
    FindingDocument,
    HistoryDocument,
    Instant,
    Owed,
    QuotaDocument,
    RefusedEntry,
    indented_json,
    json_data,
    member_items,
)

if TYPE_CHECKING:  # a node's store (SQLAlchemy) is imported only to replay a node's log
    from csbm.node import Node


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

    def json_chunks(self) -> Iterator[bytes]:
        """The JSON text of :meth:`document` in UTF-8, a few cases at a time
        (:func:`json_chunks`)."""
        events = self.scenario.events if self.scenario is not None else ()
        return json_chunks(self.result, self.refused, json_bodies(events))


CHUNK = 1000
"""Cases serialised at a time by :func:`json_chunks`."""


def json_bodies(events: Iterable[Event]) -> frozenset[int]:
    """The ids of the bodies of ``events`` that are JSON data already: the body a message
    check validated and dumped (``model_dump(mode="json")``), which the event carries with
    its model (``Event.parsed``: the same object). The ids hold while the events live."""
    return frozenset(id(e.body) for e in events if e.parsed is not None and e.parsed[0] is e.body)


def json_chunks(
    result: ReplayResult,
    refused: Sequence[RefusedEntry] = (),
    json_body_ids: frozenset[int] = frozenset(),
) -> Iterator[bytes]:
    """The JSON text of ``ReplayDocument.of(result, refused)`` (``csbm replay --json``) in
    UTF-8, :data:`CHUNK` cases at a time, never whole in memory.

    The cases are turned into JSON data directly (:func:`case_data`: the fields of
    :class:`CaseDocument` in their order, each as its serializer writes it) and serialised
    by orjson a batch at a time, inside ``{"cases": [...]}`` so that they
    come out indented as in the document: the same bytes as
    ``document.model_dump_json(indent=2, by_alias=True)``, without validating a
    :class:`HistoryDocument` per message. A body whose id is in ``json_body_ids`` is JSON
    data already (:func:`json_bodies`) and is not converted again."""
    yield b"{\n"
    yield b'  "at": ' + orjson.dumps(iso(result.at)) + b",\n"
    cases = result.cases
    if not cases:
        yield b'  "cases": [],\n'
    else:
        yield b'  "cases": [\n'
        for start in range(0, len(cases), CHUNK):
            batch = [case_data(c, json_body_ids) for c in cases[start : start + CHUNK]]
            text = member_items("cases", batch)
            del batch
            yield text
            yield b",\n" if start + CHUNK < len(cases) else b"\n"
        yield b"  ],\n"
    quotas = [QuotaDocument.data(q) for q in result.quotas]
    yield b'  "quotas": ' + _member("quotas", quotas) + b",\n"
    findings = [FindingDocument.data(f) for f in result.findings]
    yield b'  "findings": ' + _member("findings", findings) + b",\n"
    yield b'  "refused": ' + _member("refused", [r.to_json() for r in refused]) + b"\n"
    yield b"}\n"


def _member(name: str, value: Any) -> bytes:
    """A member's value as ``model_dump_json(indent=2)`` writes it one level in: dumped
    inside ``{name: value}``, so that it comes out at that depth, the wrapper cut off."""
    text = indented_json({name: value})
    return text[len(name) + 8 : -2]  # '{\n  "name": ' ... '\n}'


def case_data(view: CaseView, json_body_ids: frozenset[int] = frozenset()) -> dict[str, Any]:
    """``CaseDocument.of(view).to_json()`` as data for pydantic's encoder, built directly."""
    history = HistoryDocument.data
    return {
        "case": view.case,
        "procedure": view.procedure,
        "state": view.state,
        "parties": {role: list(codes) for role, codes in view.parties.items()},
        "deadlines": [Owed.deadline_data(d) for d in view.deadlines],
        "details": json_data(view.details),
        "history": [history(h, id(h.body) in json_body_ids) for h in view.history],
        "findings": [FindingDocument.data(f) for f in view.findings],
    }


def replay_scenario(path: Path, at: datetime | None = None) -> Replayed:
    """Load the scenario at ``path`` and replay it at ``at`` (default: its last event)."""
    return replay_loaded(load_scenario(path), at)


def replay_loaded(scenario: Scenario, at: datetime | None = None) -> Replayed:
    """Replay a scenario already read at ``at`` (default: its last event)."""
    return Replayed(replay(scenario.events, scenario.context, at), scenario)


def log_events(node: Node) -> tuple[list[Event], tuple[RefusedEntry, ...]]:
    """The procedure messages of ``node``'s log as events, and the entries a schema
    refuses (index, message id, sender, kind, reason: csbm.projection)."""
    from csbm.projection import events_from_log

    projected = events_from_log(node)
    refused = tuple(RefusedEntry.model_validate(r.as_dict()) for r in projected.refused)
    return list(projected.events), refused


def replay_node(node: Node, at: datetime | None = None) -> Replayed:
    """Replay the procedure messages ``node`` sent and received, under every bundled pack."""
    from csbm.projection import node_context

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
