"""Chapter VI observation of certain military activities: invitation and replies.

Source: VD 2011 Chapter VI as the digest gives it (§8): the host State invites all other
participating States when the observation thresholds are met (OBS_INVITE, VI-1, VI-2; an
activity without advance notice only if it lasts more than 72 hours, OBS_SNAP_72H,
VI-3); the invitation goes with the notification, 42 days or more before the start
(OBS_INVITE_TIMING, VI-4) and carries the programme (VI-7); each invited State may send up
to OBS_MAX observers (VI-5) and replies within OBS_REPLY of the invitation with their
names and ranks; silence means no observers (VI-6). Every number comes from the packs.

Messages:

``observation.invitation``  host → all (or listed) States: the activity (``activity``: its
                            name or the label of its notification), the programme, and
                            optionally the forces, kind and dates so the thresholds and
                            the timing can be checked. An invitation for an activity below
                            the thresholds (or ``voluntary: true``) is recorded as
                            voluntary: no timing is owed for it;
``observation.reply``       an invited State → host: ``accept`` with its observers (names,
                            ranks), or ``decline``.

A reply from a State that was not invited, a second reply, or more observers than
OBS_MAX allows is refused. After the reply deadline a State that has not answered is
taken to decline: its deadline is waived ("silence = decline"), not missed — sending
observers is a right, not a duty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from csbm.domain.activity import ActivityKind, Forces
from csbm.domain.records import quick_init
from csbm.domain.states import PARTICIPATING_STATES
from csbm.domain.time import iso
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body, instant, instant_text, parse_body
from csbm.procedures.base import (
    ALL,
    CaseView,
    Context,
    Deadline,
    Event,
    Finding,
    Procedure,
    Refusal,
    deadline_status,
    join_notes,
    require_sender,
)
from csbm.rules.evaluate import duration_exceeds, threshold_met, within_maximum
from csbm.rules.pack import DurationSpec, MaximumSpec, ThresholdSpec


class Programme(Body):
    """The general programme sent with the invitation (digest VI-7)."""

    assembly_at: str | None = Field(default=None, description="date and time of assembly")
    assembly_place: str | None = None
    start: str | None = Field(default=None, description="start of the programme")
    end: str | None = Field(default=None, description="planned end of the programme")
    languages: list[str] = Field(default_factory=list, description="interpretation")
    board_lodging: str | None = None
    transport: str | None = None
    equipment: str | None = Field(default=None, description="observation equipment issued")
    own_equipment_allowed: bool | None = None
    clothing: str | None = None
    notes: str | None = None

    @field_validator("assembly_at", "start", "end")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        return instant_text(value)


class InvitationBody(Body):
    """``observation.invitation``: the activity and the programme."""

    activity: str = Field(min_length=1,
                          description="the notified activity (name or notification case)")
    programme: Programme
    voluntary: bool = Field(default=False,
                            description="invited although below the thresholds")
    activity_kind: ActivityKind | None = None
    activity_start: str | None = Field(default=None, description="start of the activity")
    activity_end: str | None = None
    forces: Forces | None = Field(default=None, description="peak forces, to test OBS_INVITE")

    @field_validator("activity_start", "activity_end")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        return instant_text(value)


class Observer(Body):
    name: str = Field(min_length=1)
    rank: str | None = Field(default=None, description="required for military observers")
    civilian: bool = False

    @model_validator(mode="after")
    def _rank(self) -> Observer:
        if not self.civilian and not self.rank:
            raise ValueError("a military observer needs a rank (or civilian: true)")
        return self


class ReplyBody(Body):
    """``observation.reply``: accept with observers, or decline."""

    decision: Literal["accept", "decline"]
    observers: list[Observer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _observers(self) -> ReplyBody:
        if self.decision == "accept" and not self.observers:
            raise ValueError("an acceptance names its observers")
        if self.decision == "decline" and self.observers:
            raise ValueError("a decline names no observers")
        return self


@quick_init
@dataclass(frozen=True, slots=True)
class Reply:
    state: str
    at: datetime
    decision: str
    observers: tuple[tuple[str, str | None, bool], ...]


@quick_init
@dataclass(frozen=True, slots=True)
class ObservationState:
    case: str
    invited_at: datetime | None = None
    host: str | None = None
    invited: tuple[str, ...] = ()
    activity: str | None = None
    activity_kind: str | None = None
    activity_start: datetime | None = None
    observable: bool | None = None
    observable_why: str | None = None
    voluntary: bool = False
    programme: Mapping[str, Any] | None = None
    replies: tuple[Reply, ...] = ()

    def reply_of(self, state: str) -> Reply | None:
        return next((r for r in self.replies if r.state == state), None)


class Observation(Procedure[ObservationState]):
    """Chapter VI invitations to observe, and the invited States' replies."""

    name = "observation"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "observation.invitation": InvitationBody,
        "observation.reply": ReplyBody,
    }

    def initial(self, case: str) -> ObservationState:
        return ObservationState(case=case)

    def apply(self, state: ObservationState, event: Event, ctx: Context) -> ObservationState:
        if event.type == "observation.invitation":
            return self._invitation(state, event, ctx)
        return self._reply(state, event, ctx)

    def _invitation(self, state: ObservationState, event: Event,
                    ctx: Context) -> ObservationState:
        if state.invited_at is not None:
            raise Refusal(phrase(N_("this case already holds an invitation; one case is one "
                                    "invitation")), kind="duplicate")
        body = parse_body(InvitationBody, event)
        host = event.sender
        if event.to_all:
            everyone = ctx.participants or tuple(s.code for s in PARTICIPATING_STATES)
            invited = tuple(s for s in everyone if s != host)
        else:
            invited = tuple(s for s in event.recipients if s != host)
        if not invited:
            raise Refusal(phrase(N_("an invitation needs at least one invited State")))
        observable, why = _observable(body, ctx)
        return replace(
            state, invited_at=event.at, host=host, invited=invited, activity=body.activity,
            activity_kind=None if body.activity_kind is None else str(body.activity_kind),
            activity_start=instant(body.activity_start), observable=observable,
            observable_why=why, voluntary=body.voluntary or observable is False,
            programme=body.programme.model_dump(mode="json", exclude_none=True),
        )

    def _reply(self, state: ObservationState, event: Event, ctx: Context) -> ObservationState:
        if state.invited_at is None or state.host is None:
            raise Refusal(phrase(N_("observation.reply before any invitation in this case")),
                          kind="out_of_order")
        require_sender(event, state.invited, N_("invited State"))
        if state.reply_of(event.sender) is not None:
            raise Refusal(phrase(N_("{state} has already replied"), state=event.sender),
                          kind="duplicate")
        body = parse_body(ReplyBody, event)
        ref = ctx.find_rule("OBS_MAX", (state.host, event.sender), event.at.date())
        if ref is not None and isinstance(ref.rule.spec, MaximumSpec):
            ok = within_maximum(ref.rule.spec, len(body.observers))
            if ok is False:
                raise Refusal(phrase(N_("{n} observers; at most {limit} per invited State"),
                                     n=len(body.observers), limit=ref.rule.spec.count),
                              rule="OBS_MAX")
        reply = Reply(event.sender, event.at, body.decision,
                      tuple((o.name, o.rank, o.civilian) for o in body.observers))
        return replace(state, replies=(*state.replies, reply))

    def view(self, state: ObservationState, at: datetime, ctx: Context) -> CaseView:
        s = state
        if s.invited_at is None or s.host is None:
            return CaseView(case=s.case, procedure=self.name, state="empty", parties={})
        deadlines: list[Deadline] = []
        findings: list[Finding] = []
        timing_applies = (not s.voluntary and s.activity_start is not None
                          and s.activity_kind != ActivityKind.ALERT)
        if timing_applies and s.activity_start is not None:
            deadlines.append(ctx.period_deadline(
                "OBS_INVITE_TIMING", s.activity_start, at, done_at=s.invited_at,
                owed_by=(s.host,), owed_to=(ALL,), case=s.case))
        due: datetime | None = None
        pending: list[str] = []
        silent: list[str] = []
        # one look-up for all invited States unless a bilateral pack sets its own OBS_REPLY
        per_pair = any(p.parties != ALL and p.get("OBS_REPLY") is not None for p in ctx.packs)
        template = ctx.period_deadline("OBS_REPLY", s.invited_at, at, owed_to=(s.host,),
                                       case=s.case)
        replies = {r.state: r for r in s.replies}
        for invited in s.invited:
            reply = replies.get(invited)
            done = None if reply is None else reply.at
            if per_pair:
                d = ctx.period_deadline("OBS_REPLY", s.invited_at, at, done_at=done,
                                        parties=(s.host, invited), owed_by=(invited,),
                                        owed_to=(s.host,), case=s.case)
            else:
                d = replace(template, owed_by=(invited,),
                            status=deadline_status(template.due, at, done),
                            met_at=done if done is not None and done <= at else None)
            due = d.due
            if reply is None and d.status == "missed":
                d = replace(d, status="waived",
                            note=phrase(N_("no reply: taken as declining (silence = "
                                           "decline)")))
                silent.append(invited)
            elif reply is None:
                pending.append(invited)
            deadlines.append(d)
        accepted = {r.state: [_observer(o) for o in r.observers]
                    for r in s.replies if r.decision == "accept"}
        late = [r.state for r in s.replies if due is not None and r.at > due]
        details: dict[str, Any] = {
            "activity": s.activity,
            "voluntary": s.voluntary,
            "observable": s.observable,
            "observable_reason": s.observable_why,
            "programme": dict(s.programme or {}),
            "reply_due": None if due is None else iso(due),
            "accepted": accepted,
            "declined": sorted(r.state for r in s.replies if r.decision == "decline"),
            "late": sorted(late),
            "silent": silent,
            "pending": pending,
            "observers_total": sum(len(v) for v in accepted.values()),
        }
        name = "replies_closed" if due is not None and at > due else "awaiting_replies"
        if not pending:
            name = "replies_closed"
        return CaseView(
            case=s.case, procedure=self.name, state=name,
            parties={"host": (s.host,), "invited": s.invited}, deadlines=tuple(deadlines),
            findings=tuple(findings), details=details,
        )


