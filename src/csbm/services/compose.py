"""A message being composed, checked as it is typed: the schema's problems with their
field paths, or -- when it is valid -- what the rules will make of it in the context of
the node's record: the deadlines its case will carry and the findings.

Source: issue 12, item 1 (*Compose*: "a form per message kind, validated as you type by
the same schemas and rule engine (obligations and findings shown live)"); DESIGN.md, "How a
message travels" (draft -> validate -> assess -> sign). Nothing is stored: the message is
validated by :func:`csbm.message.message_problems` (the one schema of every path) and
replayed, as if sent by this node at the clock, together with the node's own record
(:func:`csbm.services.replay.log_events`, the procedures of :mod:`csbm.procedures`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from csbm.errors import InputError, Problem
from csbm.message import message_problems, to_event
from csbm.node import Node
from csbm.procedures.registry import message_kinds, message_schemas
from csbm.procedures.runner import replay
from csbm.projection import node_context
from csbm.services.documents import Document, FindingDocument, Instant, Owed
from csbm.services.replay import CaseDocument, log_events

__all__ = ["FieldHelp", "PreviewDocument", "ProblemDocument", "kind_fields", "preview"]


class ProblemDocument(Document):
    """One problem of the message: where (``path``), why, and the value seen."""

    path: str
    reason: str
    value: Any = None


class PreviewDocument(Document):
    """The check of a message being composed: ``valid``, every problem, and for a valid
    message its case as the rules see it once sent (state, deadlines, findings)."""

    at: Instant
    valid: bool
    problems: list[ProblemDocument]
    message: dict[str, Any] | None = None
    case: CaseDocument | None = None
    deadlines: list[Owed] = Field(default_factory=list)
    findings: list[FindingDocument] = Field(default_factory=list)


class FieldHelp(Document):
    """A body field of a message kind, from its JSON schema."""

    name: str
    required: bool
    type: str | None
    description: str | None


def kind_fields(kind: str) -> list[FieldHelp]:
    """The body fields of ``kind`` from its schema (``csbm replay --schemas``); an unknown
    kind is an InputError naming ``type``."""
    schemas = message_schemas()
    if kind not in schemas:
        raise InputError(
            "unknown message kind",
            [Problem("type", f"one of {message_kinds()}", kind)],
            code="message.invalid",
        )
    schema = schemas[kind]
    required = set(schema.get("required") or ())
    props = schema.get("properties") or {}
    out = []
    for name, prop in props.items():
        kind_of = prop.get("type") if isinstance(prop, dict) else None
        out.append(
            FieldHelp(
                name=name,
                required=name in required,
                type=kind_of if isinstance(kind_of, str) else None,
                description=prop.get("description") if isinstance(prop, dict) else None,
            )
        )
    out.sort(key=lambda f: (not f.required, f.name))
    return out


def preview(node: Node, data: Any, at: datetime) -> PreviewDocument:
    """Check ``data`` (a message ``{type, to, case, body}``) as if ``node`` sent it at
    ``at``: its problems, else its case's deadlines and findings. Nothing is stored."""
    message, problems = message_problems(data)
    if message is None:
        return PreviewDocument(
            at=at,
            valid=False,
            problems=[
                ProblemDocument(path=p.path, reason=p.reason, value=p.value) for p in problems
            ],
        )
    events, _refused = log_events(node)
    seq = max((e.seq for e in events), default=-1) + 1
    event = to_event(message, at, node.state, seq)
    result = replay([*events, event], node_context(), at)
    case = next(
        (CaseDocument.of(c) for c in result.cases if message.case and c.case == message.case),
        None,
    )
    findings = [FindingDocument.of(f) for f in result.findings if f.seq == seq]
    if case is not None:
        findings += [f for f in case.findings if f not in findings]
    return PreviewDocument(
        at=at,
        valid=True,
        problems=[],
        message=message.as_data(),
        case=case,
        deadlines=list(case.deadlines) if case is not None else [],
        findings=findings,
    )
