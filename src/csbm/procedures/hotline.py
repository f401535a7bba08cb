"""Bilateral measure: mutual informing of extraordinary situations over a hotline.

Source: issue 4 ("``hotline.message`` (an extraordinary situation; priority;
acknowledgement due within a time the bilateral pack sets) and ``hotline.ack``"); public
cases §2.1 (the Belarus–Ukraine agreement of 2001; its terms are [U]). The time limit is
the rule ``HOTLINE_ACK`` (measure ``hotline``, a ``period`` after ``hotline_message``) of
the bilateral pack whose parties are the two States and which is in force on the day. No
such pack, or a null number in it: the deadline is "unknown" — fill it in from the
agreement.

Messages: ``hotline.message`` from one party to the other (one recipient: the channel is
bilateral); ``hotline.ack`` from the recipient acknowledges the earliest message to it not
yet acknowledged (or the one whose ``seq`` it names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from csbm.domain.records import quick_init
from csbm.i18n import N_, phrase
from csbm.procedures._bodies import Body
from csbm.procedures.base import (
    CaseView,
    Context,
    Deadline,
    Event,
    Procedure,
    Refusal,
    replacer,
)

RULE = "HOTLINE_ACK"
Priority = Literal["urgent", "high", "routine"]
_PRIORITY_WORDS = (N_("urgent"), N_("high"), N_("routine"))
"""The priorities as message ids (the deadline's note names the message's)."""


class MessageBody(Body):
    """``hotline.message``: an extraordinary situation."""

    priority: Priority = "urgent"
    subject: str | None = None
    text: str | None = None


class AckBody(Body):
    """``hotline.ack``: the message is received."""

    of_seq: int | None = Field(default=None, description="seq of the message acknowledged")


@quick_init
@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    at: datetime
    sender: str
    recipient: str
    priority: str
    subject: str | None
    acked_at: datetime | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class HotlineState:
    case: str
    pair: tuple[str, str] | None = None
    messages: tuple[Message, ...] = ()


_state = replacer(HotlineState)  # dataclasses.replace, made for the class
_message = replacer(Message)


class Hotline(Procedure[HotlineState]):
    """Messages between the two parties of a bilateral agreement, each acknowledged."""

    name = "hotline"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "hotline.message": MessageBody,
        "hotline.ack": AckBody,
    }

    def initial(self, case: str) -> HotlineState:
        return HotlineState(case=case)

    def apply(self, state: HotlineState, event: Event, ctx: Context) -> HotlineState:
        if event.type == "hotline.message":
            if event.to_all or len(event.recipients) != 1:
                raise Refusal(phrase(N_("the hotline is bilateral: send to exactly one State")))
            recipient = event.recipients[0]
            pair = (event.sender, recipient)
            if state.pair is not None and set(pair) != set(state.pair):
                raise Refusal(phrase(N_("this hotline case is between {first} and {second}"),
                                     first=state.pair[0], second=state.pair[1]),
                              kind="not_a_party")
            message = Message(event.seq, event.at, event.sender, recipient,
                              str(event.body.get("priority", "urgent")), event.body.get("subject"))
            return _state(state, pair=state.pair or pair, messages=(*state.messages, message))
        if state.pair is None:
            raise Refusal(phrase(N_("no hotline.message to acknowledge yet")),
                          kind="out_of_sequence")
        if event.sender not in state.pair:
            raise Refusal(phrase(N_("{state} is not a party to this hotline ({first} and "
                                    "{second})"), state=event.sender, first=state.pair[0],
                                 second=state.pair[1]), kind="not_a_party")
        wanted = event.body.get("of_seq")
        for i, m in enumerate(state.messages):
            if m.recipient != event.sender or m.acked_at is not None:
                continue
            if wanted is not None and m.seq != wanted:
                continue
            acked = _message(m, acked_at=event.at)
            return _state(state, messages=(*state.messages[:i], acked, *state.messages[i + 1:]))
        raise Refusal(
            phrase(N_("no unacknowledged message #{seq} to {state}"), seq=wanted,
                   state=event.sender)
            if wanted is not None
            else phrase(N_("no unacknowledged message to {state}"), state=event.sender),
            kind="out_of_sequence",
        )

    def view(self, state: HotlineState, at: datetime, ctx: Context) -> CaseView:
        deadlines: list[Deadline] = []
        shown: list[dict[str, Any]] = []
        for m in state.messages:
            if m.at > at:
                continue
            acked = m.acked_at if m.acked_at is not None and m.acked_at <= at else None
            deadlines.append(ctx.period_deadline(
                RULE, m.at, at, done_at=acked, parties=state.pair or (),
                owed_by=(m.recipient,), owed_to=(m.sender,), case=state.case,
                note=phrase(N_("{priority!t} message #{seq}"), priority=m.priority, seq=m.seq),
            ))
            shown.append({"seq": m.seq, "at": m.at, "from": m.sender, "to": m.recipient,
                          "priority": m.priority, "subject": m.subject, "acked_at": acked})
        unacked = [x for x in shown if x["acked_at"] is None]
        name = "awaiting_ack" if unacked else ("acknowledged" if shown else "empty")
        return CaseView(
            case=state.case,
            procedure=self.name,
            state=name,
            parties={"parties": state.pair or ()},
            deadlines=tuple(deadlines),
            details={"messages": shown},
        )


MEASURE = Hotline()
