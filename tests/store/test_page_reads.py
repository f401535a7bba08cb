"""The reads the workbench's pages use (issue 12, item 6), on SQLite and PostgreSQL: a
range of entries in one query, windows of messages by sender in SQL (newest or oldest
first, never the ledger's own ``csbm.*`` entries), counts per sender and kind kept per
log size, receipts by message and since an index; migration 0004's indexes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect

from csbm.ledger.envelope import seal
from csbm.ledger.keys import generate_state_key
from csbm.node import Node
from tests.store.nodes import at, make_node, notification


@pytest.fixture
def node(tmp_path: Path, db_url: str) -> Node:
    """Ukraine's node: 6 messages of its own and 6 from Poland, interleaved, plus the
    key entries ``init`` and ``add_peer_key`` log."""
    n = make_node(tmp_path, db_url)
    pl = generate_state_key("PL")
    n.add_peer_key("PL", pl.verifier_key, at(0))
    for i in range(6):
        n.append_message(notification(i), ["PL"], at(i + 1))
        n.append([seal(notification(100 + i), pl, ["UA"], at(i + 1))])
    return n


def test_a_range_of_entries_is_read_in_order(node: Node) -> None:
    size = node.size()
    every = list(node.entries())
    assert node.entries_between(0, size) == every
    assert node.entries_between(2, 5) == every[2:5]
    assert node.entries_between(size - 1, size + 10) == every[-1:]
    assert node.entries_between(5, 5) == [] and node.entries_between(5, 2) == []
    assert node.entries_between(size, size + 3) == []
    node.close()


def test_message_windows_are_paged_in_sql(node: Node) -> None:
    every = list(node.entries())
    messages = [e for e in every if not e.kind.startswith("csbm.")]
    assert len(every) > len(messages) == 12  # the key entries are not messages
    theirs = [e for e in reversed(messages) if e.sender != "UA"]
    assert node.messages(other_than="UA", limit=100) == theirs
    assert node.messages(other_than="UA", offset=2, limit=3) == theirs[2:5]
    assert node.messages(other_than="UA", offset=50, limit=3) == []
    mine = [e for e in messages if e.sender == "UA"]
    assert node.messages(sender="UA", newest_first=False, limit=100) == mine
    later = mine[3].index
    assert node.messages(sender="UA", newest_first=False, from_index=later, limit=2) == mine[3:5]
    node.close()


def test_counts_per_sender_and_kind_follow_the_log(node: Node) -> None:
    counts = node.message_counts()
    assert counts[("UA", "test.exercise")] == 6 and counts[("PL", "test.exercise")] == 6
    assert sum(counts.values()) == node.size()
    assert node.message_counts() is counts  # kept while the log keeps its size
    node.append_message(notification(99), ["PL"], at(30))
    grown = node.message_counts()
    assert grown[("UA", "test.exercise")] == 7 and sum(grown.values()) == node.size()
    node.close()


def test_receipts_by_message_and_since_an_index(
    tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    from csbm.exchange.inprocess import InProcessTransport
    from csbm.exchange.outbox import Outgoing, send

    ua = make_node(tmp_path, db_factory(), "UA")
    pl = make_node(tmp_path, db_factory(), "PL")
    try:
        ua.add_peer_key("PL", pl.key.verifier_key, at(0))
        pl.add_peer_key("UA", ua.key.verifier_key, at(0))
        transport = InProcessTransport({"UA": ua, "PL": pl})
        before = ua.size()
        sent = [Outgoing(notification(i), ("PL",), at(i + 1)) for i in range(3)]
        send(ua, transport, sent, ["PL"], at(5))
        ids = [e.message_id for e in ua.messages(sender="UA", newest_first=False, limit=10)]
        assert len(ids) == 3
        got = ua.receipts_of(ids, "received")
        assert [r["message_id"] for r in got] == ids and {r["peer"] for r in got} == {"PL"}
        assert ua.receipts_of(ids, "issued") == [] and ua.receipts_of([], "received") == []
        assert ua.receipts_since(before, "received") == got
        assert ua.receipts_since(got[-1]["receipt_index"] + 1, "received") == []
        issued = pl.receipts_of(ids, "issued")
        assert [r["message_id"] for r in issued] == ids
    finally:
        ua.close()
        pl.close()


def test_migration_0004_adds_the_read_indexes(node: Node) -> None:
    with node.store.read() as conn:
        names = {i["name"] for i in inspect(conn).get_indexes("log_entries")}
        names |= {i["name"] for i in inspect(conn).get_indexes("receipts")}
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert {"ix_log_entries_sender_kind", "ix_receipts_message"} <= names
    assert version == "0004_read_indexes"
    node.close()
