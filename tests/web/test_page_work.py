"""The pages' services read what they show (issue 12, item 6) and show what they showed
before: each fast path is checked against the whole-log computation it replaces -- the
urgencies of *Today* against :func:`urgency_of` over every pending deadline, the
received window against the whole inbox, the unacknowledged window against the whole
status, the record's window against one read per entry -- at several clocks and windows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from csbm.node import Node
from csbm.projection import node_context
from csbm.services.cases import procedures
from csbm.services.deadlines import PendingDeadline, deadlines
from csbm.services.inbox import inbox, received_total, received_window
from csbm.services.map import activity_map
from csbm.services.memo import derived
from csbm.services.record import record
from csbm.services.replay import replay_node
from csbm.services.status import sent_status, status, unacknowledged
from csbm.services.today import URGENCIES, today, urgency_of
from tests.web.conftest import CLOCK


def _reference(node: Node, clock: object) -> list[tuple[Any, PendingDeadline]]:
    """The deadlines of *Today* as the page computed them before: every pending deadline,
    its urgency, sorted stably by urgency."""
    rows = deadlines(replay_node(node, clock), clock, UTC).deadlines  # type: ignore[arg-type]
    ranked = [(urgency_of(d, clock), d) for d in rows]  # type: ignore[arg-type]
    rank = {u: i for i, u in enumerate(URGENCIES)}
    ranked.sort(key=lambda r: rank[r[0]])
    return ranked


@pytest.mark.parametrize(
    "shift", [timedelta(0), timedelta(hours=-30), timedelta(days=-5), timedelta(days=-400)]
)
def test_today_counts_and_orders_deadlines_as_every_deadline_would(
    network: dict[str, Path], shift: timedelta
) -> None:
    with Node.open(network["LT"]) as node:
        replayed = replay_node(node, CLOCK)
        clock = CLOCK + shift  # the page's clock, the projection's stays
        expected = _reference(node, CLOCK)
        expected = [(urgency_of(d, clock), d) for _u, d in expected]
        rank = {u: i for i, u in enumerate(URGENCIES)}
        expected.sort(key=lambda r: rank[r[0]])
        doc = today(node, replayed, clock, UTC, limit=500)
        counts = {u: sum(1 for v, _d in expected if v == u) for u in URGENCIES}
        assert doc.counts == counts and sum(counts.values()) > 0
        assert [(d.urgency, d.case, d.rule) for d in doc.deadlines] == [
            (u, d.case, d.rule) for u, d in expected
        ]
        assert doc.deadlines_page.total == len(expected)
        for offset, limit in ((0, 1), (1, 2), (2, 50)):
            part = today(node, replayed, clock, UTC, offset=offset, limit=limit)
            assert [d.case for d in part.deadlines] == [
                d.case for _u, d in expected[offset : offset + limit]
            ]


def test_the_received_window_is_the_inbox_newest_first(network: dict[str, Path]) -> None:
    with Node.open(network["LT"]) as node:
        every = list(reversed(inbox(node).messages))
        assert received_total(node) == len(every) > 3
        assert received_window(node, 0, 500) == every
        assert received_window(node, 1, 2) == every[1:3]
        assert received_window(node, len(every), 5) == []
        assert any(m.receipt_index is not None for m in every)


def test_the_unacknowledged_window_is_the_status_of_those_still_waiting(
    network: dict[str, Path],
) -> None:
    with Node.open(network["BY"]) as node:
        waiting = [s for s in status(node).sent if s.waiting_for]
        shown, total = unacknowledged(node, 0, 500)
        assert shown == waiting and total == len(waiting)
        assert unacknowledged(node, 1, 1)[0] == waiting[1:2]
        sent = status(node).sent
        assert sent, "Belarus sent messages"
        ids = [sent[0].message_id, "no-such-message"]
        assert sent_status(node, ids) == {sent[0].message_id: sent[0]}


def test_a_receipt_logged_later_is_seen_by_the_status(network: dict[str, Path],
                                                      tmp_path: Path) -> None:  # fmt: skip
    """The sent messages and their receipts are read as the log grows: a message logged
    after the first read is there at the next one."""
    import shutil

    copy = tmp_path / "BY"
    shutil.copytree(network["BY"], copy)
    with Node.open(copy) as node:
        before = {s.message_id for s in status(node).sent}
        request = {"kind": "ch3.request", "case": "grown", "body": {"questions": ["?"]}}
        node.append_message(request, ["LT"], CLOCK)
        after = status(node).sent
        new = [s for s in after if s.message_id not in before]
        assert len(new) == 1 and new[0].waiting_for == ["LT"] and new[0].case == "grown"
        shown, _total = unacknowledged(node, 0, 500)
        assert new[0].message_id in {s.message_id for s in shown}


def test_the_record_window_is_one_read_per_entry(network: dict[str, Path]) -> None:
    with Node.open(network["LT"]) as node:
        size = node.size()
        doc = record(node, CLOCK, offset=3, limit=4)
        assert [e.index for e in doc.entries] == [size - 4, size - 5, size - 6, size - 7]
        for e in doc.entries:
            assert e.message_id == node.entry(e.index).message_id
        tail = record(node, CLOCK, offset=size - 2, limit=50)
        assert [e.index for e in tail.entries] == [1, 0]
        assert record(node, CLOCK, offset=size + 10, limit=5).entries == []


def test_derived_views_are_made_once_per_projection(network: dict[str, Path]) -> None:
    with Node.open(network["PL"]) as node:
        replayed = replay_node(node, CLOCK)
        packs = node_context().packs
        assert activity_map(replayed, packs) is activity_map(replayed, packs)
        first = procedures(replayed, UTC, limit=3)
        again = procedures(replayed, UTC, limit=3)
        assert first == again and first is not again  # the window is built per request
        calls: list[int] = []

        def made(n: int) -> Callable[[], int]:
            def make() -> int:
                calls.append(n)
                return n

            return make

        assert derived(replayed, "k", made(1)) == 1
        assert derived(replayed, "k", made(2)) == 1
        other = replay_node(node, CLOCK)
        assert derived(other, "k", made(3)) == 3
        assert calls == [1, 3]
        assert activity_map(other, packs) == activity_map(replayed, packs)
