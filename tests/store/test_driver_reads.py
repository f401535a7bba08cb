"""The reads that go straight to the driver on the hot paths (a delivery received, a
worker's poll): the same rows as the SQLAlchemy queries they replace, on SQLite and on
PostgreSQL (their parameter marks differ)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from csbm.store import outbox
from csbm.store.log import KEYS_VERSION, LedgerStore
from csbm.store.outbox import PeerRecord


@pytest.fixture
def store(db_url: str) -> Iterator[LedgerStore]:
    s = LedgerStore.open(db_url)
    try:
        yield s
    finally:
        s.close()


def test_due_rows_in_order_with_limit_and_only_pending_or_relayed(store: LedgerStore) -> None:
    with store.write() as txn:
        outbox.queue(txn.conn, "m1", ["LT", "BY"], "EE", "2026-03-01T09:00:00Z", log_index=3)
        outbox.queue(txn.conn, "m2", ["PL"], "EE", "2026-03-01T09:00:01Z", payload="{}")
    rows = outbox.due(store, "2026-03-01T10:00:00Z")
    assert [(r.message_id, r.destination) for r in rows] == [
        ("m1", "LT"), ("m1", "BY"), ("m2", "PL")
    ]  # fmt: skip
    assert rows[0].log_index == 3 and rows[0].status == outbox.PENDING and rows[0].receipt is None
    assert rows[2].payload == "{}" and rows[2].log_index is None
    assert len(outbox.due(store, "2026-03-01T10:00:00Z", limit=2)) == 2
    assert outbox.due(store, "2026-03-01T08:00:00Z") == []  # not due yet
    outbox.mark(store, rows[0].id, status=outbox.DONE, attempted=True,
                done_at="2026-03-01T10:00:00Z")  # fmt: skip
    assert [r.id for r in outbox.due(store, "2026-03-01T10:00:00Z")] == [rows[1].id, rows[2].id]


def test_a_peer_read_back_as_written(store: LedgerStore) -> None:
    peer = PeerRecord("hub", "http://127.0.0.1:9", "csbm/hub", b"k" * 32, "SHA256:x",
                      "2026-03-01T09:00:00Z")  # fmt: skip
    with store.write() as txn:
        outbox.put_peer(txn.conn, peer)
    assert outbox.get_peer(store, "hub") == peer
    assert outbox.get_peer(store, "LT") is None


def test_meta_and_entry_by_message_id(store: LedgerStore) -> None:
    assert store.meta("nothing") is None
    with store.write() as txn:
        txn.set_meta(KEYS_VERSION, "v1")
    assert store.meta(KEYS_VERSION) == "v1"
    assert store.entry_by_message_id("no-such-id") is None


def test_a_receipt_and_a_checkpoint_written_and_read_back(store: LedgerStore) -> None:
    from csbm.ledger.records import CheckpointRecord

    record = CheckpointRecord("csbm/LT", False, 7, b"r" * 32, "note\n", "2026-03-01T09:00:00Z")
    with store.write() as txn:
        txn.add_receipt(5, "issued", "LT", "m1", b"h" * 32, 4)
        txn.add_checkpoint(record)
        txn.add_checkpoint(CheckpointRecord("csbm/LT", False, 9, b"s" * 32, "later\n",
                                            "2026-03-01T09:00:01Z"))  # fmt: skip
        assert txn.receipt_for("m1", "issued") is not None
    row = store.receipt_for("m1", "issued")
    assert row == {"receipt_index": 5, "direction": "issued", "peer": "LT", "message_id": "m1",
                   "message_hash": b"h" * 32, "entry_index": 4}  # fmt: skip
    assert store.receipt_for("m1", "received") is None
    with store.write() as txn:
        last = txn.last_checkpoint("csbm/LT")
    assert last is not None and last.size == 9 and last.root == b"s" * 32 and last.own is False


def test_driver_rows_are_the_rows_sqlalchemy_gives(store: LedgerStore) -> None:
    """The shortcut (SQLite: straight to the DBAPI connection) against the plain path it
    replaces (``exec_driver_sql``): the same rows, the same writes, a read in one
    snapshot (a transaction begun as SQLAlchemy's autobegin does)."""
    from csbm.store.log import _mark, _rows, _run_many

    with store.write() as txn:
        m = _mark(txn.conn)
        _run_many(txn.conn, f"INSERT INTO node_meta (name, value) VALUES ({m}, {m})",
                  [("a", "1"), ("b", "2")])  # fmt: skip
        assert _rows(txn.conn, f"INSERT INTO node_meta (name, value) VALUES ({m}, {m})",
                     ("c", "3")) == []  # fmt: skip
    sql = f"SELECT name, value FROM node_meta WHERE name IN ({m}, {m}, {m}) ORDER BY name"
    with store.read() as conn:
        fast = _rows(conn, sql, ("a", "b", "c"))
        assert conn.in_transaction()
    with store.read() as conn:
        plain = conn.exec_driver_sql(sql, ("a", "b", "c")).all()
    assert [tuple(r) for r in fast] == [tuple(r) for r in plain] == [
        ("a", "1"), ("b", "2"), ("c", "3")
    ]  # fmt: skip


def test_a_driver_error_is_the_store_error_sqlalchemy_gives(store: LedgerStore) -> None:
    """A constraint the driver refuses, through the shortcut and through SQLAlchemy: the
    same csbm error (code and reason)."""
    from csbm.errors import CsbmError
    from csbm.store.log import _mark, _rows

    with store.write() as txn:
        txn.add_receipt(5, "issued", "LT", "m1", b"h" * 32, 4)
    caught: list[CsbmError] = []
    for plain in (False, True):
        with pytest.raises(CsbmError) as info, store.write() as txn:
            m = _mark(txn.conn)
            sql = (
                "INSERT INTO receipts (receipt_index, direction, peer, message_id, "
                f"message_hash, entry_index) VALUES ({m}, {m}, {m}, {m}, {m}, {m})"
            )
            params = (5, "issued", "LT", "m1", b"h" * 32, 4)
            if plain:
                txn.conn.exec_driver_sql(sql, params)
            else:
                _rows(txn.conn, sql, params)
        caught.append(info.value)
    assert caught[0].code == caught[1].code == "store.conflict"
    assert caught[0].lines() == caught[1].lines()


def test_reads_in_a_session_share_one_connection(store: LedgerStore) -> None:
    """``reading``: a request's point reads on one connection; outside it, each its own."""
    from csbm.store.log import KEYS_VERSION

    with store.write() as txn:
        txn.set_meta(KEYS_VERSION, "v1")
    with store.reading():
        with store.read() as first, store.read() as second:
            assert first is second
        assert store.meta(KEYS_VERSION) == "v1"
        assert store.key_directory() is store.key_directory()
    with store.read() as first, store.read() as second:
        assert first is not second


def test_a_write_lock_held_elsewhere_is_store_busy_as_before(tmp_path: object) -> None:
    """``BEGIN IMMEDIATE`` goes straight to the driver (store.engine): a lock held by
    another process beyond the timeout is still ``store.busy``, as when SQLAlchemy sent
    it."""
    import sqlite3
    from pathlib import Path

    from csbm.errors import CsbmError
    from csbm.store.engine import sqlite_url

    path = Path(str(tmp_path)) / "busy.sqlite3"
    store = LedgerStore.open(sqlite_url(path))
    try:
        with store.engine.connect() as conn:  # the pooled connection: a short wait
            conn.exec_driver_sql("PRAGMA busy_timeout = 50")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(CsbmError) as info, store.write():
                pass
            assert info.value.code == "store.busy"
        finally:
            other.execute("ROLLBACK")
            other.close()
        with store.write() as txn:  # and the lock, once free, is taken as before
            assert txn.size() == 0
    finally:
        store.close()


def test_peers_read_by_the_driver_are_the_sqlalchemy_querys(store: LedgerStore) -> None:
    """get_peer and list_peers (straight to the driver) against the SQLAlchemy query of
    the ``peers`` table they replace: the same records, in the same order."""
    from sqlalchemy import select

    made = [
        PeerRecord(
            state,
            f"http://127.0.0.1:{9 + n}",
            f"csbm/{state}",
            bytes([n]) * 32,
            f"SHA256:{state}",
            f"2026-03-01T09:00:0{n}Z",
        )
        for n, state in enumerate(["hub", "LT", "BY", "EE"])
    ]
    with store.write() as txn:
        for peer in made:
            outbox.put_peer(txn.conn, peer)
    with store.read() as conn:
        plain = [outbox._peer(r) for r in conn.execute(
            select(outbox.peers).order_by(outbox.peers.c.state))]  # fmt: skip
    assert outbox.list_peers(store) == plain and len(plain) == 4
    for peer in plain:
        assert outbox.get_peer(store, peer.state) == peer
        assert isinstance(outbox.get_peer(store, peer.state).public_key, bytes)  # type: ignore[union-attr]
    assert outbox.get_peer(store, "PL") is None
