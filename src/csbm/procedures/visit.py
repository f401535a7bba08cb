"""Chapter III ¶18: voluntary hosting of visits to dispel concerns about military activities.

Source: VD 2011 ¶18 as the pack ``vd2011`` encodes it (VISIT_DISPEL: no deadline; the host
informs all participating States of the reasons, the area and the invitees). Public cases
§1.4: Ukraine's invitation of March 2014 (6–12 March, extended to 16 March).

Messages:

``visit.invitation``  the host invites States (``to``: codes or ``all``), with reasons,
                      area and dates;
``visit.acceptance``  an invited State accepts (or declines: ``accept: false``);
``visit.report``      the host or a visiting State reports on the visit.

No deadline: the view shows who was invited, who accepted, and the reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from csbm.domain.records import quick_init
from csbm.domain.time import iso
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body, InstantText, StateCode
from csbm.procedures.base import ALL, CaseView, Context, Event, Procedure, Refusal, replacer


class InvitationBody(Body):
    """``visit.invitation``: why, where and when."""

    reasons: str | None = None
    area: str | None = None
    starts: InstantText | None = None
    ends: InstantText | None = None


class AcceptanceBody(Body):
    """``visit.acceptance``: yes or no, and who goes."""

    accept: bool = True
    visitors: int | None = Field(default=None, ge=0)


class ReportBody(Body):
    """``visit.report``: what the visit found."""

    text: str | None = None
    on_behalf_of: list[StateCode] = Field(default_factory=list)


@quick_init
@dataclass(frozen=True, slots=True)
class VisitState:
    case: str
    host: str | None = None
    invited_at: datetime | None = None
    invitees: tuple[str, ...] = ()
    to_all: bool = False
    answers: tuple[tuple[str, bool, datetime], ...] = ()
    reports: tuple[tuple[str, datetime], ...] = ()


_state = replacer(VisitState)  # dataclasses.replace, made for the class


class VoluntaryVisit(Procedure[VisitState]):
    """The ¶18 visit to dispel concerns."""

    name = "visit_dispel"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "visit.invitation": InvitationBody,
        "visit.acceptance": AcceptanceBody,
        "visit.report": ReportBody,
    }

    def initial(self, case: str) -> VisitState:
        return VisitState(case=case)

    def apply(self, state: VisitState, event: Event, ctx: Context) -> VisitState:
        if event.type == "visit.invitation":
            if state.host is not None:
                if event.sender != state.host:
                    raise Refusal(phrase(N_("{host} hosts this visit, not {sender}"),
                                         host=state.host, sender=event.sender),
                                  kind="not_a_party")
                # a further invitation from the host widens the invitation
                named = tuple(r for r in event.recipients if r != ALL)
                return _state(state, invitees=tuple(dict.fromkeys((*state.invitees, *named))),
                               to_all=state.to_all or event.to_all)
            return _state(state, host=event.sender, invited_at=event.at,
                           invitees=tuple(r for r in event.recipients if r != ALL),
                           to_all=event.to_all)
        if state.host is None or state.invited_at is None:
            raise Refusal(phrase(N_("no visit.invitation in this case yet")),
                          kind="out_of_sequence")
        if event.type == "visit.acceptance":
            if event.sender == state.host:
                raise Refusal(phrase(N_("the host does not accept its own invitation")),
                              kind="not_a_party")
            if not state.to_all and event.sender not in state.invitees:
                raise Refusal(phrase(N_("{state} was not invited ({invited})"),
                                     state=event.sender, invited=", ".join(state.invitees)),
                              kind="not_a_party")
            earlier = [a for a in state.answers if a[0] == event.sender]
            if earlier:
                raise Refusal(phrase(N_("{state} already answered at {at}"),
                                     state=event.sender, at=iso(earlier[0][2])),
                              kind="duplicate")
            answer = (event.sender, bool(event.body.get("accept", True)), event.at)
            return _state(state, answers=(*state.answers, answer))
        accepted = {a[0] for a in state.answers if a[1]}
        if event.sender != state.host and event.sender not in accepted:
            raise Refusal(phrase(N_("{state} neither hosted nor took part in the visit"),
                                 state=event.sender), kind="not_a_party")
        return _state(state, reports=(*state.reports, (event.sender, event.at)))

    def view(self, state: VisitState, at: datetime, ctx: Context) -> CaseView:
        answers = [a for a in state.answers if a[2] <= at]
        reports = [r for r in state.reports if r[1] <= at]
        if reports:
            name = "reported"
        elif any(a[1] for a in answers):
            name = "accepted"
        elif state.host is not None:
            name = "invited"
        else:
            name = "empty"
        details: dict[str, Any] = {
            "invited_at": state.invited_at,
            "invited": "all" if state.to_all else list(state.invitees),
            "accepted": [a[0] for a in answers if a[1]],
            "declined": [a[0] for a in answers if not a[1]],
            "reports": [{"by": s, "at": t} for s, t in reports],
        }
        return CaseView(
            case=state.case,
            procedure=self.name,
            state=name,
            parties={"host": (state.host,) if state.host else (),
                     "invited": (ALL,) if state.to_all else state.invitees},
            deadlines=(),
            details=details,
        )


MEASURE = VoluntaryVisit()
