"""Bilateral measure: mutual visits of military attachés to drills.

Source: issue 4 (``attache_visit.invitation`` / ``attache_visit.reply``); public cases
§1.2 (Belarus's voluntary briefing of attachés on 2022-02-01) and §2 (bilateral agreements
with additional CSBMs; their terms are [U]). The reply time limit is the rule
``ATTACHE_VISIT_REPLY`` (measure ``attache_visit``, a ``period`` after ``invitation``) of the
bilateral pack of the host and the invited State in force on the day; without one the
deadline is "unknown".

Messages: ``attache_visit.invitation`` from the host to the invited States (codes or
``all``; a deadline per named State); ``attache_visit.reply`` from an invited State,
accepting or declining.
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
from csbm.procedures._bodies import Body, InstantText
from csbm.procedures.base import ALL, CaseView, Context, Event, Procedure, Refusal, replacer

RULE = "ATTACHE_VISIT_REPLY"


class InvitationBody(Body):
    """``attache_visit.invitation``: the drill and the dates of the visit."""

    activity: str | None = None
    starts: InstantText | None = None
    ends: InstantText | None = None
    places: int | None = Field(default=None, ge=0, description="attachés per invited State")


class ReplyBody(Body):
    """``attache_visit.reply``: yes or no."""

    accept: bool
    attendees: int | None = Field(default=None, ge=0)


@quick_init
@dataclass(frozen=True, slots=True)
class AttacheState:
    case: str
    host: str | None = None
    invited_at: datetime | None = None
    invitees: tuple[str, ...] = ()
    to_all: bool = False
    replies: tuple[tuple[str, bool, datetime], ...] = ()


_state = replacer(AttacheState)  # dataclasses.replace, made for the class


class AttacheVisit(Procedure[AttacheState]):
    """An invitation of military attachés to a drill, and the replies."""

    name = "attache_visit"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "attache_visit.invitation": InvitationBody,
        "attache_visit.reply": ReplyBody,
    }

    def initial(self, case: str) -> AttacheState:
        return AttacheState(case=case)

    def apply(self, state: AttacheState, event: Event, ctx: Context) -> AttacheState:
        if event.type == "attache_visit.invitation":
            if state.host is not None:
                raise Refusal(phrase(N_("this case already has an invitation from {host} at "
                                        "{at}"), host=state.host,
                                     at=iso(state.invited_at or event.at)), kind="duplicate")
            invitees = tuple(r for r in event.recipients if r != ALL and r != event.sender)
            return _state(state, host=event.sender, invited_at=event.at, invitees=invitees,
                           to_all=event.to_all)
        if state.host is None:
            raise Refusal(phrase(N_("no attache_visit.invitation in this case yet")),
                          kind="out_of_sequence")
        if event.sender == state.host or (not state.to_all and event.sender not in state.invitees):
            raise Refusal(phrase(N_("{state} was not invited ({invited})"),
                                 state=event.sender, invited=", ".join(state.invitees)),
                          kind="not_a_party")
        earlier = [r for r in state.replies if r[0] == event.sender]
        if earlier:
            raise Refusal(phrase(N_("{state} already replied at {at}"), state=event.sender,
                                 at=iso(earlier[0][2])), kind="duplicate")
        reply = (event.sender, bool(event.body["accept"]), event.at)
        return _state(state, replies=(*state.replies, reply))

    def view(self, state: AttacheState, at: datetime, ctx: Context) -> CaseView:
        replies = {r[0]: r for r in state.replies if r[2] <= at}
        deadlines = []
        if state.host is not None and state.invited_at is not None:
            for code in state.invitees:
                done = replies[code][2] if code in replies else None
                deadlines.append(ctx.period_deadline(
                    RULE, state.invited_at, at, done_at=done, parties=(state.host, code),
                    owed_by=(code,), owed_to=(state.host,), case=state.case,
                ))
        waiting = [c for c in state.invitees if c not in replies]
        if state.host is None:
            name = "empty"
        elif waiting:
            name = "invited"
        else:
            name = "answered"
        details: dict[str, Any] = {
            "invited_at": state.invited_at,
            "accepted": [c for c, r in replies.items() if r[1]],
            "declined": [c for c, r in replies.items() if not r[1]],
            "awaiting_reply": waiting,
        }
        return CaseView(
            case=state.case,
            procedure=self.name,
            state=name,
            parties={"host": (state.host,) if state.host else (),
                     "invited": (ALL,) if state.to_all else state.invitees},
            deadlines=tuple(deadlines),
            details=details,
        )


MEASURE = AttacheVisit()