def _observer(o: tuple[str, str | None, bool]) -> dict[str, Any]:
    name, rank, civilian = o
    return {"name": name, "rank": rank, "civilian": civilian}


def _observable(body: InvitationBody, ctx: Context) -> tuple[bool | None, str | None]:
    """Whether the activity reaches the observation thresholds (OBS_INVITE, OBS_SNAP_72H)."""
    if body.forces is None:
        return None, None
    ref = ctx.find_rule("OBS_INVITE")
    if ref is None or not isinstance(ref.rule.spec, ThresholdSpec):
        return None, phrase(N_("no pack sets OBS_INVITE"))
    met, names = threshold_met(ref.rule.spec, body.forces)
    if met is False:
        return False, phrase(N_("below the observation thresholds (OBS_INVITE): voluntary "
                                "invitation"))
    if met is None:
        return None, phrase(N_("not known whether the observation thresholds are met"))
    why = phrase(N_("observation thresholds met: {criteria} (OBS_INVITE)"),
                 criteria=", ".join(names))
    if body.activity_kind == ActivityKind.ALERT:
        snap = ctx.find_rule("OBS_SNAP_72H")
        start, end = instant(body.activity_start), instant(body.activity_end)
        if snap is not None and isinstance(snap.rule.spec, DurationSpec):
            hours = None if start is None or end is None else (
                (end - start).total_seconds() / 3600)
            longer = duration_exceeds(snap.rule.spec, hours)
            if longer is False:
                return False, phrase(N_("activity without advance notice not longer than "
                                        "the OBS_SNAP_72H limit: voluntary invitation"))
            if longer is None:
                return None, join_notes(why, phrase(N_("duration unknown (OBS_SNAP_72H)")))
    return True, why


MEASURE = Observation()
