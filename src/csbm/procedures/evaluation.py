"""Chapter IX evaluation visits: request, reply, report — with the passive quota.

Source: VD 2011 Chapter IX as the digest gives it (§11.2, text of the older Document,
¶105–108): the passive quota of one visit per 60 units reported in the annual exchange
or part thereof, at most 15 (EVAL_QUOTA, IX-E3); at most a fifth from one State, one if
the quota is below five (EVAL_PER_STATE, IX-E4); a unit at most twice a year and once by
the same State (EVAL_PER_UNIT, EVAL_PER_UNIT_SAME_STATE, IX-E5); one visit at a time
(EVAL_CONCURRENT, IX-E7); a filled quota announced to all (EVAL_QUOTA_FILLED, IX-E6);
the request at least EVAL_NOTICE before the visit and the reply within EVAL_REPLY (IX-E9,
IX-E10, both [U-L]); the visit lasting EVAL_DURATION (IX-E11) with a team of at most
EVAL_TEAM (IX-E12). Bilateral packs may add a quota of their own (BILAT_EVAL_QUOTA).
Every number comes from the packs.

The units a receiving State reported come from the context (``Context.units_reported``):
the scenario's ``units`` table or accepted ``aemi`` messages (``units: 130``). Unknown
units make the quota "unknown", never a guess. The quota year is the UTC calendar year of
the request.

Messages:

``evaluation.request``       inspecting → receiving State: the unit, the proposed time of
                             the visit (``visit_at``), point of entry, team;
``evaluation.reply``         receiving → inspecting State: ``accept`` (optionally with the
                             confirmed ``visit_at``) or ``refuse`` with a reason
                             (``over_quota``, ``concurrent``, ``unit_absent`` (IX-E13),
                             ``force_majeure``, ``other``);
``evaluation.cancellation``  either side calls the visit off;
``evaluation.report``        inspecting State → all: when the visit started and ended;
``evaluation.quota_filled``  receiving State → all: its quota for ``year`` is filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from csbm.domain.records import quick_init
from csbm.domain.time import iso
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body, instant, instant_text, parse_body, state_code
from csbm.procedures._quota import (
    EVAL_QUOTA,
    EVAL_QUOTA_FILLED,
    Limit,
    QuotaDecision,
    QuotaKey,
    QuotaLimits,
    QuotaRequest,
    Tally,
    bilateral_limits,
    decide,
    evaluation_limits,
    memoised,
    tallies,
    verdict_word,
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
    due_after,
    require_sender,
)
from csbm.procedures.inspection import bilateral_pack, maximum_finding, quota_pack
from csbm.rules.pack import PeriodSpec

ReplyReason = Literal["over_quota", "concurrent", "unit_absent", "force_majeure", "other"]
_LEGITIMATE = ("unit_absent", "force_majeure")


class EvaluationRequestBody(Body):
    """``evaluation.request``: which unit, when, who (digest IX-E9)."""

    receiving_state: str
    inspecting_state: str | None = Field(default=None, description="default: the sender")
    unit: str = Field(min_length=1, description="the formation or unit to be visited")
    visit_at: str = Field(description="proposed start of the visit")
    point_of_entry: str | None = None
    team: list[str] = Field(default_factory=list, description="members (EVAL_TEAM)")
    interpreter: str | None = Field(default=None, description="auxiliary member")
    regime: str | None = Field(default=None,
                               description="a bilateral pack id: count against its quota")

    @field_validator("receiving_state", "inspecting_state")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return None if value is None else state_code(value)

    @field_validator("visit_at")
    @classmethod
    def _instant(cls, value: str) -> str | None:
        return instant_text(value)


class EvaluationReplyBody(Body):
    """``evaluation.reply``: accept (with the confirmed time) or refuse with a reason."""

    decision: Literal["accept", "refuse"]
    reason: ReplyReason | None = Field(default=None, description="required to refuse")
    visit_at: str | None = Field(default=None, description="confirmed start, if different")
    explanation: str | None = None

    @field_validator("visit_at")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        return instant_text(value)


class EvaluationCancellationBody(Body):
    """``evaluation.cancellation``: the visit is called off."""

    reason: str | None = None


class EvaluationReportBody(Body):
    """``evaluation.report``: the visit as it took place."""

    visit_start: str | None = None
    visit_end: str | None = None
    summary: str | None = None
    team: list[str] = Field(default_factory=list)

    @field_validator("visit_start", "visit_end")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        return instant_text(value)


class QuotaFilledBody(Body):
    """``evaluation.quota_filled``: the sender's quota for ``year`` is filled (IX-E6)."""

    year: int = Field(ge=1990, le=2200)


