"""The assessment of military activities under the rule packs, as a service.

Source: issue 2 (``csbm assess``) and issue 9, item 3 (the use case out of the CLI). A file
(or its text) and a clock in; an :class:`AssessmentDocument` out, whose JSON form is the
output of ``csbm assess --json`` and of the coming API. The regime policy lives here: the
packs given (forced), else every bundled pack, each applying where it is in force.

Large results are written piece by piece (:func:`json_chunks`): the document of 10⁵
activities is never held as one string, and it is byte-for-byte the text
``json.dumps(document.to_json(), indent=2, ensure_ascii=False)`` would give.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from csbm.domain.activity import Activity
from csbm.domain.activity_file import activities_from_data
from csbm.domain.time import iso
from csbm.errors import InputError, Problem
from csbm.i18n import phrase_json
from csbm.reader import read_document
from csbm.rules import Assessment, RulePack, assess, load_regime
from csbm.rules.applicability import PackApplication, PackDecision
from csbm.rules.model import ActivityAssessment, ConstraintResult, Finding, Obligation
from csbm.services.documents import Document, Instant, Owed, indented_json, member_items

if TYPE_CHECKING:
    from csbm.node import Node

__all__ = [
    "AssessInput",
    "AssessedActivity",
    "AssessmentDocument",
    "AssessmentFinding",
    "ConstraintDocument",
    "PackUse",
    "assess_activities",
    "assessment_document",
    "json_chunks",
    "load_regime",
    "read_activities",
    "read_assess_input",
]


class BorderDistanceDocument(Document):
    states: list[str]
    km: float
    tolerance_km: float


class PackUse(Document):
    """A pack applied to an activity, and why (provisionally when not sure)."""

    pack: str
    reason: str
    provisional: bool
    distances: list[BorderDistanceDocument]
    reason_id: str | None = None
    """The reason's template (its id in the catalogues); ``reason`` is it in English."""
    reason_params: dict[str, Any] = Field(default_factory=dict)


class PackNotApplied(Document):
    pack: str
    reason: str
    reason_id: str | None = None
    reason_params: dict[str, Any] = Field(default_factory=dict)


class AssessmentFinding(Document):
    """What the engine noticed: a violation, a figure near a threshold, a possible split,
    an inconsistency — with its rule and the activities concerned."""

    rule: str
    kind: str
    severity: str
    message: str
    pack: str
    activities: list[str]
    details: dict[str, Any]
    message_id: str | None = None
    """The message's template (its id in the catalogues): ``message`` is it in English;
    a client renders it in another language from the id and ``params`` (csbm.i18n)."""
    params: dict[str, Any] = Field(default_factory=dict)


class AssessedActivity(Document):
    name: str
    kind: str
    host_state: str
    conducting_states: list[str]
    start: Instant
    end: Instant | None
    members: list[str]
    packs: list[PackUse]
    packs_not_applied: list[PackNotApplied]
    obligations: list[Owed]
    findings: list[AssessmentFinding]
    assumed: list[str]


class ConstraintDocument(Document):
    """One constraining provision for one State and window (Chapter VIII)."""

    rule: str
    paragraph: str | None
    state: str
    window: str
    count: int
    limit: int | None
    status: str
    activities: list[str]


class AssessmentDocument(Document):
    regime: list[str]
    at: Instant
    assumed: list[str]
    activities: list[AssessedActivity] = Field(default_factory=list)
    constraints: list[ConstraintDocument]
    findings: list[AssessmentFinding]


# -- the use case


def read_activities(path: str | os.PathLike[str]) -> list[Activity]:
    """The activities of a file (YAML or JSON), read by the strict reader."""
    return activities_from_data(read_document(path), str(path))


@dataclass(frozen=True)
class AssessInput:
    """What ``csbm assess`` assesses: the activities, the packs, whether they are forced,
    and where the activities came from (``activities``, ``scenario`` or ``log``)."""

    activities: list[Activity]
    packs: list[RulePack]
    forced: bool
    source: str


