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

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import chain, islice
from typing import Literal

from csbm.domain.time import InstantError, parse_instant
from csbm.node import Node
from csbm.procedures.base import CaseView, Deadline
from csbm.services.deadlines import PendingDeadline, pending
from csbm.services.documents import Document, Instant
from csbm.services.inbox import InboxMessage, received_total, received_window
from csbm.services.memo import derived
from csbm.services.paging import PageInfo, check_window, info
from csbm.services.replay import Replayed
from csbm.services.status import SentStatus, unacknowledged

__all__ = [
    "NEW_WITHIN", "TodayDeadline", "TodayDocument", "Urgency", "today", "urgencies", "urgency_of",
]  # fmt: skip

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
    log_size: int | None = None


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


@dataclass(frozen=True)
class _Pending:
    """The pending deadlines of a projection, split once (soonest first within each):
    ``missed`` (overdue whatever the clock), ``dated`` (by due instant, with ``dues``),
    ``undated`` (no pack gives the number)."""

    missed: list[tuple[int, CaseView, Deadline]]
    dated: list[tuple[int, CaseView, Deadline]]
    dues: list[datetime]
    undated: list[tuple[int, CaseView, Deadline]]


def _pending(replayed: Replayed) -> _Pending:
    missed, dated, undated = [], [], []
    for n, (view, d) in enumerate(pending(replayed.result)):
        if d.status == "missed":
            missed.append((n, view, d))
        elif d.due is None:
            undated.append((n, view, d))
        else:
            dated.append((n, view, d))
    return _Pending(missed, dated, [d.due for _n, _v, d in dated if d.due is not None], undated)


def urgencies(
    replayed: Replayed, clock: datetime
) -> tuple[dict[str, int], list[Iterable[tuple[int, CaseView, Deadline]]]]:
    """The counts per urgency at ``clock`` and the groups in page order (overdue, day,
    week, later, unknown), found by bisection in the deadlines sorted once per
    projection: the same order as :func:`urgency_of` over every deadline, sorted
    stably by urgency."""
    p = derived(replayed, "today.pending", lambda: _pending(replayed))
    cuts = [
        bisect_left(p.dues, clock),
        bisect_right(p.dues, clock + timedelta(hours=24)),
        bisect_right(p.dues, clock + timedelta(days=7)),
    ]
    overdue = heapq.merge(p.missed, p.dated[: cuts[0]], key=lambda r: r[0])
    groups: list[Iterable[tuple[int, CaseView, Deadline]]] = [
        overdue, p.dated[cuts[0] : cuts[1]], p.dated[cuts[1] : cuts[2]], p.dated[cuts[2] :],
        p.undated,
    ]  # fmt: skip
    sizes = [len(p.missed) + cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1],
             len(p.dated) - cuts[2], len(p.undated)]  # fmt: skip
    return dict(zip(URGENCIES, sizes, strict=True)), groups


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
    log_size: int | None = None,
) -> TodayDocument:
    """The *Today* document of ``node`` at ``clock`` (due times also in ``zone``).

    Its work is what it shows: the deadlines' urgencies are counted by bisection in the
    projection's deadlines (sorted once per projection), only the window is built; the
    messages are windows and counts in SQL (:func:`csbm.services.inbox.received_window`,
    :func:`csbm.services.status.unacknowledged`). ``log_size``: the size of the log the
    projection was made from, when it may be older than the log (:mod:`csbm.web.replays`).
    """
    check_window(offset, limit)
    check_window(received_offset, received_limit, "received_")
    check_window(sent_offset, sent_limit, "sent_")
    counts, groups = urgencies(replayed, clock)
    total = sum(counts.values())
    chosen = islice(chain.from_iterable(groups), offset, offset + limit)
    shown = [_row(PendingDeadline.of(view, d, clock, zone), clock) for _n, view, d in chosen]
    got = received_window(node, received_offset, received_limit)
    received = [ReceivedMessage(**m.model_dump(), new=_is_new(m.created_at, clock)) for m in got]
    out, waiting = unacknowledged(node, sent_offset, sent_limit)
    return TodayDocument(
        state=node.state,
        at=clock,
        zone=str(zone),
        counts=counts,
        deadlines=shown,
        deadlines_page=info(offset, limit, total),
        received=received,
        received_page=info(received_offset, received_limit, received_total(node)),
        unacknowledged=out,
        unacknowledged_page=info(sent_offset, sent_limit, waiting),
        log_size=log_size,
    )


def _row(d: PendingDeadline, clock: datetime) -> TodayDeadline:
    return TodayDeadline(**d.model_dump(by_alias=True), urgency=urgency_of(d, clock))


def _is_new(created_at: str, clock: datetime) -> bool:
    try:
        at = parse_instant(created_at).at
    except InstantError:
        return False
    return clock - NEW_WITHIN <= at <= clock
