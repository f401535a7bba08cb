"""The outbox and peer reads the hub makes at every delivery it accepts, every step of
its fan-out and every question a sender asks about its receipts go straight to the
driver: they read the same rows, in the same order, as the SQLAlchemy queries they
replace. Both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from csbm.store import LedgerStore
from csbm.store import outbox as ob
from tests.store.backends import backend, db_factory, db_url

__all__ = ["backend", "db_factory", "db_url"]


@pytest.fixture
def store(db_url: str) -> Iterator[LedgerStore]:
    s = LedgerStore.open(db_url, create=True)
    yield s
    s.close()


def _fill(store: LedgerStore) -> list[str]:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(5)]
    with store.write() as txn:
        for n, mid in enumerate(ids):
            ob.queue(txn.conn, mid, ["PL", "BY", "hub"][: 1 + n % 3], "LT",
                     f"2026-03-01T09:00:0{n}.000Z", log_index=n if n % 2 else None,
                     payload=None if n == 3 else f'{{"n": {n}}}')  # fmt: skip
        for state, url in (("PL", "http://pl"), ("BY", "http://by"), ("hub", "http://hub")):
            key = bytes([len(state)]) * 32
            peer = ob.PeerRecord(state, url, f"csbm/{state}", key, f"SHA256:{state}",
                                 "2026-03-01T09:00:00.000Z")  # fmt: skip
            ob.put_peer(txn.conn, peer)
    rows = ob.rows(store)
    ob.mark_done(store, [(rows[0].id, b"\x00receipt\xff", "2026-03-01T09:01:00.000Z")])
    ob.mark(store, rows[1].id, status=ob.RELAYED, attempted=True, error="waiting",
            next_attempt_at="2026-03-01T09:02:00.000Z")  # fmt: skip
    return ids


def _plain(store: LedgerStore, query: object) -> list[ob.OutboxRow]:
    with store.read() as conn:
        return [ob._row(r) for r in conn.execute(query).all()]  # type: ignore[call-overload]


def test_outbox_reads_match_the_sqlalchemy_queries(store: LedgerStore) -> None:
    ids = _fill(store)
    t = ob.outbox
    everything = _plain(store, select(t).order_by(t.c.id))
    assert len(everything) == 9 and everything[0].receipt == b"\x00receipt\xff"
    assert ob.rows(store) == everything
    for mid in [*ids, "nope"]:
        assert ob.rows(store, mid) == _plain(
            store, select(t).where(t.c.message_id == mid).order_by(t.c.id)
        )
    for status in (ob.PENDING, ob.DONE, ob.RELAYED, ob.REFUSED):
        assert ob.rows(store, status=status) == _plain(
            store, select(t).where(t.c.status == status).order_by(t.c.id)
        )
        assert ob.rows(store, ids[0], status) == _plain(
            store,
            select(t).where(t.c.message_id == ids[0], t.c.status == status).order_by(t.c.id),
        )
    for wanted in ([], [ids[4], ids[0]], [ids[2], ids[2], "nope"], ids):
        assert ob.rows_of(store, wanted) == _plain(
            store, select(t).where(t.c.message_id.in_(wanted)).order_by(t.c.id)
        )


def test_rows_of_many_ids_in_chunks(store: LedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _fill(store)
    monkeypatch.setattr(ob, "_IN_CHUNK", 2)
    t = ob.outbox
    assert ob.rows_of(store, [*reversed(ids), "x"]) == _plain(store, select(t).order_by(t.c.id))


def test_peers_match_the_sqlalchemy_query(store: LedgerStore) -> None:
    _fill(store)
    with store.read() as conn:
        plain = [ob._peer(r) for r in conn.execute(select(ob.peers).order_by(ob.peers.c.state))]
    assert ob.list_peers(store) == plain
    assert [p.state for p in plain] == sorted(["PL", "BY", "hub"])
