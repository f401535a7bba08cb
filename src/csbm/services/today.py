"""The duty officer's morning: what is due and who owes it, what arrived, what we sent
that nobody has acknowledged yet -- the *Today* page of the workbench and its JSON twin.

Source: issue 12, item 1 (*Today*: deadlines by urgency -- overdue, within 24 h, this week
-- with who owes each; new messages; our outgoing messages not yet acknowledged); DESIGN.md
principle 1 (every screen is a projection of the log). The deadlines are those of
:func:`csbm.services.deadlines.deadlines` (one projection of the log per request, given
in as a :class:`csbm.services.replay.Replayed`); the messages those of
:func:`csbm.services.inbox.inbox` and :func:`csbm.services.status.status`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Literal

from csbm.domain.time import InstantError, parse_instant
from csbm.node import Node
from csbm.services.deadlines import PendingDeadline, deadlines
from csbm.services.documents import Document, Instant
from csbm.services.inbox import InboxMessage, inbox
from csbm.services.paging import PageInfo, check_window, window
from csbm.services.replay import Replayed
from csbm.services.status import SentStatus, status

__all__ = ["NEW_WITHIN", "TodayDeadline", "TodayDocument", "Urgency", "today", "urgency_of"]

Urgency = Literal["overdue", "day", "week", "later", "unknown"]
URGENCIES: tuple[Urgency, ...] = ("overdue", "day", "week", "later", "unknown")

NEW_WITHIN = timedelta(hours=24)
"""A message is *new* when it arrived within this long of the clock."""


class TodayDeadline(PendingDeadline):
    """A pending deadline with its urgency at the clock: ``overdue`` (past due and not
    done), ``day`` (due within 24 hours), ``week`` (within 7 days), ``later``, or
    ``unknown`` (no pack gives its number)."""

    urgency: Urgency


class ReceivedMessage(InboxMessage):
    """A message another State sent us, ``new`` when it arrived within 24 hours."""

    new: bool


class TodayDocument(Document):
    """The *Today* page: ``counts`` of deadlines per urgency, the window of deadlines
    (overdue first, then soonest), the window of received messages (newest first), and
    the window of our messages still waiting for a receipt (oldest first)."""

    state: str
    at: Instant
    zone: str
    counts: dict[str, int]
    deadlines: list[TodayDeadline]
    deadlines_page: PageInfo
    received: list[ReceivedMessage]
    received_page: PageInfo
    unacknowledged: list[SentStatus]
    unacknowledged_page: PageInfo


def urgency_of(d: PendingDeadline, clock: datetime) -> Urgency:
    """The urgency of ``d`` at ``clock`` (see :class:`TodayDeadline`)."""
    if d.status == "overdue" or (d.due is not None and d.due < clock):
        return "overdue"
    if d.due is None:
        return "unknown"
    left = d.due - clock
    if left <= timedelta(hours=24):
        return "day"
    if left <= timedelta(days=7):
        return "week"
    return "later"


def today(
    node: Node,
    replayed: Replayed,
    clock: datetime,
    zone: tzinfo,
    *,
    offset: int = 0,
    limit: int = 50,
    received_offset: int = 0,
    received_limit: int = 20,
    sent_offset: int = 0,
    sent_limit: int = 20,
) -> TodayDocument:
    """The *Today* document of ``node`` at ``clock`` (due times also in ``zone``)."""
    check_window(offset, limit)
    check_window(received_offset, received_limit, "received_")
    check_window(sent_offset, sent_limit, "sent_")
    pending = deadlines(replayed, clock, zone).deadlines
    rows = [
        TodayDeadline(**d.model_dump(by_alias=True), urgency=urgency_of(d, clock))
        for d in pending
    ]
    rank = {u: i for i, u in enumerate(URGENCIES)}
    rows.sort(key=lambda r: rank[r.urgency])  # stable: soonest first within each urgency
    counts = {u: 0 for u in URGENCIES}
    for r in rows:
        counts[r.urgency] += 1
    shown, page = window(rows, offset, limit)
    messages = inbox(node).messages
    newest = list(reversed(messages))
    got, got_page = window(newest, received_offset, received_limit, "received_")
    received = [ReceivedMessage(**m.model_dump(), new=_is_new(m.created_at, clock)) for m in got]
    waiting = [s for s in status(node).sent if s.waiting_for]
    out, out_page = window(waiting, sent_offset, sent_limit, "sent_")
    return TodayDocument(
        state=node.state,
        at=clock,
        zone=str(zone),
        counts=counts,
        deadlines=shown,
        deadlines_page=page,
        received=received,
        received_page=got_page,
        unacknowledged=out,
        unacknowledged_page=out_page,
    )


def _is_new(created_at: str, clock: datetime) -> bool:
    try:
        at = parse_instant(created_at).at
    except InstantError:
        return False
    return clock - NEW_WITHIN <= at <= clock
