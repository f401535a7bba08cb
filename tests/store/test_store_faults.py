"""Storage faults as csbm errors with a code (issue 8, item 6), and the node refusals of
items 1-3 at the library level; on SQLite and PostgreSQL where both apply."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import event

from csbm.errors import InputError, LogError
from csbm.ledger.envelope import EnvelopeError
from csbm.node import Node
from csbm.store import EntryRecord, LedgerStore, StoreError, StoreLogError
from tests.store.backends import backend, db_url
from tests.store.nodes import T0, at, make_node

__all__ = ["backend", "db_url"]


def _rec(n: int, size: int = 100) -> EntryRecord:
    mid = f"00000000-0000-4000-8000-{n:012d}"
    return EntryRecord(mid, "k", "UA", "0badc0de", "t", b"x" * size)


def test_a_full_disk_during_append_writes_nothing(tmp_path: Path) -> None:
    store = LedgerStore.open(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    store.append([_rec(0)])
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages + 2}")
        cursor.close()

    with pytest.raises(StoreError) as caught:
        store.append([_rec(n, 50_000) for n in range(1, 5)])
    assert caught.value.code == "store.full"
    assert len(caught.value.lines()) == 1
    assert store.size() == 1
    store.close()


@pytest.mark.parametrize("content", [b"", os.urandom(4096), b"SQLite format 3\x00" + b"\x00" * 50])
def test_an_existing_log_that_is_not_a_database_is_a_log_error(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "x.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreLogError) as caught:
        LedgerStore.open(f"sqlite:///{path}", create=False)
    assert isinstance(caught.value, LogError)
    assert caught.value.code in ("store.empty", "store.corrupt")
    assert path.read_bytes() == content


def test_opening_never_creates(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    with pytest.raises(StoreLogError) as caught:
        LedgerStore.open(f"sqlite:///{path}", create=False)
    assert caught.value.code == "store.missing" and not path.exists()


def test_unreachable_postgresql() -> None:
    with pytest.raises(StoreError) as caught:
        LedgerStore.open("postgresql+psycopg://postgres@127.0.0.1:1/x?connect_timeout=2")
    assert caught.value.code == "store.unreachable"


RESERVED = (
    "csbm.key_rotation",
    "csbm.receipt",
    "csbm.key_announcement",
    "csbm.key_revocation",
    "csbm.peer_key",
    "csbm.anything",
    "CSBM.Receipt",
)


def test_reserved_kinds_are_refused_in_append_message(tmp_path: Path, db_url: str) -> None:
    node = make_node(tmp_path, db_url)
    try:
        for kind in RESERVED:
            with pytest.raises(InputError) as caught:
                node.append_message({"kind": kind, "body": {}}, ["AT"], at(1))
            assert caught.value.code == "message.reserved_kind"
        with pytest.raises(InputError):
            node.append_message({"kind": "n", "body": {"t": float("nan")}}, ["AT"], at(1))
        assert node.store.size() == 1
    finally:
        node.close()


def test_a_peer_refuses_a_signed_nan_before_any_receipt(tmp_path: Path, db_url: str) -> None:
    from tests.ledger.test_envelope import _forge

    ua = make_node(tmp_path, db_url, "UA")
    at_node = make_node(tmp_path, f"sqlite:///{tmp_path / 'at.sqlite3'}", "AT")
    try:
        at_node.add_peer_key("UA", ua.key.verifier_key, T0)
        raw = _forge(ua.key, '{"body":{"troops":NaN},"kind":"notification"}')
        size = at_node.store.size()
        from csbm.ledger.receipt import Delivery

        with pytest.raises(EnvelopeError) as caught:
            at_node.receive(Delivery(raw, "", (), 0, ()), at(2))
        assert caught.value.code == "envelope.malformed"
        assert at_node.store.size() == size and at_node.store.count_receipts() == 0
    finally:
        ua.close()
        at_node.close()


def test_node_open_refuses_a_log_shorter_than_its_anchor(tmp_path: Path, db_url: str) -> None:
    node = make_node(tmp_path, db_url)
    node.append_message({"kind": "n", "body": {}}, ["AT"], at(1))
    node.close()
    data = tmp_path / "UA"
    other = make_node(tmp_path / "o", _fresh(tmp_path))
    other.close()
    with pytest.raises(LogError) as caught:
        Node.open(data, other.config.db_url)
    assert caught.value.code == "node.log_lost"
    with Node.open(data) as again:
        assert again.store.size() == 2


def _fresh(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
