"""The outbox and the peer directory in SQL (migration ``0003_outbox``).

Source: issue 11, item 4: an outbox row is written in the same transaction as the log
append of its message (:func:`queue`, called inside :meth:`csbm.store.LedgerStore.write`),
so a message is never logged without being queued, nor queued without being logged; the
delivery worker (:mod:`csbm.exchange.worker`) reads the rows that are due, and marks
each attempt, until the destination's receipt arrives. Statuses:

- ``pending``: not yet accepted by the destination (retried with backoff);
- ``relayed``: a message to all accepted by the hub, still waiting for some receipts;
- ``done``: every receipt is in (``done_at``);
- ``refused``: the destination refused it for good (``last_error`` says why).

``peers`` is the directory of the other nodes: a State (or ``hub``), its URL, the public
key fetched from ``URL/.well-known/csbm`` and the fingerprint it was pinned with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from csbm.store.log import LedgerStore, _mark, _rows
from csbm.store.schema import metadata

PENDING = "pending"
RELAYED = "relayed"
DONE = "done"
REFUSED = "refused"
STATUSES = (PENDING, RELAYED, DONE, REFUSED)
#: The destination of a message to all on a node: the network's hub.
HUB = "hub"

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False),
    Column("destination", String(8), nullable=False),
    Column("sender", String(2), nullable=False),
    Column("log_index", BigInteger, nullable=True),
    Column("payload", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("next_attempt_at", String(40), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("receipt", LargeBinary, nullable=True),
    Column("done_at", String(40), nullable=True),
    UniqueConstraint("message_id", "destination", name="uq_outbox_message_destination"),
)

peers = Table(
    "peers",
    metadata,
    Column("state", String(8), primary_key=True),
    Column("url", Text, nullable=False),
    Column("key_name", String(255), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("added_at", String(40), nullable=False),
)


@dataclass(frozen=True)
class OutboxRow:
    """One message on its way to one destination."""

    id: int
    message_id: str
    destination: str
    sender: str
    log_index: int | None
    payload: str | None
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str
    last_error: str | None
    receipt: bytes | None
    done_at: str | None


@dataclass(frozen=True)
class PeerRecord:
    """A node this node talks to: its State (or ``hub``), URL and pinned key."""

    state: str
    url: str
    key_name: str
    public_key: bytes
    fingerprint: str
    added_at: str


#: The columns of ``outbox`` that :func:`_row` reads, for SQL sent to the driver.
_OUTBOX_COLUMNS = (
    "id, message_id, destination, sender, log_index, payload, status, attempts, "
    "created_at, next_attempt_at, last_error, receipt, done_at"
)


def _row(r: object) -> OutboxRow:
    m = r._mapping  # type: ignore[attr-defined]
    receipt = m["receipt"]
    return OutboxRow(
        id=int(m["id"]),
        message_id=m["message_id"],
        destination=m["destination"],
        sender=m["sender"],
        log_index=None if m["log_index"] is None else int(m["log_index"]),
        payload=m["payload"],
        status=m["status"],
        attempts=int(m["attempts"]),
        created_at=m["created_at"],
        next_attempt_at=m["next_attempt_at"],
        last_error=m["last_error"],
        receipt=None if receipt is None else bytes(receipt),
        done_at=m["done_at"],
    )


def queue(
    conn: Connection,
    message_id: str,
    destinations: Sequence[str],
    sender: str,
    at: str,
    *,
    log_index: int | None = None,
    payload: str | None = None,
) -> int:
    """Queue ``message_id`` for each destination not yet queued, inside the caller's
    transaction (the one that appends the message); how many rows were added."""
    known = {
        d
        for (d,) in conn.execute(
            select(outbox.c.destination).where(outbox.c.message_id == message_id)
        )
    }
    rows = [
        {
            "message_id": message_id,
            "destination": d,
            "sender": sender,
            "log_index": log_index,
            "payload": payload,
            "status": PENDING,
            "attempts": 0,
            "created_at": at,
            "next_attempt_at": at,
        }
        for d in dict.fromkeys(destinations)
        if d not in known
    ]
    if rows:
        conn.execute(insert(outbox), rows)
    return len(rows)


def due(store: LedgerStore, now: str, limit: int = 100) -> list[OutboxRow]:
    """Rows to attempt now: pending (or relayed, to ask the hub for receipts) and due."""
    # straight to the driver: every worker asks at every poll, idle or not
    with store.read() as conn:
        m = _mark(conn)
        rows = conn.exec_driver_sql(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status IN ({m}, {m}) "
            f"AND next_attempt_at <= {m} ORDER BY next_attempt_at, id LIMIT {m}",
            (PENDING, RELAYED, now, limit),
        ).all()
    return [_row(r) for r in rows]


def next_due(store: LedgerStore) -> str | None:
    """When the earliest row still to attempt (pending or relayed) falls due; None when
    there is none. The worker sleeps until then (or until woken)."""
    with store.read() as conn:
        m = _mark(conn)
        (first,) = conn.exec_driver_sql(
            f"SELECT min(next_attempt_at) FROM outbox WHERE status IN ({m}, {m})",
            (PENDING, RELAYED),
        ).one()
    return None if first is None else str(first)


def rows(
    store: LedgerStore, message_id: str | None = None, status: str | None = None
) -> list[OutboxRow]:
    """Every outbox row (of one message, or in one status), oldest first."""
    # straight to the driver (as the queries below): the hub reads a message's rows at
    # each delivery it accepts, and a sender's every question about its receipts
    with store.read() as conn:
        m = _mark(conn)
        where = [("message_id", message_id), ("status", status)]
        terms = [f"{name} = {m}" for name, value in where if value is not None]
        found = conn.exec_driver_sql(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
            + (" WHERE " + " AND ".join(terms) if terms else "")
            + " ORDER BY id",
            tuple(value for _name, value in where if value is not None),
        ).all()
    return [_row(r) for r in found]


#: The most message ids in one ``IN (...)`` of :func:`rows_of` (SQLite's older limit on
#: bound parameters is 999).
_IN_CHUNK = 500


def rows_of(store: LedgerStore, message_ids: Sequence[str]) -> list[OutboxRow]:
    """The rows of several messages, in one query (oldest first)."""
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        return []
    found: list[OutboxRow] = []
    with store.read() as conn:
        m = _mark(conn)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            found += [
                _row(r)
                for r in conn.exec_driver_sql(
                    f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE message_id IN "
                    f"({', '.join([m] * len(chunk))})",
                    tuple(chunk),
                ).all()
            ]
    found.sort(key=lambda r: r.id)
    return found


def depth(store: LedgerStore) -> int:
    """How many rows still wait (pending or relayed)."""
    with store.read() as conn:
        value = conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.status.in_((PENDING, RELAYED)))
        ).scalar_one()
    return int(value)


def mark(
    store: LedgerStore,
    row_id: int,
    *,
    status: str | None = None,
    attempted: bool = False,
    next_attempt_at: str | None = None,
    error: str | None = None,
    receipt: bytes | None = None,
    done_at: str | None = None,
    payload: str | None = None,
) -> None:
    """Record an attempt or an outcome on one row."""
    with store.write() as txn:
        mark_in(
            txn.conn, row_id, status=status, attempted=attempted,
            next_attempt_at=next_attempt_at, error=error, receipt=receipt, done_at=done_at,
            payload=payload,
        )  # fmt: skip


def mark_in(
    conn: Connection,
    row_id: int,
    *,
    status: str | None = None,
    attempted: bool = False,
    next_attempt_at: str | None = None,
    error: str | None = None,
    receipt: bytes | None = None,
    done_at: str | None = None,
    payload: str | None = None,
) -> None:
    """:func:`mark` inside the caller's transaction (e.g. the one logging the receipt)."""
    values: dict[str, object] = {}
    if status is not None:
        values["status"] = status
    if attempted:
        values["attempts"] = outbox.c.attempts + 1
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    values["last_error"] = error
    if receipt is not None:
        values["receipt"] = receipt
    if done_at is not None:
        values["done_at"] = done_at
    if payload is not None:
        values["payload"] = payload
    conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


