"""Chapter III ¶16: consultation and co-operation as regards unusual military activities.

Source: VD 2011 ¶16.1–16.3 as the pack ``vd2011`` encodes them (CH3_REPLY ¶16.1.3,
CH3_MEET_BILAT ¶16.2.1, CH3_MEET_ALL ¶16.3); the public record of February 2022
(Ukraine → Russia; the Baltic States → Belarus, ``examples/``).

The meeting of all participating States is one provision (official Hungarian translation,
Government Resolution 1686/2017, ¶16.3–16.3.1.1): a requesting State asks for it (¶16.3),
the Chairperson-in-Office convenes it within 48 hours (¶16.3.1), and the Permanent Council
and the FSC serve jointly as its forum (¶16.3.1.1) — the "joint FSC–PC meeting" of
practice. ``scope: joint``, which earlier versions read as a separate meeting, is read as
``all`` so that messages already in a log stay valid.

Messages:

``ch3.request``          a request for explanation, from one State on behalf of one or
                         several (``on_behalf_of``), to the responding State;
``ch3.reply``            the responding State's reply, through the OSCE channel: a statement
                         elsewhere (``channel: press``) is not a reply;
``ch3.reply_assessment`` a requesting State marks the reply satisfactory or not, with reasons;
``ch3.meeting_request``  a requesting State asks for a meeting: with the responding State
                         (``bilateral``, ¶16.2) or of all participating States (``all``,
                         ¶16.3: the joint PC–FSC meeting; ``joint`` is the same);
``ch3.meeting``          the meeting was held: when, who attended, who stayed away and why.

Deadlines: the reply 48 h after the request (CH3_REPLY); each meeting 48 h after it was
requested (CH3_MEET_BILAT, CH3_MEET_ALL). All numbers come from the packs. Case states:
``requested``, ``no_reply``, ``replied_*``, ``reply_*``, ``meeting_requested|held`` (¶16.2)
and ``joint_meeting_requested|held`` (¶16.3, held jointly by the PC and the FSC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from csbm.domain.records import quick_init
from csbm.domain.time import iso, parse_instant
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body, InstantText, StateCode
from csbm.procedures.base import (
    CaseView,
    Context,
    Deadline,
    Event,
    Procedure,
    Refusal,
    require_sender,
)

Scope = Literal["bilateral", "all", "joint"]
"""As written in a body; ``joint`` is read as ``all`` (one provision, ¶16.3)."""
MeetingScope = Literal["bilateral", "all"]
OSCE_CHANNEL = "osce"

MEETING_RULES: dict[str, str] = {
    "bilateral": "CH3_MEET_BILAT",
    "all": "CH3_MEET_ALL",
}


def meeting_scope(written: str) -> MeetingScope:
    """The meeting a body's ``scope`` names: ``bilateral`` (¶16.2) or ``all`` (¶16.3,
    also written ``joint``: the joint PC–FSC meeting is the meeting of all States)."""
    return "bilateral" if written == "bilateral" else "all"


class RequestBody(Body):
    """``ch3.request``: the questions and for whom they are asked."""

    on_behalf_of: list[StateCode] = Field(default_factory=list,
                                          description="requesting States (the sender is one)")
    responding: StateCode | None = Field(default=None,
                                   description="the responding State if 'to' is not one State")
    activity: str | None = Field(default=None, description="the activity concerned")
    questions: list[str] = Field(default_factory=list)


class ReplyBody(Body):
    """``ch3.reply``: the responding State's explanation."""

    channel: str = Field(default=OSCE_CHANNEL,
                         description="'osce' for the OSCE Communications Network; "
                                     "anything else is a statement, not a reply")
    text: str | None = None


class AssessmentBody(Body):
    """``ch3.reply_assessment``: whether the reply answers the questions."""

    satisfactory: bool
    reasons: list[str] = Field(default_factory=list)
    on_behalf_of: list[StateCode] = Field(default_factory=list)


class MeetingRequestBody(Body):
    """``ch3.meeting_request``: which meeting is asked for."""

    scope: Scope = Field(description="'bilateral' (¶16.2) or 'all' (¶16.3, the joint PC–FSC "
                                     "meeting; 'joint' is read as 'all')")
    on_behalf_of: list[StateCode] = Field(default_factory=list)


class Absence(Body):
    state: StateCode
    reason: str | None = Field(default=None, description="the reason the State gave, if any")


class MeetingBody(Body):
    """``ch3.meeting``: a meeting held (recorded by the Chairmanship or a party)."""

    scope: Scope = Field(description="'bilateral' (¶16.2) or 'all' (¶16.3; 'joint' is read "
                                     "as 'all')")
    held_at: InstantText | None = Field(default=None,
                                description="when it was held, if not the message's time")
    attended: list[StateCode] = Field(default_factory=list)
    absent: list[Absence] = Field(default_factory=list)
    number: int | None = Field(default=None, description="e.g. the 84th joint FSC–PC meeting")
    statements: list[str] = Field(default_factory=list)


