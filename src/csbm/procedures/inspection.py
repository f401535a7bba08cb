"""Chapter IX inspections: request, reply, arrival, report — with the passive quota.

Source: VD 2011 Chapter IX as the digest gives it (§11.1): the right to inspect (IX-I1),
the passive quota of INSP_QUOTA per receiving State and calendar year and INSP_PER_STATE
from the same inspecting State (IX-I3, IX-I4), force majeure not counted
(INSP_FORCE_MAJEURE, IX-I5), reasons stated (IX-I6), the specified area (INSP_AREA,
IX-I7), the reply within INSP_REPLY and entry within INSP_ENTRY of the request (IX-I11,
IX-I12), the end INSP_DURATION after arrival in the area (IX-I15), the team of at most
INSP_TEAM inspectors (IX-I16) and the report (INSP_REPORT, IX-I18). Bilateral packs
(Chapter X, digest §12) may add their own quota (BILAT_INSP_QUOTA), counted apart.
Every number comes from the packs.

Messages:

``inspection.request``       inspecting → receiving State (copy to all): specified area
                             (GeoJSON Polygon or MultiPolygon, or a Feature holding one),
                             reasons, inspectors, guests; ``regime: <pack id>`` to count
                             it against a bilateral quota;
``inspection.reply``         receiving → inspecting State: ``accept``, or ``refuse`` with a
                             reason (``force_majeure``, ``over_quota``, ``other``);
``inspection.arrival``       either side records the team's entry into the receiving State
                             (``entered_at``) and its arrival in the specified area
                             (``arrival_in_area``); both default to the message's time;
``inspection.cancellation``  either side calls the inspection off (``force_majeure`` frees
                             the quota);
``inspection.report``        inspecting State → all: the report (``ended_at`` if known).

A request that arrives when the receiving State's quota is used up is ``over_quota``: the
reply and entry deadlines are waived (the State need not accept it) and a finding of kind
``quota`` says which rule; it is not a missed reply.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator

from csbm.domain.records import quick_init
from csbm.domain.time import iso
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body, instant, instant_text, parse_body, state_code
from csbm.procedures._quota import (
    INSP_FORCE_MAJEURE,
    INSP_QUOTA,
    Limit,
    QuotaDecision,
    QuotaKey,
    QuotaLimits,
    QuotaRequest,
    bilateral_limits,
    decide,
    has_bilateral_quota,
    inspection_limits,
    memoised,
    tallies,
)
from csbm.procedures.base import (
    CaseView,
    Context,
    Deadline,
    Event,
    Finding,
    MeasureView,
    Procedure,
    Refusal,
    deadline_status,
    require_sender,
)
from csbm.rules.evaluate import within_maximum
from csbm.rules.pack import MaximumSpec, RulePack

if TYPE_CHECKING:
    from csbm.geo.areas import Area

FORCE_MAJEURE = "force_majeure"
RefusalReason = Literal["force_majeure", "over_quota", "other"]


# ----------------------------------------------------------------------------- bodies
# (the body helpers are procedures._bodies, shared by every measure)


def maximum_finding(
    ctx: Context, rule_id: str, n: int, what: str, case: str, at: datetime,
    states: tuple[str, ...], parties: tuple[str, ...], on: datetime,
) -> Finding | None:
    """A finding when ``n`` exceeds the ``maximum`` entry ``rule_id`` (team sizes);
    ``what`` (an ``N_``-marked message id) names what is counted."""
    ref = ctx.find_rule(rule_id, parties, on.date())
    if ref is None or not isinstance(ref.rule.spec, MaximumSpec):
        return None
    ok = within_maximum(ref.rule.spec, n)
    if ok is None or ok:
        return None
    return Finding(kind="violation", rule=rule_id, paragraph=ref.rule.paragraph, case=case,
                   at=at, states=states,
                   message=phrase(N_("{n} {what!t}; at most {limit} ({rule})"), n=n, what=what,
                                  limit=ref.rule.spec.count, rule=rule_id))


def specified_area(area: Mapping[str, Any]) -> Area:
    """The specified area (digest IX-I7) read by csbm.geo.areas.read_area — the rules
    ``csbm assess`` applies to an activity's area (closed rings, numbers in range, no
    self-intersection, the short way across the antimeridian, less than a hemisphere) —
    limited to a Polygon or MultiPolygon or a Feature holding one. A ValueError (for the
    body's validator) names the member: ``coordinates[0][3]: longitude must be ...``."""
    from csbm.errors import InputError
    from csbm.geo.areas import read_area

    try:
        return read_area(area, "area", polygons_only=True)
    except InputError as exc:
        problem = exc.problems[0]
        where = problem.path.removeprefix("area").removeprefix(".")
        text = f"{where}: {problem.reason}" if where else problem.reason
        if problem.value is not None:
            text += f" (got {problem.value!r})"
        raise ValueError(text) from None


def polygons_of(area: Mapping[str, Any]) -> list[list[Any]]:
    """The polygons (lists of rings, as given) of a GeoJSON Polygon / MultiPolygon /
    Feature holding one, once :func:`specified_area` has accepted it."""
    specified_area(area)
    geometry = area["geometry"] if area.get("type") == "Feature" else area
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "Polygon" else list(coords)


def area_km2(area: Mapping[str, Any]) -> float:
    """Geodesic area of the specified area on the WGS 84 ellipsoid, in km², to 0.1 km²
    (pyproj.Geod, Karney's algorithm; csbm.geo.areas): the union of its polygons less
    their holes, measured the short way across the antimeridian."""
    return round(specified_area(area).km2, 1)


class InspectionRequestBody(Body):
    """``inspection.request``: what, where and why (digest IX-I6, IX-I7, IX-I10)."""

    receiving_state: str = Field(description="the State to be inspected")
    inspecting_state: str | None = Field(default=None,
                                         description="default: the sender")
    area: dict[str, Any] = Field(description="the specified area: GeoJSON Polygon, "
                                             "MultiPolygon or a Feature holding one")
    reasons: str = Field(min_length=1, description="the reasons for the request (IX-I6)")
    inspectors: list[str] = Field(default_factory=list, description="names (INSP_TEAM)")
    guests: list[str] = Field(default_factory=list,
                              description="other States invited to take part (IX-I2)")
    entry_points: list[str] = Field(default_factory=list)
    mode: Literal["ground", "air", "ground_and_air"] | None = None
    regime: str | None = Field(default=None,
                               description="a bilateral pack id: count against its quota")

    @field_validator("receiving_state", "inspecting_state")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return None if value is None else state_code(value)

    @field_validator("guests")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [state_code(v) for v in value]

    _km2: float | None = PrivateAttr(default=None)
    """The area in km² (:func:`area_km2`), measured when the body is validated: the area
    is read once, not once more when the request is applied."""

    @field_validator("area")
    @classmethod
    def _area(cls, value: dict[str, Any]) -> dict[str, Any]:
        _LAST_READ.pair = (value, specified_area(value))
        return value

    @model_validator(mode="after")
    def _measured(self) -> InspectionRequestBody:
        pair = getattr(_LAST_READ, "pair", None)
        _LAST_READ.pair = None
        read = pair[1] if pair is not None and pair[0] is self.area else specified_area(self.area)
        self._km2 = round(read.km2, 1)
        return self

    def km2(self) -> float:
        """:func:`area_km2` of the body's area."""
        return self._km2 if self._km2 is not None else area_km2(self.area)


_LAST_READ = threading.local()
"""``pair``: ``(area, what specified_area read)`` for the area this thread's field validator
last read: the model validator right after it takes it (the same object) rather than
reading it again."""


class InspectionReplyBody(Body):
    """``inspection.reply``: accept, or refuse with a reason (IX-I5, IX-I11)."""

    decision: Literal["accept", "refuse"]
    reason: RefusalReason | None = Field(default=None, description="required to refuse")
    explanation: str | None = None
    entry_point: str | None = None


class ArrivalBody(Body):
    """``inspection.arrival``: the team entered the State and/or reached the area."""

    entered_at: str | None = Field(default=None, description="entry into the receiving "
                                   "State (default: the message's time)")
    arrival_in_area: str | None = Field(default=None,
                                        description="arrival in the specified area")
    point_of_entry: str | None = None

    @field_validator("entered_at", "arrival_in_area")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        return instant_text(value)


class CancellationBody(Body):
    """``inspection.cancellation``: called off; ``force_majeure`` frees the quota."""

    reason: Literal["force_majeure", "other"]
    explanation: str | None = None


class InspectionReportBody(Body):
    """``inspection.report``: the inspecting State's report (IX-I18)."""

    summary: str | None = None
    arrival_in_area: str | None = None
    ended_at: str | None = Field(default=None, description="when the inspection ended")
    inspectors: list[str] = Field(default_factory=list)

    @field_validator("arrival_in_area", "ended_at")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        return instant_text(value)


# ----------------------------------------------------------------------------- state


@quick_init
@dataclass(frozen=True, slots=True)
class InspectionState:
    case: str
    requested_at: datetime | None = None
    inspecting: str | None = None
    receiving: str | None = None
    regime: str | None = None
    reasons: str | None = None
    area_km2: float | None = None
    inspectors: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()
    reply_at: datetime | None = None
    decision: str | None = None
    refusal_reason: str | None = None
    entered_at: datetime | None = None
    arrival_in_area: datetime | None = None
    ended_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    report_at: datetime | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(s for s in (self.inspecting, self.receiving) if s)

    @property
    def released_at(self) -> datetime | None:
        """When force majeure took it off the quota (INSP_FORCE_MAJEURE), if it did."""
        if self.decision == "refuse" and self.refusal_reason == FORCE_MAJEURE:
            return self.reply_at
        if self.cancel_reason == FORCE_MAJEURE:
            return self.cancelled_at
        return None


def bilateral_pack(ctx: Context, regime: str | None, measure: Literal[
        "inspection", "evaluation"], parties: tuple[str, ...], on: datetime) -> RulePack:
    """The bilateral pack named by a request's ``regime``; refused when it does not fit."""
    pack = next((p for p in ctx.packs if p.id == regime), None)
    if pack is None:
        known = ", ".join(p.id for p in ctx.packs) or "none"
        raise Refusal(phrase(N_("regime {regime!r} is not one of the scenario's rule packs "
                                "({known})"), regime=regime, known=known))
    if not has_bilateral_quota(pack, measure):
        raise Refusal(phrase(N_("{regime} is not a bilateral pack with its own {measure!t} "
                                "quota"), regime=regime, measure=measure))
    if pack.parties == "all" or not set(parties) <= set(pack.parties):
        raise Refusal(phrase(N_("{parties} are not the parties of {regime} ({pack_parties})"),
                             parties="/".join(parties), regime=regime,
                             pack_parties=", ".join(pack.parties)))
    if not pack.in_force_on(on.date()):
        raise Refusal(phrase(N_("{regime} is not in force on {date}"), regime=regime,
                             date=on.date().isoformat()))
    return pack


def quota_pack(ctx: Context, rule_id: str) -> RulePack | None:
    """The multilateral pack that sets ``rule_id`` (vd2011), if the scenario has one."""
    ref = ctx.find_rule(rule_id)
    return None if ref is None else ref.pack


class Inspection(Procedure[InspectionState]):
    """Chapter IX inspections with their quota."""

    name = "inspection"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "inspection.request": InspectionRequestBody,
        "inspection.reply": InspectionReplyBody,
        "inspection.arrival": ArrivalBody,
        "inspection.cancellation": CancellationBody,
        "inspection.report": InspectionReportBody,
    }

    def initial(self, case: str) -> InspectionState:
        return InspectionState(case=case)

    # ------------------------------------------------------------------ transitions

    def apply(self, state: InspectionState, event: Event, ctx: Context) -> InspectionState:
        if event.type == "inspection.request":
            return self._request(state, event, ctx)
        if state.requested_at is None:
            raise Refusal(phrase(N_("{kind} before any inspection.request in this case"),
                                 kind=event.type), kind="out_of_order")
        if event.type == "inspection.reply":
            return self._reply(state, event)
        if event.type == "inspection.arrival":
            return self._arrival(state, event)
        if event.type == "inspection.cancellation":
            return self._cancellation(state, event)
        return self._report(state, event, ctx)

    def _request(self, state: InspectionState, event: Event, ctx: Context) -> InspectionState:
        if state.requested_at is not None:
            raise Refusal(phrase(N_("this case already holds an inspection request; one case "
                                    "is one request")), kind="duplicate")
        body = parse_body(InspectionRequestBody, event)
        inspecting = body.inspecting_state or event.sender
        if inspecting != event.sender:
            raise Refusal(phrase(N_("the request names {state} as inspecting State but was "
                                    "sent by {sender}"), state=inspecting, sender=event.sender),
                          kind="not_a_party")
        if body.receiving_state == inspecting:
            raise Refusal(phrase(N_("a State cannot inspect itself")))
        if body.regime is not None:
            bilateral_pack(ctx, body.regime, "inspection", (inspecting, body.receiving_state),
                           event.at)
        findings: list[Finding] = []
        team = maximum_finding(ctx, "INSP_TEAM", len(body.inspectors), N_("inspectors"),
                               state.case, event.at, (inspecting,),
                               (inspecting, body.receiving_state), event.at)
        if team is not None:
            findings.append(team)
        return replace(
            state, requested_at=event.at, inspecting=inspecting,
            receiving=body.receiving_state, regime=body.regime, reasons=body.reasons,
            area_km2=body.km2(), inspectors=tuple(body.inspectors),
            guests=tuple(body.guests), findings=state.findings + tuple(findings),
        )

    def _reply(self, state: InspectionState, event: Event) -> InspectionState:
        require_sender(event, [state.receiving or ""], N_("receiving State"))
        if state.reply_at is not None:
            raise Refusal(phrase(N_("{state} has already replied"), state=state.receiving),
                          kind="duplicate")
        if state.cancelled_at is not None:
            raise Refusal(phrase(N_("the inspection was cancelled")))
        body = parse_body(InspectionReplyBody, event)
        if body.decision == "refuse" and body.reason is None:
            raise Refusal(phrase(N_("a refusal must give its reason (force_majeure, over_quota, "
                                    "other)")))
        return replace(state, reply_at=event.at, decision=body.decision,
                       refusal_reason=body.reason if body.decision == "refuse" else None)

    def _arrival(self, state: InspectionState, event: Event) -> InspectionState:
        require_sender(event, state.parties, N_("inspecting or receiving State"))
        if state.decision == "refuse" or state.cancelled_at is not None:
            raise Refusal(phrase(N_("the inspection was refused or cancelled")))
        body = parse_body(ArrivalBody, event)
        entered = instant(body.entered_at) or state.entered_at or (
            event.at if body.arrival_in_area is None else None)
        arrival = instant(body.arrival_in_area) or state.arrival_in_area
        if entered is None and arrival is not None:
            entered = arrival
        return replace(state, entered_at=entered, arrival_in_area=arrival)

    def _cancellation(self, state: InspectionState, event: Event) -> InspectionState:
        require_sender(event, state.parties, N_("inspecting or receiving State"))
        if state.cancelled_at is not None:
            raise Refusal(phrase(N_("the inspection is already cancelled")), kind="duplicate")
        if state.report_at is not None:
            raise Refusal(phrase(N_("the inspection is already reported")))
        body = parse_body(CancellationBody, event)
        return replace(state, cancelled_at=event.at, cancel_reason=body.reason,
                       cancelled_by=event.sender)

    def _report(self, state: InspectionState, event: Event, ctx: Context) -> InspectionState:
        require_sender(event, [state.inspecting or ""], N_("inspecting State"))
        if state.report_at is not None:
            raise Refusal(phrase(N_("the report is already in")), kind="duplicate")
        body = parse_body(InspectionReportBody, event)
        arrival = instant(body.arrival_in_area) or state.arrival_in_area
        findings = state.findings
        if body.inspectors:
            team = maximum_finding(ctx, "INSP_TEAM", len(body.inspectors), N_("inspectors"),
                                   state.case, event.at, (event.sender,), state.parties,
                                   event.at)
            findings += (team,) if team is not None else ()
        return replace(state, report_at=event.at, arrival_in_area=arrival,
                       entered_at=state.entered_at or arrival,
                       ended_at=instant(body.ended_at), findings=findings)

    # ------------------------------------------------------------------ views

    def view(self, state: InspectionState, at: datetime, ctx: Context) -> CaseView:
        return self.view_all({state.case: state}, at, ctx).cases[0]

    def view_all(self, states: Mapping[str, InspectionState], at: datetime,
                 ctx: Context) -> MeasureView:
        requests = {
            case: QuotaRequest(
                case=case, measure="inspection", receiving=s.receiving, requesting=s.inspecting,
                at=s.requested_at, regime=s.regime or _vd_id(ctx),
                released_at=s.released_at, released_reason=FORCE_MAJEURE,
            )
            for case, s in states.items()
            if s.requested_at is not None and s.receiving and s.inspecting
        }

        def limits_of(key: QuotaRequest | QuotaKey) -> QuotaLimits:
            if key.regime != _vd_id(ctx):
                pack = next((p for p in ctx.packs if p.id == key.regime), None)
                if pack is not None:
                    return bilateral_limits(pack, "inspection")
            pack = quota_pack(ctx, INSP_QUOTA)
            if pack is None:
                return QuotaLimits(key.regime, "inspection", Limit(INSP_QUOTA, None, None))
            return inspection_limits(pack)

        limits_for = memoised(limits_of)
        decisions = decide(requests.values(), limits_for)
        cases: list[CaseView] = []
        findings: list[Finding] = []
        for case, s in states.items():
            cases.append(self._case_view(s, decisions.get(case), at, ctx))
        quotas = [v for t in tallies(requests.values(), decisions, limits_for, at)
                  for v in t.views()]
        return MeasureView(cases=tuple(cases), quotas=tuple(quotas), findings=tuple(findings))

    def _case_view(self, s: InspectionState, decision: QuotaDecision | None, at: datetime,
                   ctx: Context) -> CaseView:
        if s.requested_at is None or s.receiving is None or s.inspecting is None:
            return CaseView(case=s.case, procedure=self.name, state="empty", parties={},
                            findings=s.findings)
        parties = (s.inspecting, s.receiving)
        not_obliged = decision is not None and decision.not_obliged
        fm = s.released_at is not None
        refused = s.decision == "refuse"
        common: dict[str, Any] = {"parties": parties, "case": s.case}
        deadlines: list[Deadline] = []
        deadlines.append(ctx.period_deadline(
            "INSP_REPLY", s.requested_at, at, done_at=s.reply_at, owed_by=(s.receiving,),
            owed_to=(s.inspecting,),
            waived=not_obliged or (s.cancelled_at is not None and s.reply_at is None),
            note=_waive_note(decision) if not_obliged else None, **common,
        ))
        entry_waived = not_obliged or fm or (s.cancelled_at is not None
                                             and s.entered_at is None)
        deadlines.append(ctx.period_deadline(
            "INSP_ENTRY", s.requested_at, at, done_at=s.entered_at, owed_by=(s.receiving,),
            owed_to=(s.inspecting,), waived=entry_waived,
            note=_waive_note(decision) if not_obliged else (
                phrase(N_("force majeure")) if fm else None), **common,
        ))
        end: datetime | None = None
        if s.arrival_in_area is not None:
            duration = ctx.period_deadline(
                "INSP_DURATION", s.arrival_in_area, at, done_at=s.ended_at,
                owed_by=(s.inspecting,), owed_to=(s.receiving,), **common,
            )
            end = s.ended_at or duration.due
            if s.ended_at is None and duration.due is not None and at >= duration.due:
                duration = replace(duration, status="met", met_at=duration.due,
                                   note=phrase(N_("ended by the time limit")))
            deadlines.append(duration)
        if s.report_at is not None or (end is not None and at >= end):
            ref = ctx.find_rule("INSP_REPORT", parties, s.requested_at.date())
            deadlines.append(Deadline(
                rule="INSP_REPORT", paragraph=ref.rule.paragraph if ref else None,
                pack=ref.pack_id if ref else None, due=None,
                status=deadline_status(None, at, s.report_at),
                owed_by=(s.inspecting,), owed_to=("all",), met_at=s.report_at,
                note=phrase(N_("without delay (no number in the pack)")),
                title=ref.rule.title if ref
                else None, case=s.case,
            ))
        findings = list(s.findings)
        if decision is not None and decision.not_obliged:
            findings.append(Finding(
                kind="quota", message=phrase(N_("inspection request {case} from {state} is "
                                                "over quota: {reason}"), case=s.case,
                                             state=s.inspecting, reason=decision.reason),
                case=s.case, at=s.requested_at,
                rule=decision.rule, paragraph=decision.paragraph,
                states=(s.receiving, s.inspecting)))
        elif (refused and s.refusal_reason != FORCE_MAJEURE and decision is not None
              and decision.verdict == "within" and s.reply_at is not None):
            findings.append(Finding(
                kind="violation", message=phrase(N_("{state} refused inspection {case} within "
                                                    "its quota ({refusal}): {reason}"),
                                                 state=s.receiving, case=s.case,
                                                 refusal=s.refusal_reason,
                                                 reason=decision.reason), case=s.case,
                at=s.reply_at, rule=decision.rule, paragraph=decision.paragraph,
                states=(s.receiving,)))
        return CaseView(
            case=s.case, procedure=self.name, state=_state_name(s, decision, at, end),
            parties={"inspecting": (s.inspecting,), "receiving": (s.receiving,),
                     "guests": s.guests},
            deadlines=tuple(deadlines), findings=tuple(findings),
            details=_details(s, decision),
        )