def mark_done(store: LedgerStore, done: Sequence[tuple[int, bytes, str]]) -> None:
    """Mark several rows ``done`` with their receipts, ``(row id, receipt, done at)``, in
    one transaction (the hub's fan-out: one commit per step, not one per node). A crash
    before the commit loses nothing but the record: the row is relayed again, and the
    node answers a duplicate with the receipt it signed the first time."""
    if not done:
        return
    with store.write() as txn:
        # one statement for every row, straight to the driver (executemany): building an
        # UPDATE per row cost the hub about a third of its CPU per delivery
        m = _mark(txn.conn)
        txn.conn.exec_driver_sql(
            f"UPDATE outbox SET status = {m}, attempts = attempts + 1, last_error = NULL, "
            f"receipt = {m}, done_at = {m} WHERE id = {m}",
            [(DONE, receipt, at, row_id) for row_id, receipt, at in done],
        )


# -- peers


def _peer(r: object) -> PeerRecord:
    m = r._mapping  # type: ignore[attr-defined]
    return PeerRecord(
        m["state"], m["url"], m["key_name"], bytes(m["public_key"]), m["fingerprint"],
        m["added_at"],
    )  # fmt: skip


def put_peer(conn: Connection, peer: PeerRecord) -> None:
    """Add or replace a peer (inside the caller's transaction)."""
    conn.execute(delete(peers).where(peers.c.state == peer.state))
    conn.execute(
        insert(peers).values(
            state=peer.state,
            url=peer.url,
            key_name=peer.key_name,
            public_key=peer.public_key,
            fingerprint=peer.fingerprint,
            added_at=peer.added_at,
        )
    )


def remove_peer(store: LedgerStore, state: str) -> bool:
    """Remove a peer; whether it was there."""
    with store.write() as txn:
        result = txn.conn.execute(delete(peers).where(peers.c.state == state))
    return bool(result.rowcount)


def list_peers(store: LedgerStore) -> list[PeerRecord]:
    # straight to the driver: the hub reads its nodes at every step of its fan-out
    with store.read() as conn:
        found = _rows(conn, f"SELECT {_PEER_COLUMNS} FROM peers ORDER BY state")
    return [_peer_of(r) for r in found]


def get_peer(store: LedgerStore, state: str) -> PeerRecord | None:
    # straight to the driver (store.log._rows): a node reads the hub's pinned key for
    # every relayed delivery
    with store.read() as conn:
        m = _mark(conn)
        found = _rows(conn, f"SELECT {_PEER_COLUMNS} FROM peers WHERE state = {m}", (state,))
    return _peer_of(found[0]) if found else None


#: The columns of ``peers`` that :func:`_peer_of` reads, in order.
_PEER_COLUMNS = "state, url, key_name, public_key, fingerprint, added_at"


def _peer_of(row: Sequence[Any]) -> PeerRecord:
    """:func:`_peer` of a positional row of :data:`_PEER_COLUMNS`."""
    state, url, key_name, public_key, fingerprint, added_at = row
    return PeerRecord(state, url, key_name, bytes(public_key), fingerprint, added_at)