@quick_init
@dataclass(frozen=True, slots=True)
class Meeting:
    scope: MeetingScope
    requested_at: datetime
    requested_by: str
    held_at: datetime | None = None
    attended: tuple[str, ...] = ()
    absent: tuple[tuple[str, str | None], ...] = ()
    number: int | None = None
    statements: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class Ch3State:
    case: str
    requested_at: datetime | None = None
    requesters: tuple[str, ...] = ()
    responding: str | None = None
    activity: str | None = None
    reply_at: datetime | None = None
    assessments: tuple[tuple[str, bool, tuple[str, ...], datetime], ...] = ()
    meetings: tuple[Meeting, ...] = ()


class UnusualActivity(Procedure[Ch3State]):
    """The Chapter III ¶16 risk-reduction mechanism."""

    name = "chapter_iii"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "ch3.request": RequestBody,
        "ch3.reply": ReplyBody,
        "ch3.reply_assessment": AssessmentBody,
        "ch3.meeting_request": MeetingRequestBody,
        "ch3.meeting": MeetingBody,
    }

    def initial(self, case: str) -> Ch3State:
        return Ch3State(case=case)

    def apply(self, state: Ch3State, event: Event, ctx: Context) -> Ch3State:
        handler = {
            "ch3.request": self._request,
            "ch3.reply": self._reply,
            "ch3.reply_assessment": self._assessment,
            "ch3.meeting_request": self._meeting_request,
            "ch3.meeting": self._meeting,
        }[event.type]
        return handler(state, event, ctx)

    # ------------------------------------------------------------ transitions

    def _request(self, state: Ch3State, event: Event, ctx: Context) -> Ch3State:
        if state.requested_at is not None:
            raise Refusal(phrase(N_("this case already has a request (from {states} at {at}); "
                                    "open a new case"), states=", ".join(state.requesters),
                                 at=_iso(state.requested_at)), kind="duplicate")
        body = event.body
        responding = body.get("responding")
        if responding is None:
            named = [r for r in event.recipients if r != "all"]
            if len(named) != 1:
                raise Refusal(phrase(N_("name the responding State: 'to' one State, or "
                                        "body.responding")))
            responding = named[0]
        requesters = tuple(dict.fromkeys([event.sender, *body.get("on_behalf_of", [])]))
        if responding in requesters:
            raise Refusal(phrase(N_("{state} cannot request an explanation from itself"),
                                 state=responding))
        return replace(state, requested_at=event.at, requesters=requesters,
                       responding=responding, activity=body.get("activity"))

    def _need_request(self, state: Ch3State, event: Event) -> None:
        if state.requested_at is None:
            raise Refusal(phrase(N_("no ch3.request in this case before this {kind}"),
                                 kind=event.type), kind="out_of_sequence")

    def _reply(self, state: Ch3State, event: Event, ctx: Context) -> Ch3State:
        self._need_request(state, event)
        require_sender(event, [state.responding or ""], N_("responding State"))
        channel = event.body.get("channel", OSCE_CHANNEL)
        if channel != OSCE_CHANNEL:
            raise Refusal(phrase(N_("a statement through {channel!r} is not a reply under ¶16.1 "
                                    "(only the OSCE channel counts)"), channel=channel),
                          rule="CH3_REPLY", kind="not_a_reply")
        if state.reply_at is not None:
            raise Refusal(phrase(N_("already replied at {at}"), at=_iso(state.reply_at)),
                          kind="duplicate")
        return replace(state, reply_at=event.at)

    def _assessment(self, state: Ch3State, event: Event, ctx: Context) -> Ch3State:
        self._need_request(state, event)
        require_sender(event, state.requesters, N_("requesting State"))
        if state.reply_at is None:
            raise Refusal(phrase(N_("there is no reply to assess yet")), kind="out_of_sequence")
        body = event.body
        by = tuple(dict.fromkeys([event.sender, *body.get("on_behalf_of", [])]))
        strangers = [s for s in by if s not in state.requesters]
        if strangers:
            raise Refusal(phrase(N_("{states} did not request the explanation"),
                                 states=", ".join(strangers)), kind="not_a_party")
        done = {a[0] for a in state.assessments}
        if any(s in done for s in by):
            raise Refusal(phrase(N_("{states} already assessed the reply"),
                                 states=", ".join(s for s in by if s in done)), kind="duplicate")
        reasons = tuple(body.get("reasons", []))
        added = tuple((s, bool(body["satisfactory"]), reasons, event.at) for s in by)
        return replace(state, assessments=state.assessments + added)

    def _meeting_request(self, state: Ch3State, event: Event, ctx: Context) -> Ch3State:
        self._need_request(state, event)
        require_sender(event, state.requesters, N_("requesting State"))
        scope = meeting_scope(event.body["scope"])
        if state.reply_at is None and state.requested_at is not None:
            reply = ctx.period_deadline("CH3_REPLY", state.requested_at, event.at,
                                        parties=self._parties(state))
            if reply.due is not None and event.at <= reply.due:
                raise Refusal(phrase(N_("the reply is due until {due}: a meeting is asked for "
                                        "when no reply came in time or the reply is not "
                                        "satisfactory (¶16.2, ¶16.3)"), due=_iso(reply.due)),
                              rule="CH3_REPLY", kind="out_of_sequence")
        pending = [m for m in state.meetings if m.scope == scope and m.held_at is None]
        if pending:
            raise Refusal(phrase(N_("a {meeting!t} was already requested at {at} and not yet "
                                    "held"), meeting=_SCOPE_NAMES[scope],
                                 at=_iso(pending[0].requested_at)), kind="duplicate")
        meeting = Meeting(scope=scope, requested_at=event.at, requested_by=event.sender)
        return replace(state, meetings=(*state.meetings, meeting))

    def _meeting(self, state: Ch3State, event: Event, ctx: Context) -> Ch3State:
        self._need_request(state, event)
        body = event.body
        scope = meeting_scope(body["scope"])
        held_at = parse_instant(body["held_at"]).at if body.get("held_at") else event.at
        for i, m in enumerate(state.meetings):
            if m.scope == scope and m.held_at is None and m.requested_at <= held_at:
                held = replace(
                    m,
                    held_at=held_at,
                    attended=tuple(body.get("attended", [])),
                    absent=tuple((a["state"], a.get("reason")) for a in body.get("absent", [])),
                    number=body.get("number"),
                    statements=tuple(body.get("statements", [])),
                )
                meetings = (*state.meetings[:i], held, *state.meetings[i + 1:])
                return replace(state, meetings=meetings)
        raise Refusal(phrase(N_("no {meeting!t} was requested before this one"),
                             meeting=_SCOPE_NAMES[scope]), kind="out_of_sequence")

    # ------------------------------------------------------------ view

    @staticmethod
    def _parties(state: Ch3State) -> tuple[str, ...]:
        return (*state.requesters, *([state.responding] if state.responding else []))

    def view(self, state: Ch3State, at: datetime, ctx: Context) -> CaseView:
        deadlines: list[Deadline] = []
        details: dict[str, Any] = {"activity": state.activity}
        name = "empty"
        if state.requested_at is not None and state.responding is not None:
            parties = self._parties(state)
            reply = ctx.period_deadline(
                "CH3_REPLY", state.requested_at, at, done_at=state.reply_at, parties=parties,
                owed_by=(state.responding,), owed_to=state.requesters, case=state.case,
            )
            deadlines.append(reply)
            name = "requested"
            if reply.status == "missed" and state.reply_at is None:
                name = "no_reply"
            details["requested_at"] = state.requested_at
            details["reply"] = None
            if state.reply_at is not None and state.reply_at <= at:
                on_time = None if reply.due is None else state.reply_at <= reply.due
                name = {True: "replied_on_time", False: "replied_late", None: "replied"}[on_time]
                shown = [a for a in state.assessments if a[3] <= at]
                verdict = None
                if shown:
                    verdict = "satisfactory" if all(a[1] for a in shown) else "unsatisfactory"
                    name = f"reply_{verdict}"
                details["reply"] = {
                    "at": state.reply_at,
                    "on_time": on_time,
                    "assessment": verdict,
                    "assessments": [
                        {"state": s, "satisfactory": ok, "reasons": list(r), "at": t}
                        for s, ok, r, t in shown
                    ],
                }
            meetings = []
            for m in state.meetings:
                if m.requested_at > at:
                    continue
                held = m.held_at if m.held_at is not None and m.held_at <= at else None
                rule = MEETING_RULES[m.scope]
                deadlines.append(ctx.period_deadline(
                    rule, m.requested_at, at, done_at=held, parties=parties,
                    owed_by=_meeting_owed_by(m.scope, state.responding),
                    owed_to=state.requesters, case=state.case,
                    note=phrase(N_("{meeting!t} requested by {state}"),
                                meeting=_SCOPE_NAMES[m.scope], state=m.requested_by),
                ))
                stage = "joint_meeting" if m.scope == "all" else "meeting"
                name = f"{stage}_held" if held else f"{stage}_requested"
                meetings.append({
                    "scope": m.scope,
                    "requested_at": m.requested_at,
                    "requested_by": m.requested_by,
                    "held_at": held,
                    "attended": list(m.attended) if held else [],
                    "absent": [{"state": s, "reason": r} for s, r in m.absent] if held else [],
                    "number": m.number,
                    "statements": list(m.statements) if held else [],
                })
            details["meetings"] = meetings
            if any(m["scope"] == "all" and m["held_at"] for m in meetings):
                name = "joint_meeting_held"
        return CaseView(
            case=state.case,
            procedure=self.name,
            state=name,
            parties={"requesting": state.requesters,
                     "responding": (state.responding,) if state.responding else ()},
            deadlines=tuple(deadlines),
            details=details,
        )


_SCOPE_NAMES: dict[str, str] = {
    "bilateral": N_("meeting with the responding State (¶16.2)"),
    "all": N_("meeting of all participating States (¶16.3)"),
}


def _meeting_owed_by(scope: str, responding: str | None) -> tuple[str, ...]:
    if scope == "bilateral":
        return (*([responding] if responding else []), "Chairmanship")
    return ("Chairperson-in-Office",)  # ¶16.3.1


def _iso(at: datetime) -> str:
    return iso(at)


MEASURE = UnusualActivity()
