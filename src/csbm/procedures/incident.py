"""Chapter III ¶17: co-operation as regards hazardous incidents of a military nature.

Source: VD 2011 ¶17 as the pack ``vd2011`` encodes it (HAZ_POC, HAZ_REPORT: information is
given "expeditiously", with no number — the engine says "unknown" and tracks the elapsed
time; a bilateral pack may set one). Public cases §2.1 (the Belarusian protest note of
2021-12-05 about a helicopter near Nova Rudnia) shows a clarification asked for without a
report.

Messages:

``incident.report``                 a State informs the States concerned of an incident;
``incident.clarification_request``  a State concerned asks for clarification (also about
                                    an incident nobody reported);
``incident.clarification``          the reporting (or addressed) State clarifies.

Deadlines: HAZ_REPORT counted from the incident (``occurred_at``), when the report gives
it; for each clarification request, a ``period`` rule of measure ``hazardous_incident``
counted from ``clarification_request`` if a pack has one (vd2011 has none: the view then
shows the hours elapsed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from csbm.domain.records import quick_init
from csbm.domain.time import iso
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body, InstantText, instant
from csbm.procedures.base import (
    ALL,
    CaseView,
    Context,
    Deadline,
    Event,
    Procedure,
    Refusal,
)

MEASURE_NAME = "hazardous_incident"


class ReportBody(Body):
    """``incident.report``: what happened, when and where."""

    occurred_at: InstantText | None = Field(default=None, description="when the incident happened")
    description: str | None = None
    location: str | None = None


class ClarificationRequestBody(Body):
    """``incident.clarification_request``: the questions."""

    questions: list[str] = Field(default_factory=list)
    occurred_at: InstantText | None = None
    description: str | None = None


class ClarificationBody(Body):
    """``incident.clarification``: the answer."""

    text: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Ask:
    by: str
    at: datetime
    answered_at: datetime | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class IncidentState:
    case: str
    reporter: str | None = None
    reported_at: datetime | None = None
    occurred_at: datetime | None = None
    concerned: tuple[str, ...] = ()
    to_all: bool = False
    asks: tuple[Ask, ...] = ()


class HazardousIncident(Procedure[IncidentState]):
    """The ¶17 exchange of information on a hazardous incident."""

    name = MEASURE_NAME
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "incident.report": ReportBody,
        "incident.clarification_request": ClarificationRequestBody,
        "incident.clarification": ClarificationBody,
    }

    def initial(self, case: str) -> IncidentState:
        return IncidentState(case=case)

    def apply(self, state: IncidentState, event: Event, ctx: Context) -> IncidentState:
        if event.type == "incident.report":
            return self._report(state, event)
        if event.type == "incident.clarification_request":
            return self._ask(state, event)
        return self._clarify(state, event)

    def _report(self, state: IncidentState, event: Event) -> IncidentState:
        if state.reported_at is not None:
            raise Refusal(phrase(N_("the incident was already reported by {state} at {at}"),
                                 state=state.reporter, at=iso(state.reported_at)),
                          kind="duplicate")
        if state.reporter is not None and event.sender != state.reporter:
            raise Refusal(phrase(N_("clarification was asked of {state}, not of {sender}"),
                                 state=state.reporter, sender=event.sender), kind="not_a_party")
        occurred = event.body.get("occurred_at")
        named = tuple(r for r in event.recipients if r != ALL)
        concerned = tuple(dict.fromkeys((*state.concerned, *named)))
        return replace(
            state,
            reporter=event.sender,
            reported_at=event.at,
            occurred_at=instant(occurred) or state.occurred_at,
            concerned=concerned,
            to_all=state.to_all or event.to_all,
        )

    def _ask(self, state: IncidentState, event: Event) -> IncidentState:
        if state.reporter is None:
            named = [r for r in event.recipients if r != ALL]
            if len(named) != 1:
                raise Refusal(phrase(N_("address the request for clarification to one State")))
            occurred = event.body.get("occurred_at")
            return replace(
                state,
                reporter=named[0],
                concerned=(event.sender,),
                occurred_at=instant(occurred),
                asks=(Ask(event.sender, event.at),),
            )
        if event.sender == state.reporter:
            raise Refusal(phrase(N_("{state} reported the incident; it clarifies, it does not "
                                    "ask"), state=event.sender), kind="not_a_party")
        if not state.to_all and event.sender not in state.concerned:
            raise Refusal(phrase(N_("{state} is not a State concerned ({concerned})"),
                                 state=event.sender, concerned=", ".join(state.concerned)),
                          kind="not_a_party")
        if any(a.by == event.sender and a.answered_at is None for a in state.asks):
            raise Refusal(phrase(N_("{state} already has an open request for clarification"),
                                 state=event.sender), kind="duplicate")
        return replace(state, asks=(*state.asks, Ask(event.sender, event.at)))

    def _clarify(self, state: IncidentState, event: Event) -> IncidentState:
        if state.reporter is None:
            raise Refusal(phrase(N_("no report or request for clarification in this case yet")),
                          kind="out_of_sequence")
        if event.sender != state.reporter:
            raise Refusal(phrase(N_("only {state} clarifies in this case"), state=state.reporter),
                          kind="not_a_party")
        open_asks = [i for i, a in enumerate(state.asks) if a.answered_at is None]
        if not open_asks:
            raise Refusal(phrase(N_("no open request for clarification")),
                          kind="out_of_sequence")
        targets = set(event.recipients)
        chosen = [i for i in open_asks if ALL in targets or state.asks[i].by in targets]
        if not chosen:
            raise Refusal(phrase(N_("the clarification is not addressed to a State that asked")),
                          kind="not_a_party")
        asks = tuple(replace(a, answered_at=event.at) if i in chosen else a
                     for i, a in enumerate(state.asks))
        return replace(state, asks=asks)

    def view(self, state: IncidentState, at: datetime, ctx: Context) -> CaseView:
        deadlines: list[Deadline] = []
        reporter = state.reporter
        parties = tuple(x for x in (reporter, *state.concerned) if x)
        if state.occurred_at is not None and reporter is not None:
            done = state.reported_at if state.reported_at and state.reported_at <= at else None
            deadlines.append(ctx.period_deadline(
                "HAZ_REPORT", state.occurred_at, at, done_at=done, parties=parties,
                owed_by=(reporter,), owed_to=state.concerned or (ALL,), case=state.case,
            ))
        asks: list[dict[str, Any]] = []
        for a in state.asks:
            if a.at > at:
                continue
            answered = a.answered_at if a.answered_at and a.answered_at <= at else None
            ref = ctx.find_by_anchor(MEASURE_NAME, "clarification_request",
                                     (reporter or "", a.by), a.at.date())
            if ref is not None and reporter is not None:
                deadlines.append(ctx.period_deadline(
                    ref.rule.id, a.at, at, done_at=answered, parties=(reporter, a.by),
                    owed_by=(reporter,), owed_to=(a.by,), case=state.case,
                ))
            until = answered or at
            asks.append({
                "by": a.by,
                "at": a.at,
                "answered_at": answered,
                "elapsed_hours": round((until - a.at).total_seconds() / 3600, 1),
            })
        if any(x["answered_at"] is None for x in asks):
            name = "clarification_requested"
        elif asks:
            name = "clarified"
        elif state.reported_at is not None:
            name = "reported"
        else:
            name = "empty"
        details: dict[str, Any] = {
            "occurred_at": state.occurred_at,
            "reported_at": state.reported_at,
            "clarification_requests": asks,
        }
        if state.reported_at is not None and state.occurred_at is not None:
            details["hours_to_report"] = round(
                (state.reported_at - state.occurred_at).total_seconds() / 3600, 1)
        return CaseView(
            case=state.case,
            procedure=self.name,
            state=name,
            parties={"reporting": (reporter,) if reporter else (),
                     "concerned": state.concerned},
            deadlines=tuple(deadlines),
            details=details,
        )


MEASURE = HazardousIncident()