def read_assess_input(
    path: str | os.PathLike[str] | None,
    open_node: Callable[[], Node] | None,
    regime: Sequence[str] | None,
    clock: datetime,
) -> AssessInput:
    """The activities of an activity file; of a scenario (a mapping with ``events``); or,
    without a file, of the log of the node ``open_node()`` opens (issue 10, item 4).

    From a scenario or a log, the activities are those of its notifications and calendar
    entries at ``clock`` (``procedures.prior_notification.record_activities``), with the
    handling fields the record gives: notified at the notification's sending time, in the
    calendar when a calendar lists it, and so on. The packs: ``regime`` when given
    (forced), else the scenario's (or, for a log, every bundled pack), each applying where
    it is in force."""
    if path is not None:
        data = read_document(path)
        if not (isinstance(data, dict) and "events" in data):
            packs, forced = load_regime(regime)
            return AssessInput(activities_from_data(data, str(path)), packs, forced,
                               "activities")
        from csbm.procedures.scenario import scenario_from_data

        scenario = scenario_from_data(data, base_dir=Path(path).parent, origin=str(path))
        events, context, source = list(scenario.events), scenario.context, "scenario"
        origin = str(path)
    else:
        if open_node is None:
            raise ValueError("a file or a node is required")
        from csbm.projection import node_context
        from csbm.services.replay import log_events

        with open_node() as node:
            events, _ = log_events(node)
        context, source, origin = node_context(), "log", "the node's log"
    from csbm.procedures.prior_notification import record_activities

    activities = record_activities(events, context, clock)
    if not activities:
        raise InputError(
            f"{origin}: no activities",
            [Problem("events", "no notification or calendar entry at or before the clock")],
        )
    if regime:
        packs, forced = load_regime(regime)
    else:
        packs, forced = list(context.packs), False
    return AssessInput(activities, packs, forced, source)