@quick_init
@dataclass(frozen=True, slots=True)
class EvaluationState:
    case: str
    requested_at: datetime | None = None
    inspecting: str | None = None
    receiving: str | None = None
    regime: str | None = None
    unit: str | None = None
    visit_at: datetime | None = None
    team: tuple[str, ...] = ()
    reply_at: datetime | None = None
    decision: str | None = None
    refusal_reason: str | None = None
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    report_at: datetime | None = None
    visit_start: datetime | None = None
    visit_end: datetime | None = None
    announced: tuple[str, int, datetime] | None = None  # (State, year, when)
    findings: tuple[Finding, ...] = ()

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(s for s in (self.inspecting, self.receiving) if s)

    @property
    def start(self) -> datetime | None:
        """When the visit starts (or started): reported, confirmed, else proposed."""
        return self.visit_start or self.confirmed_at or self.visit_at

    @property
    def closed_at(self) -> datetime | None:
        if self.decision == "refuse":
            return self.reply_at
        return self.cancelled_at


class Evaluation(Procedure[EvaluationState]):
    """Chapter IX evaluation visits with their quota."""

    name = "evaluation"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "evaluation.request": EvaluationRequestBody,
        "evaluation.reply": EvaluationReplyBody,
        "evaluation.cancellation": EvaluationCancellationBody,
        "evaluation.report": EvaluationReportBody,
        "evaluation.quota_filled": QuotaFilledBody,
    }

    def initial(self, case: str) -> EvaluationState:
        return EvaluationState(case=case)

    # ------------------------------------------------------------------ transitions

    def apply(self, state: EvaluationState, event: Event, ctx: Context) -> EvaluationState:
        if event.type == "evaluation.quota_filled":
            return self._announce(state, event)
        if event.type == "evaluation.request":
            return self._request(state, event, ctx)
        if state.requested_at is None:
            raise Refusal(phrase(N_("{kind} before any evaluation.request in this case"),
                                 kind=event.type), kind="out_of_order")
        if event.type == "evaluation.reply":
            return self._reply(state, event)
        if event.type == "evaluation.cancellation":
            require_sender(event, state.parties, N_("inspecting or receiving State"))
            if state.cancelled_at is not None:
                raise Refusal(phrase(N_("the visit is already cancelled")), kind="duplicate")
            parse_body(EvaluationCancellationBody, event)
            return replace(state, cancelled_at=event.at)
        return self._report(state, event, ctx)

    def _announce(self, state: EvaluationState, event: Event) -> EvaluationState:
        if state.requested_at is not None or state.announced is not None:
            raise Refusal(phrase(N_("a quota announcement is a case of its own")),
                          kind="duplicate")
        body = parse_body(QuotaFilledBody, event)
        return replace(state, announced=(event.sender, body.year, event.at))

    def _request(self, state: EvaluationState, event: Event, ctx: Context) -> EvaluationState:
        if state.requested_at is not None or state.announced is not None:
            raise Refusal(phrase(N_("this case already holds an evaluation request; one case "
                                    "is one request")), kind="duplicate")
        body = parse_body(EvaluationRequestBody, event)
        inspecting = body.inspecting_state or event.sender
        if inspecting != event.sender:
            raise Refusal(phrase(N_("the request names {state} as inspecting State but was "
                                    "sent by {sender}"), state=inspecting, sender=event.sender),
                          kind="not_a_party")
        if body.receiving_state == inspecting:
            raise Refusal(phrase(N_("a State cannot evaluate itself")))
        parties = (inspecting, body.receiving_state)
        if body.regime is not None:
            bilateral_pack(ctx, body.regime, "evaluation", parties, event.at)
        team = maximum_finding(ctx, "EVAL_TEAM", len(body.team), N_("team members (interpreter "
                               "apart)"), state.case, event.at, (inspecting,), parties, event.at)
        return replace(
            state, requested_at=event.at, inspecting=inspecting,
            receiving=body.receiving_state, regime=body.regime, unit=body.unit,
            visit_at=instant(body.visit_at), team=tuple(body.team),
            findings=state.findings + ((team,) if team else ()),
        )

    def _reply(self, state: EvaluationState, event: Event) -> EvaluationState:
        require_sender(event, [state.receiving or ""], N_("receiving State"))
        if state.reply_at is not None:
            raise Refusal(phrase(N_("{state} has already replied"), state=state.receiving),
                          kind="duplicate")
        if state.cancelled_at is not None:
            raise Refusal(phrase(N_("the visit was cancelled")))
        body = parse_body(EvaluationReplyBody, event)
        if body.decision == "refuse" and body.reason is None:
            raise Refusal(phrase(N_("a refusal must give its reason")))
        return replace(state, reply_at=event.at, decision=body.decision,
                       refusal_reason=body.reason if body.decision == "refuse" else None,
                       confirmed_at=instant(body.visit_at))

    def _report(self, state: EvaluationState, event: Event, ctx: Context) -> EvaluationState:
        require_sender(event, [state.inspecting or ""], N_("inspecting State"))
        if state.report_at is not None:
            raise Refusal(phrase(N_("the report is already in")), kind="duplicate")
        body = parse_body(EvaluationReportBody, event)
        findings = state.findings
        if body.team:
            team = maximum_finding(ctx, "EVAL_TEAM", len(body.team), N_("team members "
                                   "(interpreter apart)"), state.case, event.at,
                                   (event.sender,), state.parties, event.at)
            findings += (team,) if team else ()
        return replace(state, report_at=event.at, visit_start=instant(body.visit_start),
                       visit_end=instant(body.visit_end), findings=findings)

    # ------------------------------------------------------------------ views

    def view(self, state: EvaluationState, at: datetime, ctx: Context) -> CaseView:
        return self.view_all({state.case: state}, at, ctx).cases[0]

    def view_all(self, states: Mapping[str, EvaluationState], at: datetime,
                 ctx: Context) -> MeasureView:
        vd = quota_pack(ctx, EVAL_QUOTA)
        vd_id = vd.id if vd is not None else "vd2011"
        requests: dict[str, QuotaRequest] = {}
        for case, s in states.items():
            if s.requested_at is None or s.receiving is None or s.inspecting is None:
                continue
            start = s.start
            end = s.visit_end or (_visit_end(ctx, start, s.parties) if start else None)
            requests[case] = QuotaRequest(
                case=case, measure="evaluation", receiving=s.receiving,
                requesting=s.inspecting, at=s.requested_at, regime=s.regime or vd_id,
                unit=s.unit, visit_start=start, visit_end=end, closed_at=s.closed_at,
            )

        def limits_of(key: QuotaRequest | QuotaKey) -> QuotaLimits:
            if key.regime != vd_id:
                pack = next((p for p in ctx.packs if p.id == key.regime), None)
                if pack is not None:
                    return bilateral_limits(pack, "evaluation")
            units = ctx.units_reported(key.receiving, key.year)
            if vd is None:
                return QuotaLimits(key.regime, "evaluation", Limit(EVAL_QUOTA, None, None),
                                   units=units)
            return evaluation_limits(vd, units)

        limits_for = memoised(limits_of)
        decisions = decide(requests.values(), limits_for)
        counted = tallies(requests.values(), decisions, limits_for, at)
        announcements = {
            (s.announced[0], s.announced[1]): s.announced[2]
            for s in states.values() if s.announced is not None and s.announced[2] <= at
        }
        filled_by: dict[str, Tally] = {}
        findings: list[Finding] = []
        for tally in counted:
            if tally.key.regime != vd_id or not tally.filled or tally.filled_at is None:
                continue
            filler = tally.counted[tally.quota - 1] if tally.quota else None
            if filler is not None:
                filled_by[filler] = tally
            if (tally.key.receiving, tally.key.year) not in announcements:
                ref = ctx.find_rule(EVAL_QUOTA_FILLED)
                findings.append(Finding(
                    kind="obligation", rule=EVAL_QUOTA_FILLED,
                    paragraph=ref.rule.paragraph if ref else None, at=tally.filled_at,
                    case=filler, states=(tally.key.receiving,),
                    message=phrase(N_("{state}'s evaluation quota for {year} is filled "
                                      "({used} of {quota}): it is to announce this to all "
                                      "participating States ({rule})"),
                                   state=tally.key.receiving, year=tally.key.year,
                                   used=tally.used, quota=tally.quota, rule=EVAL_QUOTA_FILLED)))
        cases = []
        for case, s in states.items():
            if s.announced is not None:
                cases.append(self._announcement_view(s, counted, vd_id))
            else:
                cases.append(self._case_view(s, decisions.get(case), filled_by.get(case),
                                             announcements, at, ctx))
        quotas = [
            v for t in counted
            for v in replace(t, announced_at=announcements.get((t.key.receiving, t.key.year))
                             if t.key.regime == vd_id else None).views()
        ]
        return MeasureView(cases=tuple(cases), quotas=tuple(quotas), findings=tuple(findings))

    def _announcement_view(self, s: EvaluationState, counted: list[Tally],
                           vd_id: str) -> CaseView:
        assert s.announced is not None
        state, year, when = s.announced
        tally = next((t for t in counted if t.key == QuotaKey(vd_id, "evaluation", state,
                                                               year)), None)
        findings = list(s.findings)
        if tally is None or not tally.filled:
            used = 0 if tally is None else tally.used
            quota = None if tally is None else tally.quota
            findings.append(Finding(
                kind="inconsistency", rule=EVAL_QUOTA_FILLED, case=s.case, at=when,
                states=(state,), message=phrase(
                    N_("{state} announced its evaluation quota for {year} filled, but {used} "
                       "of {quota} are used"), state=state, year=year, used=used,
                    quota=quota if quota is not None else "?")))
        return CaseView(
            case=s.case, procedure=self.name, state="quota_filled_announced",
            parties={"receiving": (state,)}, findings=tuple(findings),
            details={"year": year, "announced_at": iso(when),
                     "used": None if tally is None else tally.used,
                     "quota": None if tally is None else tally.quota},
        )

    def _case_view(self, s: EvaluationState, decision: QuotaDecision | None,
                   filled: Tally | None, announcements: Mapping[tuple[str, int], datetime],
                   at: datetime, ctx: Context) -> CaseView:
        if s.requested_at is None or s.receiving is None or s.inspecting is None:
            return CaseView(case=s.case, procedure=self.name, state="empty", parties={},
                            findings=s.findings)
        parties = (s.inspecting, s.receiving)
        not_obliged = decision is not None and decision.not_obliged
        common: dict[str, Any] = {"parties": parties, "case": s.case}
        deadlines: list[Deadline] = []
        if s.visit_at is not None:
            deadlines.append(ctx.period_deadline(
                "EVAL_NOTICE", s.visit_at, at, done_at=s.requested_at,
                owed_by=(s.inspecting,), owed_to=(s.receiving,), **common))
        deadlines.append(ctx.period_deadline(
            "EVAL_REPLY", s.requested_at, at, done_at=s.reply_at, owed_by=(s.receiving,),
            owed_to=(s.inspecting,),
            waived=not_obliged or (s.cancelled_at is not None and s.reply_at is None),
            note=phrase(N_("not owed: {verdict!t} ({rule}): {reason}"),
                        verdict=verdict_word(decision.verdict), rule=decision.rule,
                        reason=decision.reason) if decision is not None and not_obliged else None,
            **common))
        start = s.start
        end: datetime | None = None
        if (s.decision == "accept" and s.cancelled_at is None and start is not None
                and (s.report_at is not None or at >= start)):
            duration = ctx.period_deadline(
                "EVAL_DURATION", start, at, done_at=s.visit_end, owed_by=(s.inspecting,),
                owed_to=(s.receiving,), **common)
            end = s.visit_end or duration.due
            if s.visit_end is None and duration.due is not None and at >= duration.due:
                duration = replace(duration, status="met", met_at=duration.due,
                                   note=phrase(N_("ended by the time limit")))
            deadlines.append(duration)
        if filled is not None:
            when = announcements.get((filled.key.receiving, filled.key.year))
            ref = ctx.find_rule(EVAL_QUOTA_FILLED)
            deadlines.append(Deadline(
                rule=EVAL_QUOTA_FILLED, paragraph=ref.rule.paragraph if ref else None,
                pack=ref.pack_id if ref else None, due=None,
                status=deadline_status(None, at, when), owed_by=(s.receiving,),
                owed_to=("all",), met_at=when, title=ref.rule.title if ref else None,
                note=phrase(N_("this request filled {state}'s {year} quota ({quota}); "
                               "announce it to all"), state=s.receiving, year=filled.key.year,
                            quota=filled.quota), case=s.case))
        findings = list(s.findings)
        if decision is not None and not_obliged:
            findings.append(Finding(
                kind="quota", message=phrase(N_("evaluation request {case} from {state} is "
                                                "{verdict!t}: {reason}"), case=s.case,
                                             state=s.inspecting,
                                             verdict=verdict_word(decision.verdict),
                                             reason=decision.reason), case=s.case,
                at=s.requested_at, rule=decision.rule, paragraph=decision.paragraph,
                states=(s.receiving, s.inspecting)))
        elif (s.decision == "refuse" and s.refusal_reason not in _LEGITIMATE
              and decision is not None and decision.verdict == "within"
              and s.reply_at is not None):
            findings.append(Finding(
                kind="violation", message=phrase(N_("{state} refused evaluation visit {case} "
                                                    "within its quota ({refusal}): {reason}"),
                                                 state=s.receiving, case=s.case,
                                                 refusal=s.refusal_reason,
                                                 reason=decision.reason), case=s.case,
                at=s.reply_at, rule=decision.rule, paragraph=decision.paragraph,
                states=(s.receiving,)))
        return CaseView(
            case=s.case, procedure=self.name, state=_state_name(s, decision, at, end),
            parties={"inspecting": (s.inspecting,), "receiving": (s.receiving,)},
            deadlines=tuple(deadlines), findings=tuple(findings),
            details=_details(s, decision, ctx),
        )