def _vd_id(ctx: Context) -> str:
    ref = ctx.find_rule(INSP_QUOTA)
    return ref.pack_id if ref is not None else "vd2011"


def _waive_note(decision: QuotaDecision | None) -> str:
    if decision is None:
        return ""
    return phrase(N_("not owed: over quota ({rule}): {reason}"), rule=decision.rule,
                  reason=decision.reason)


def _state_name(s: InspectionState, decision: QuotaDecision | None, at: datetime,
                end: datetime | None) -> str:
    if s.cancelled_at is not None:
        return "cancelled_force_majeure" if s.cancel_reason == FORCE_MAJEURE else "cancelled"
    if s.report_at is not None:
        return "reported"
    if s.decision == "refuse":
        return "refused_force_majeure" if s.refusal_reason == FORCE_MAJEURE else "refused"
    if s.decision == "accept":
        if s.arrival_in_area is not None:
            return "ended" if end is not None and at >= end else "in_area"
        return "entered" if s.entered_at is not None else "accepted"
    if decision is not None and decision.not_obliged:
        return "over_quota"
    return "requested"


def _details(s: InspectionState, decision: QuotaDecision | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "regime": s.regime,
        "reasons": s.reasons,
        "area_km2": s.area_km2,
        "inspectors": list(s.inspectors),
        "reply": None if s.reply_at is None else {
            "at": iso(s.reply_at), "decision": s.decision, "reason": s.refusal_reason},
        "entered_at": None if s.entered_at is None else iso(s.entered_at),
        "arrival_in_area": None if s.arrival_in_area is None else iso(s.arrival_in_area),
    }
    if s.cancelled_at is not None:
        out["cancelled"] = {"at": iso(s.cancelled_at), "by": s.cancelled_by,
                            "reason": s.cancel_reason}
    if decision is not None:
        out["quota"] = {
            "verdict": decision.verdict, "rule": decision.rule,
            "paragraph": decision.paragraph, "reason": decision.reason,
            "counted": decision.counts and s.released_at is None,
        }
        if s.released_at is not None:
            out["quota"]["not_counted"] = INSP_FORCE_MAJEURE
    return out


MEASURE = Inspection()