def assess_activities(
    activities: Sequence[Activity],
    packs: Sequence[RulePack],
    clock: datetime,
    *,
    forced: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> Assessment:
    """The engine over the activities as at ``clock``."""
    return assess(list(activities), list(packs), clock, forced=forced, on_progress=on_progress)


# -- the document


def _finding(f: Finding) -> dict[str, Any]:
    message_id, params = phrase_json(f.message)
    return {
        "rule": f.rule,
        "kind": f.kind,
        "severity": f.severity,
        "message": str(f.message),
        "pack": f.pack,
        "activities": list(f.activities),
        "details": f.details,
        "message_id": message_id,
        "params": params,
    }


def _owed(ob: Obligation) -> dict[str, Any]:
    """The fields of :meth:`Owed.of_obligation`, as data (validated in one pass, in Rust,
    with the rest of the activity's document: ten times faster than building models)."""
    note_id, note_params = phrase_json(ob.note)
    return {
        "rule": ob.rule,
        "paragraph": ob.paragraph,
        "pack": ob.pack,
        "kind": ob.kind,
        "due": ob.due,
        "status": ob.status,
        "owed_by": list(ob.owed_by),
        "owed_to": [ob.owed_to] if ob.owed_to else [],
        "triggered_by": list(ob.triggered_by),
        "note": ob.note,
        "note_id": note_id,
        "note_params": note_params,
    }


def assessed_activity(item: ActivityAssessment) -> AssessedActivity:
    a = item.activity
    return AssessedActivity.model_validate(
        {
            "name": a.name,
            "kind": a.kind.value,
            "host_state": a.host_state,
            "conducting_states": list(a.conducting_states),
            "start": a.start,
            "end": a.end,
            "members": list(item.members),
            "packs": [
                {
                    "pack": app.pack.id,
                    "reason": app.reason,
                    "reason_id": phrase_json(app.reason)[0],
                    "reason_params": phrase_json(app.reason)[1],
                    "provisional": app.provisional,
                    "distances": [
                        {
                            "states": list(d.states),
                            "km": round(d.km, 1),
                            "tolerance_km": d.tolerance_km,
                        }
                        for d in app.distances
                    ],
                }
                for app in item.packs
            ],
            "packs_not_applied": [
                {"pack": d.pack.id, "reason": d.reason, "reason_id": phrase_json(d.reason)[0],
                 "reason_params": phrase_json(d.reason)[1]}
                for d in item.not_applied
            ],
            "obligations": [_owed(o) for o in item.obligations],
            "findings": [_finding(f) for f in item.findings],
            "assumed": list(a.assumed),
        }
    )


def _constraint(c: ConstraintResult) -> dict[str, Any]:
    return {
        "rule": c.rule,
        "paragraph": c.paragraph,
        "state": c.state,
        "window": c.window,
        "count": c.count,
        "limit": c.limit,
        "status": c.status,
        "activities": list(c.activities),
    }


def assessment_document(
    result: Assessment, extra_assumed: Sequence[str] = (), *, with_activities: bool = True
) -> AssessmentDocument:
    """The document of an assessment (``with_activities=False``: the frame only, for
    :func:`json_chunks`, which writes the activities one by one)."""
    return AssessmentDocument.model_validate(
        {
            "regime": list(result.regime),
            "at": result.at,
            "assumed": [*extra_assumed, *result.assumed],
            "activities": (
                [assessed_activity(i) for i in result.activities] if with_activities else []
            ),
            "constraints": [_constraint(c) for c in result.constraints],
            "findings": [_finding(f) for f in result.findings],
        }
    )


_ACTIVITIES_SLOT = b'\n  "activities": [],\n'


def json_chunks(result: Assessment, extra_assumed: Sequence[str] = ()) -> Iterator[bytes]:
    """The JSON text of the assessment's document in UTF-8, :data:`CHUNK` activities at a
    time.

    The activities are turned into JSON data directly (:func:`_activity_data`, the fields
    of :class:`AssessedActivity` in their order, each as its serializer writes it) and
    serialised a batch at a time at their depth in the document
    (:func:`csbm.services.documents.member_items`: no text is indented again): the same
    bytes as ``json.dumps(document.to_json(), indent=2, ensure_ascii=False)``, without
    validating 10⁵ documents that the engine has just built (bench_commands: 6.6 → 1 s at
    10⁵)."""
    frame = indented_json(
        {
            "regime": list(result.regime),
            "at": iso(result.at),
            "assumed": [*extra_assumed, *result.assumed],
            "activities": [],
            "constraints": [_constraint(c) for c in result.constraints],
            "findings": [_finding(f) for f in result.findings],
        }
    )
    head, tail = frame.split(_ACTIVITIES_SLOT, 1)  # the one key at depth 1 so written
    items = result.activities
    if not items:
        yield head + _ACTIVITIES_SLOT + tail + b"\n"
        return
    yield head + b'\n  "activities": [\n'
    shared: dict[int, dict[str, Any]] = {}
    for start in range(0, len(items), CHUNK):
        batch = [_activity_data(i, shared) for i in items[start : start + CHUNK]]
        body = member_items("activities", batch)
        yield body + (b",\n" if start + CHUNK < len(items) else b"\n")
    yield b"  ],\n" + tail + b"\n"


CHUNK = 1000
"""Activities serialised at a time by :func:`json_chunks`."""


def _activity_data(
    item: ActivityAssessment, shared: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``assessed_activity(item).to_json()``, built directly: the same keys in the same
    order, values the encoder writes as the document's serializer does (tuples as lists,
    the kind by its value, phrases as their text, instants by :func:`_instant`).

    ``shared``: the data of pack decisions by identity, made once for the decisions that
    the engine shares between activities (the caller keeps the decisions alive)."""
    a = item.activity
    if shared is not None:
        packs = [_shared(shared, app, _pack_use) for app in item.packs]
        skipped = [_shared(shared, d, _not_applied) for d in item.not_applied]
    else:
        packs = [_pack_use(app) for app in item.packs]
        skipped = [_not_applied(d) for d in item.not_applied]
    return {
        "name": a.name,
        "kind": a.kind,
        "host_state": a.host_state,
        "conducting_states": a.conducting_states,
        "start": _instant(a.start),
        "end": None if a.end is None else _instant(a.end),
        "members": item.members,
        "packs": packs,
        "packs_not_applied": skipped,
        "obligations": [_owed_data(o) for o in item.obligations],
        "findings": [_finding(f) for f in item.findings],
        "assumed": a.assumed,
    }


def _shared(shared: dict[int, dict[str, Any]], key: Any, make: Callable[[Any], dict[str, Any]]
            ) -> dict[str, Any]:  # fmt: skip
    found = shared.get(id(key))
    if found is None:
        found = shared[id(key)] = make(key)
    return found


def _instant(at: datetime) -> Any:
    """An instant for the encoder: itself when the encoder writes it as :func:`iso` does
    (UTC, whole seconds: ``2017-08-03T00:00:00Z``), else the text :func:`iso` gives."""
    if at.tzinfo is UTC and at.microsecond == 0 and at.year >= 1000:
        return at
    return iso(at)


def _pack_use(app: PackApplication) -> dict[str, Any]:
    reason_id, reason_params = phrase_json(app.reason)
    return {
        "pack": app.pack.id,
        "reason": app.reason,
        "provisional": app.provisional,
        "distances": [
            {
                "states": d.states,
                "km": float(round(d.km, 1)),
                "tolerance_km": float(d.tolerance_km),
            }
            for d in app.distances
        ],
        "reason_id": reason_id,
        "reason_params": reason_params,
    }


def _not_applied(d: PackDecision) -> dict[str, Any]:
    reason_id, reason_params = phrase_json(d.reason)
    return {"pack": d.pack.id, "reason": d.reason, "reason_id": reason_id,
            "reason_params": reason_params}  # fmt: skip


def _owed_data(ob: Obligation) -> dict[str, Any]:
    """``Owed.of_obligation(ob).to_json()``, built directly."""
    note_id, note_params = phrase_json(ob.note)
    return {
        "rule": ob.rule,
        "paragraph": ob.paragraph,
        "pack": ob.pack,
        "title": None,
        "kind": ob.kind,
        "due": None if ob.due is None else _instant(ob.due),
        "status": ob.status,
        "met_at": None,
        "owed_by": ob.owed_by,
        "owed_to": [ob.owed_to] if ob.owed_to else [],
        "triggered_by": ob.triggered_by,
        "note": ob.note,
        "note_id": note_id,
        "note_params": note_params,
    }