def _visit_end(ctx: Context, start: datetime, parties: tuple[str, ...]) -> datetime | None:
    ref = ctx.find_rule("EVAL_DURATION", parties, start.date())
    if ref is None or not isinstance(ref.rule.spec, PeriodSpec):
        return None
    return due_after(ref.rule.spec, start, "EVAL_DURATION")


def _state_name(s: EvaluationState, decision: QuotaDecision | None, at: datetime,
                end: datetime | None) -> str:
    if s.cancelled_at is not None:
        return "cancelled"
    if s.report_at is not None:
        return "reported"
    if s.decision == "refuse":
        return "refused"
    if s.decision == "accept":
        start = s.start
        if start is not None and at >= start:
            return "visit_over" if end is not None and at >= end else "visiting"
        return "accepted"
    if decision is not None and decision.not_obliged:
        return decision.verdict
    return "requested"


def _details(s: EvaluationState, decision: QuotaDecision | None,
             ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {
        "regime": s.regime,
        "unit": s.unit,
        "visit_at": None if s.visit_at is None else iso(s.visit_at),
        "team": list(s.team),
        "reply": None if s.reply_at is None else {
            "at": iso(s.reply_at), "decision": s.decision, "reason": s.refusal_reason,
            "visit_at": None if s.confirmed_at is None else iso(s.confirmed_at)},
    }
    if s.report_at is not None:
        out["visit"] = {"start": None if s.visit_start is None else iso(s.visit_start),
                        "end": None if s.visit_end is None else iso(s.visit_end)}
    if s.receiving is not None and s.requested_at is not None:
        out["units_reported"] = ctx.units_reported(s.receiving, s.requested_at.year)
    if decision is not None:
        out["quota"] = {"verdict": decision.verdict, "rule": decision.rule,
                        "paragraph": decision.paragraph, "reason": decision.reason,
                        "counted": decision.counts}
    return out


MEASURE = Evaluation()
