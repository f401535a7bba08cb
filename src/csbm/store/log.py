"""The node's log in SQL: entries, the perfect-subtree Merkle nodes, receipts, checkpoints,
split-view evidence and the key directory, behind one small repository.

Writes happen in a :meth:`LedgerStore.write` transaction that holds the log's write lock
(SQLite ``BEGIN IMMEDIATE``; a PostgreSQL transaction-scoped advisory lock), so indices
are dense and a batch of appends is one commit: *group commit* -- the whole batch is
acknowledged only once that commit has returned, i.e. after its fsync (SQLite WAL with
``synchronous=FULL``; PostgreSQL ``synchronous_commit=on``). A message id that is already
in the log with the same bytes is recognised and changes nothing (DESIGN.md, principle 5).

:class:`SqlNodeStore` implements :class:`csbm.ledger.merkle.NodeStore` on the
``merkle_nodes`` table, so every proof is O(log n) point reads (RFC 9162 §2.1.3, §2.1.4).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from csbm.errors import InputError, NotFoundError, Problem
from csbm.ledger.keys import KeyDirectory
from csbm.ledger.merkle import ConsistencyProof, InclusionProof, MerkleLog, leaf_hash
from csbm.ledger.records import (
    AppendResult,
    CheckpointRecord,
    EntryRecord,
    KeyRecord,
    StoredEntry,
)
from csbm.store import schema
from csbm.store.engine import WRITE, open_engine, upgrade
from csbm.store.errors import StoreError, StoreLogError, location, translate

#: The ``node_meta`` row naming the key directory's version (changed by every key write).
KEYS_VERSION = "keys_version"

#: The advisory lock that serialises a log's writers on PostgreSQL ("csbm", and the schema).
_PG_LOCK = 0x63_73_62_6D


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """The rows (positional) of one statement of driver SQL, in ``conn``'s transaction.

    On SQLite it goes straight to the DBAPI connection under ``conn`` (no execution
    context nor result object: about a tenth of the CPU of
    :meth:`Connection.exec_driver_sql` for the point reads and inserts of every
    delivery); a driver error is raised as SQLAlchemy raises it (the same
    :class:`sqlalchemy.exc.DBAPIError` subclass, so :func:`csbm.store.errors.translate`
    says the same). A connection not yet in a transaction begins one first, as
    SQLAlchemy's autobegin does (a read keeps its one snapshot). PostgreSQL:
    :meth:`Connection.exec_driver_sql`."""
    if conn.dialect.name != "sqlite":
        result = conn.exec_driver_sql(sql, tuple(params))
        return list(result.all()) if result.returns_rows else []
    raw = _sqlite_connection(conn)
    try:
        return raw.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, params, exc, sqlite3.Error, dialect=conn.dialect) from exc


def _run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement of driver SQL for each of ``rows`` (executemany), as :func:`_rows`."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(sql, [tuple(r) for r in rows])
        return
    raw = _sqlite_connection(conn)
    try:
        raw.executemany(sql, rows)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, rows, exc, sqlite3.Error, dialect=conn.dialect) from exc


def _sqlite_connection(conn: Connection) -> sqlite3.Connection:
    if not conn.in_transaction():
        conn.begin()  # BEGIN (or BEGIN IMMEDIATE): csbm.store.engine
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


class SqlNodeStore:
    """:class:`csbm.ledger.merkle.NodeStore` on ``merkle_nodes``, bound to one connection.

    Reads go straight to the driver (one indexed point read per node); writes are one
    executemany per batch, inside the caller's transaction.
    """

    def __init__(self, conn: Connection, *, reader: bool = False) -> None:
        self._conn = conn
        self._reader = reader  # a reader takes the size once: nodes never change
        self._size: int | None = None
        self._mark = _mark(conn)
        self._get_sql = (
            f"SELECT hash FROM merkle_nodes WHERE level = {self._mark} AND idx = {self._mark}"
        )

    def get(self, level: int, index: int) -> bytes:
        rows = _rows(self._conn, self._get_sql, (level, index))
        if not rows:
            raise KeyError((level, index))
        return bytes(rows[0][0])

    def get_many(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several nodes in one round trip (all the nodes of a proof or a root)."""
        if not keys:
            return []
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(wanted), 200):
            part = wanted[start : start + 200]
            where = " OR ".join([f"(level = {self._mark} AND idx = {self._mark})"] * len(part))
            params = tuple(v for key in part for v in key)
            rows = _rows(self._conn, f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}",
                         params)  # fmt: skip
            for level, idx, digest in rows:
                found[(int(level), int(idx))] = bytes(digest)
        try:
            return [found[key] for key in keys]
        except KeyError as missing:
            raise KeyError(missing.args[0]) from None

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        rows = [(lv, ix, h) for lv, ix, h in items]
        if not rows:
            return
        _run_many(
            self._conn,
            f"INSERT INTO merkle_nodes (level, idx, hash) VALUES ({self._mark}, {self._mark}, "
            f"{self._mark})",
            rows,
        )
        if self._size is not None:
            leaves = [ix for lv, ix, _h in rows if lv == 0]
            if leaves:
                self._size = max(self._size, max(leaves) + 1)

    def size(self) -> int:
        """The number of leaves, read once per transaction (the write lock or the
        reader's snapshot holds it; :meth:`put_many` keeps it up to date)."""
        if self._size is None:
            rows = _rows(self._conn, "SELECT max(idx) FROM merkle_nodes WHERE level = 0")
            row = rows[0] if rows else None
            self._size = 0 if row is None or row[0] is None else int(row[0]) + 1
        return self._size


def _checkpoints(conn: Connection, origin: str | None) -> list[CheckpointRecord]:
    t = schema.checkpoints
    query = select(t).order_by(t.c.id)
    if origin is not None:
        query = query.where(t.c.origin == origin)
    return [
        CheckpointRecord(r.origin, bool(r.own), int(r.size), bytes(r.root), r.note, r.seen_at)
        for r in conn.execute(query).all()
    ]


class WriteTxn:
    """One write transaction on the log (see :meth:`LedgerStore.write`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.nodes = SqlNodeStore(conn)
        self.merkle = MerkleLog(self.nodes)

    def size(self) -> int:
        """The log's size in this transaction (read once)."""
        return self.nodes.size()

    def logged(self, message_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """The ids among ``message_ids`` already in the log: id -> (index, envelope)."""
        existing: dict[str, tuple[int, bytes]] = {}
        ids = list(dict.fromkeys(message_ids))
        m = self.nodes._mark
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            rows = _rows(
                self.conn,
                "SELECT message_id, idx, envelope FROM log_entries WHERE message_id IN "
                f"({', '.join([m] * len(chunk))})",
                tuple(chunk),
            )
            for mid, idx, env in rows:
                existing[mid] = (int(idx), bytes(env))
        return existing

    def append(
        self,
        records: Sequence[EntryRecord],
        logged: dict[str, tuple[int, bytes]] | None = None,
    ) -> list[AppendResult]:
        """Append entries in order; an id already logged with the same bytes is a duplicate
        (its old index is returned, nothing is written); with other bytes it is refused.
        ``logged``: what :meth:`logged` answered for these ids in this transaction, when
        the caller asked already."""
        results: list[AppendResult | None] = [None] * len(records)
        existing = self.logged([r.message_id for r in records]) if logged is None else logged
        fresh: list[tuple[int, EntryRecord, bytes]] = []
        batch: dict[str, bytes] = {}
        problems: list[Problem] = []
        for pos, record in enumerate(records):
            digest = leaf_hash(record.envelope)
            seen = existing.get(record.message_id)
            if seen is not None:
                if seen[1] != record.envelope:
                    problems.append(_replayed(pos, record.message_id, f"log index {seen[0]}"))
                    continue
                results[pos] = AppendResult(seen[0], digest, record.message_id, duplicate=True)
                continue
            if record.message_id in batch:
                if batch[record.message_id] != record.envelope:
                    problems.append(_replayed(pos, record.message_id, "this batch"))
                continue
            batch[record.message_id] = record.envelope
            fresh.append((pos, record, digest))
        if problems:
            raise InputError(
                "message id replayed with other content", problems, code="envelope.replayed"
            )
        if fresh:
            first = self.nodes.size()
            m = self.nodes._mark
            _run_many(
                self.conn,
                "INSERT INTO log_entries (idx, message_id, kind, sender, key_id, created_at, "
                f"envelope) VALUES ({', '.join([m] * 7)})",
                [
                    (first + n, r.message_id, r.kind, r.sender, r.key_id, r.created_at,
                     r.envelope)
                    for n, (_pos, r, _d) in enumerate(fresh)
                ],
            )  # fmt: skip
            start = self.merkle.append([d for _p, _r, d in fresh])
            assert start == first
            for n, (pos, r, d) in enumerate(fresh):
                results[pos] = AppendResult(first + n, d, r.message_id)
        # in-batch duplicates point at their first occurrence
        by_id = {res.message_id: res for res in results if res is not None}
        out: list[AppendResult] = []
        for pos, record in enumerate(records):
            res = results[pos]
            if res is None:
                first_res = by_id[record.message_id]
                res = AppendResult(first_res.index, first_res.leaf_hash, record.message_id, True)
            out.append(res)
        return out

    def add_receipt(
        self,
        receipt_index: int,
        direction: str,
        peer: str,
        message_id: str,
        message_hash: bytes,
        entry_index: int,
    ) -> None:
        # straight to the driver: one per delivery received (and per receipt logged)
        m = self.nodes._mark
        _rows(
            self.conn,
            "INSERT INTO receipts (receipt_index, direction, peer, message_id, message_hash, "
            f"entry_index) VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
            (receipt_index, direction, peer, message_id, message_hash, entry_index),
        )

    def add_checkpoint(self, record: CheckpointRecord) -> None:
        # straight to the driver: one per delivery received
        m = self.nodes._mark
        _rows(
            self.conn,
            "INSERT INTO checkpoints (origin, own, size, root, note, seen_at) "
            f"VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
            (record.origin, bool(record.own), record.size, record.root, record.note,
             record.seen_at),
        )  # fmt: skip

    def last_checkpoint(self, origin: str) -> CheckpointRecord | None:
        """The last checkpoint of ``origin`` recorded, read in this transaction (under the
        write lock: no other writer can add one meanwhile)."""
        return _last_checkpoint(self.conn, origin)

    def checkpoints(self, origin: str) -> list[CheckpointRecord]:
        """Every checkpoint of ``origin`` recorded, oldest first, read in this transaction
        (those this transaction added included: a batch's earlier deliveries)."""
        return _checkpoints(self.conn, origin)

    def receipt_for(self, message_id: str, direction: str) -> dict[str, Any] | None:
        """The receipt row of a message in one direction, read in this transaction."""
        return _receipt_for(self.conn, message_id, direction)

    def entry(self, index: int) -> StoredEntry:
        """The entry at ``index``, read in this transaction."""
        return _entry_at(self.conn, index)

    def add_split_view_evidence(self, origin: str, evidence: str, found_at: str) -> None:
        self.conn.execute(
            insert(schema.split_view_evidence).values(
                origin=origin, evidence=evidence, found_at=found_at
            )
        )

    def put_key(self, key: KeyRecord) -> None:
        self.conn.execute(
            insert(schema.keys).values(
                state=key.state,
                key_id=key.key_id,
                name=key.name,
                public_key=key.public_key,
                own=key.own,
                valid_from=key.valid_from,
                valid_until=key.valid_until,
                revoked_at=key.revoked_at,
            )
        )
        self._keys_changed()

    def end_key(
        self,
        state: str,
        key_id: str,
        *,
        valid_until: str | None = None,
        revoked_at: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if valid_until is not None:
            values["valid_until"] = valid_until
        if revoked_at is not None:
            values["revoked_at"] = revoked_at
        if values:
            self.conn.execute(
                update(schema.keys)
                .where(schema.keys.c.state == state, schema.keys.c.key_id == key_id)
                .values(**values)
            )
            self._keys_changed()

    def _keys_changed(self) -> None:
        """A new version of the key directory (:meth:`LedgerStore.key_directory` reloads
        it when the version it holds is not the stored one)."""
        self.set_meta(KEYS_VERSION, uuid.uuid4().hex)

    def set_meta(self, name: str, value: str) -> None:
        t = schema.node_meta
        if self.conn.execute(select(t.c.name).where(t.c.name == name)).first() is None:
            self.conn.execute(insert(t).values(name=name, value=value))
        else:
            self.conn.execute(update(t).where(t.c.name == name).values(value=value))


def _replayed(pos: int, message_id: str, where: str) -> Problem:
    return Problem(
        f"entries[{pos}].message_id",
        f"message id already used for other content ({where})",
        message_id,
    )


class LedgerStore:
    """The repository of a node's log on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, url: str | None = None) -> None:
        self.engine = engine
        self.url = url if url is not None else engine.url.render_as_string(hide_password=True)
        self._counts: tuple[int, dict[tuple[str, str], int]] | None = None
        self._directory: tuple[str | None, KeyDirectory] | None = None
        self._directory_lock = threading.Lock()
        #: this thread's connection while in :meth:`reading` (its reads share it)
        self._held = threading.local()

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> LedgerStore:
        """Open (and migrate) the database at ``url``.

        With ``create=False`` (opening an existing node's log) nothing is ever created: a
        SQLite file that is not there is ``store.missing``, a database without the log's
        tables ``store.empty`` (both :class:`StoreLogError`, exit 1). Driver and OS errors
        become :class:`StoreError` (see :mod:`csbm.store.errors`).
        """
        where = location(url)
        engine = open_engine(url, migrate=False)
        try:
            if engine.dialect.name == "sqlite":
                _check_sqlite_path(engine, where, create)
            with engine.connect() as conn:
                has_log = inspect(conn).has_table("alembic_version")
            if not has_log and not create:
                raise StoreLogError(where, "the database holds no csbm log", "store.empty")
            upgrade(engine)
        except BaseException as exc:
            engine.dispose()
            if isinstance(exc, SQLAlchemyError | OSError):
                raise translate(exc, url) from None
            raise
        return cls(engine, url)

    def close(self) -> None:
        self.engine.dispose()

    # -- writing

    @contextmanager
    def write(self) -> Iterator[WriteTxn]:
        """A write transaction holding the log's lock; committed (durably) on exit. A
        driver or OS error (a full disk, a lost server) rolls it back and is raised as a
        :class:`StoreError`: nothing is half-written."""
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({_PG_LOCK}, hashtext(current_schema()))"
                    )
                yield WriteTxn(conn)
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, self.url) from None

    def append(self, records: Sequence[EntryRecord]) -> list[AppendResult]:
        """Append a batch in one durable commit (group commit); see :meth:`WriteTxn.append`."""
        with self.write() as txn:
            return txn.append(records)

    # -- reading

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection to read on: this thread's :meth:`reading` connection when in one,
        else a new one (its own transaction, closed on exit)."""
        held: Connection | None = getattr(self._held, "conn", None)
        try:
            if held is not None:
                yield held
                return
            with self.engine.connect() as conn:
                yield conn
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, self.url) from None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every :meth:`read` of this thread within shares one connection and one read
        transaction (one snapshot of the log): a request's few point reads (the key
        directory's version, a peer's pinned key) cost one connection, not one each.
        Never around a write: what a write transaction commits meanwhile is not seen."""
        if getattr(self._held, "conn", None) is not None:
            yield
            return
        try:
            with self.engine.connect() as conn:
                self._held.conn = conn
                try:
                    yield
                finally:
                    self._held.conn = None
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, self.url) from None

    def size(self) -> int:
        with self.read() as conn:
            return SqlNodeStore(conn).size()

    @contextmanager
    def tree(self) -> Iterator[MerkleLog]:
        """The log's Merkle tree, read through one connection (for many roots at once)."""
        with self.read() as conn:
            yield MerkleLog(SqlNodeStore(conn, reader=True))

    def root(self, size: int | None = None) -> bytes:
        with self.read() as conn:
            return MerkleLog(SqlNodeStore(conn, reader=True)).root(size)

    def prove_inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        with self.read() as conn:
            return MerkleLog(SqlNodeStore(conn, reader=True)).prove_inclusion(index, size)

    def prove_consistency(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        with self.read() as conn:
            return MerkleLog(SqlNodeStore(conn, reader=True)).prove_consistency(size1, size2)

    def entry(self, index: int) -> StoredEntry:
        with self.read() as conn:
            return _entry_at(conn, index)

    def entries_at(self, indices: Sequence[int]) -> dict[int, StoredEntry]:
        """The entries at some indices, by index, in one query per 500."""
        t = schema.log_entries
        out: dict[int, StoredEntry] = {}
        with self.read() as conn:
            for i in range(0, len(indices), 500):
                part = list(indices[i : i + 500])
                for row in conn.execute(select(t).where(t.c.idx.in_(part))):
                    out[int(row.idx)] = _entry(row)
        missing = [i for i in indices if i not in out]
        if missing:
            raise NotFoundError(f"no log entry at index {missing[0]}", code="ledger.no_entry")
        return out

    def entry_by_message_id(self, message_id: str) -> StoredEntry | None:
        # straight to the driver: every delivery received asks (its duplicate check)
        with self.read() as conn:
            rows = _rows(
                conn,
                f"SELECT {_ENTRY_COLUMNS} FROM log_entries WHERE message_id = {_mark(conn)}",
                (message_id,),
            )
        return _entry_of(rows[0]) if rows else None

    def iter_entries(
        self, start: int = 0, end: int | None = None, chunk: int = 2000
    ) -> Iterator[list[StoredEntry]]:
        """Entries in index order, ``chunk`` at a time (keyset pagination: flat memory)."""
        t = schema.log_entries
        pos = start
        while end is None or pos < end:
            stop = pos + chunk if end is None else min(pos + chunk, end)
            with self.read() as conn:
                rows = conn.execute(
                    select(t).where(t.c.idx >= pos, t.c.idx < stop).order_by(t.c.idx)
                ).all()
            if not rows:
                return
            yield [_entry(r) for r in rows]
            pos = stop

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        """The entries with ``start <= index < end``, in index order, in one query (a page
        of the record reads its window so, never one entry per query)."""
        t = schema.log_entries
        if end <= start:
            return []
        with self.read() as conn:
            rows = conn.execute(
                select(t).where(t.c.idx >= start, t.c.idx < end).order_by(t.c.idx)
            ).all()
        return [_entry(r) for r in rows]

    def message_entries(
        self,
        *,
        sender: str | None = None,
        other_than: str | None = None,
        from_index: int = 0,
        newest_first: bool = True,
        offset: int = 0,
        limit: int = 50,
    ) -> list[StoredEntry]:
        """A window of the log's messages -- its entries of a kind csbm does not write
        itself (not ``csbm.*``: receipts, keys) -- sent by ``sender`` or by anyone but
        ``other_than``, from the index ``from_index``, newest or oldest first: ``limit``
        from ``offset``, in SQL (LIMIT/OFFSET)."""
        t = schema.log_entries
        query = select(t).where(_not_reserved(t), t.c.idx >= from_index)
        if sender is not None:
            query = query.where(t.c.sender == sender)
        if other_than is not None:
            query = query.where(t.c.sender != other_than)
        order = t.c.idx.desc() if newest_first else t.c.idx
        with self.read() as conn:
            rows = conn.execute(query.order_by(order).limit(limit).offset(offset)).all()
        return [_entry(r) for r in rows]

    def message_counts(self) -> dict[tuple[str, str], int]:
        """How many entries the log holds per ``(sender, kind)`` (one SQL aggregate over an
        index), kept while the log keeps its size (entries never change)."""
        size = self.size()
        kept = self._counts
        if kept is not None and kept[0] == size:
            return kept[1]
        from sqlalchemy import func

        t = schema.log_entries
        with self.read() as conn:
            rows = conn.execute(
                select(t.c.sender, t.c.kind, func.count()).where(t.c.idx < size)
                .group_by(t.c.sender, t.c.kind)
            ).all()  # fmt: skip
        counts = {(str(s), str(k)): int(n) for s, k, n in rows}
        self._counts = (size, counts)
        return counts

    def receipts_of(self, message_ids: Sequence[str], direction: str) -> list[dict[str, Any]]:
        """The receipt rows of some messages in one ``direction``, in log order."""
        t = schema.receipts
        out: list[dict[str, Any]] = []
        ids = list(dict.fromkeys(message_ids))
        with self.read() as conn:
            for i in range(0, len(ids), 500):
                query = select(t).where(t.c.message_id.in_(ids[i : i + 500]),
                                        t.c.direction == direction)  # fmt: skip
                out.extend(dict(r) for r in conn.execute(query).mappings())
        out.sort(key=lambda r: int(r["receipt_index"]))
        return out

    def receipts_since(self, receipt_index: int, direction: str) -> list[dict[str, Any]]:
        """The receipt rows in one ``direction`` whose receipt entry is at ``receipt_index``
        or later, in log order (read as the log grows, never all again)."""
        t = schema.receipts
        query = (
            select(t).where(t.c.receipt_index >= receipt_index, t.c.direction == direction)
            .order_by(t.c.receipt_index)
        )  # fmt: skip
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def nodes_range(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        """Stored nodes ``(index, hash)`` of one level with ``start <= index < stop``."""
        with self.read() as conn:
            m = _mark(conn)
            rows = conn.exec_driver_sql(
                f"SELECT idx, hash FROM merkle_nodes WHERE level = {m} AND idx >= {m} "
                f"AND idx < {m} ORDER BY idx",
                (level, start, stop),
            ).all()
        return [(int(i), bytes(h)) for i, h in rows]

    def audit_rows(
        self, after: int, limit: int
    ) -> list[tuple[int, str, str, str, str, str, bytes, bytes | None]]:
        """Up to ``limit`` entries with index >= ``after``, in order, each with its stored
        leaf hash (None when missing): ``(idx, message_id, kind, sender, key_id,
        created_at, envelope, leaf)``. Straight from the driver: the audit reads millions."""
        with self.read() as conn:
            m = _mark(conn)
            rows = conn.exec_driver_sql(
                "SELECT e.idx, e.message_id, e.kind, e.sender, e.key_id, e.created_at, "
                "e.envelope, n.hash FROM log_entries e LEFT JOIN merkle_nodes n "
                f"ON n.level = 0 AND n.idx = e.idx WHERE e.idx >= {m} ORDER BY e.idx LIMIT {m}",
                (after, limit),
            ).all()
        return [
            (int(i), mid, kind, sender, kid, created, bytes(env), None if h is None else bytes(h))
            for i, mid, kind, sender, kid, created, env, h in rows
        ]

    def max_level(self) -> int:
        t = schema.merkle_nodes
        with self.read() as conn:
            from sqlalchemy import func

            value = conn.execute(select(func.max(t.c.level))).scalar()
        return -1 if value is None else int(value)

    def receipts(self) -> list[dict[str, Any]]:
        t = schema.receipts
        with self.read() as conn:
            rows = conn.execute(select(t).order_by(t.c.receipt_index)).mappings().all()
        return [dict(r) for r in rows]

    def receipt_for(self, message_id: str, direction: str) -> dict[str, Any] | None:
        with self.read() as conn:
            return _receipt_for(conn, message_id, direction)

    def receipts_at(self, indices: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Receipt rows by the log index of their receipt entry."""
        t = schema.receipts
        out: dict[int, dict[str, Any]] = {}
        with self.read() as conn:
            for i in range(0, len(indices), 500):
                part = list(indices[i : i + 500])
                for row in conn.execute(select(t).where(t.c.receipt_index.in_(part))).mappings():
                    out[int(row["receipt_index"])] = dict(row)
        return out

    def count_receipts(self) -> int:
        from sqlalchemy import func

        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.receipts)).scalar_one())

    def entries_by_message_ids(self, ids: Sequence[str]) -> dict[str, StoredEntry]:
        t = schema.log_entries
        out: dict[str, StoredEntry] = {}
        with self.read() as conn:
            for i in range(0, len(ids), 500):
                part = list(ids[i : i + 500])
                for row in conn.execute(select(t).where(t.c.message_id.in_(part))):
                    out[row.message_id] = _entry(row)
        return out

    def checkpoints(self, origin: str | None = None) -> list[CheckpointRecord]:
        with self.read() as conn:
            return _checkpoints(conn, origin)

    def last_checkpoint(self, origin: str) -> CheckpointRecord | None:
        with self.read() as conn:
            return _last_checkpoint(conn, origin)

    def split_view_evidence(self) -> list[dict[str, Any]]:
        t = schema.split_view_evidence
        with self.read() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def key_records(self, state: str | None = None) -> list[KeyRecord]:
        t = schema.keys
        query = select(t).order_by(t.c.id)
        if state is not None:
            query = query.where(t.c.state == state)
        with self.read() as conn:
            rows = conn.execute(query).all()
        return [
            KeyRecord(
                r.state,
                r.key_id,
                r.name,
                bytes(r.public_key),
                bool(r.own),
                r.valid_from,
                r.valid_until,
                r.revoked_at,
            )
            for r in rows
        ]

    def key_directory(self) -> KeyDirectory:
        """The key directory, read again only when a key write changed its version (one
        point read instead of the whole table per delivery); shared, so its public-key
        objects are built once. Do not change the directory returned."""
        version = self.meta(KEYS_VERSION)
        with self._directory_lock:
            held = self._directory
            if held is not None and held[0] == version:
                return held[1]
        directory = KeyDirectory(self.key_records())  # read after the version: never older
        with self._directory_lock:
            self._directory = (version, directory)
        return directory

    def meta(self, name: str) -> str | None:
        # straight to the driver: the key directory's version is read per delivery
        with self.read() as conn:
            rows = _rows(conn, f"SELECT value FROM node_meta WHERE name = {_mark(conn)}", (name,))
        value = rows[0][0] if rows else None
        return None if value is None else str(value)


def _not_reserved(t: Any) -> Any:
    """SQL for "a kind csbm does not write itself" (:func:`csbm.ledger.envelope.
    is_reserved_kind`: not ``csbm.*``, whatever the case)."""
    from sqlalchemy import func

    return func.lower(func.ltrim(t.c.kind)).not_like("csbm.%")


#: The columns of ``log_entries`` that :func:`_entry` reads, for SQL sent to the driver.
_ENTRY_COLUMNS = "idx, message_id, kind, sender, key_id, created_at, envelope"


def _mark(conn: Connection) -> str:
    """The driver's parameter mark (SQLite ``?``, psycopg ``%s``)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _entry_at(conn: Connection, index: int) -> StoredEntry:
    rows = _rows(conn, f"SELECT {_ENTRY_COLUMNS} FROM log_entries WHERE idx = {_mark(conn)}",
                 (index,))  # fmt: skip
    if not rows:
        raise NotFoundError(f"no log entry at index {index}", code="ledger.no_entry")
    return _entry_of(rows[0])


def _receipt_for(conn: Connection, message_id: str, direction: str) -> dict[str, Any] | None:
    m = _mark(conn)
    rows = _rows(
        conn,
        "SELECT receipt_index, direction, peer, message_id, message_hash, entry_index "
        f"FROM receipts WHERE message_id = {m} AND direction = {m}",
        (message_id, direction),
    )
    if not rows:
        return None
    out = dict(zip(_RECEIPT_COLUMNS, rows[0], strict=True))
    out["message_hash"] = bytes(out["message_hash"])
    return out


def _last_checkpoint(conn: Connection, origin: str) -> CheckpointRecord | None:
    # straight to the driver: read in the write transaction of every delivery received
    rows = _rows(
        conn,
        "SELECT origin, own, size, root, note, seen_at FROM checkpoints "
        f"WHERE origin = {_mark(conn)} ORDER BY id DESC LIMIT 1",
        (origin,),
    )
    if not rows:
        return None
    origin_, own, size, root, note, seen_at = rows[0]
    return CheckpointRecord(origin_, bool(own), int(size), bytes(root), note, seen_at)


#: The columns of ``receipts`` that :func:`_receipt_for` reads, in order.
_RECEIPT_COLUMNS = (
    "receipt_index", "direction", "peer", "message_id", "message_hash", "entry_index"
)  # fmt: skip


def _entry_of(row: Sequence[Any]) -> StoredEntry:
    """:func:`_entry` of a positional row of :data:`_ENTRY_COLUMNS`."""
    idx, message_id, kind, sender, key_id, created_at, envelope = row
    return StoredEntry(
        index=int(idx),
        message_id=message_id,
        kind=kind,
        sender=sender,
        key_id=key_id,
        created_at=created_at,
        envelope=bytes(envelope),
    )


def _entry(row: Any) -> StoredEntry:
    return StoredEntry(
        index=int(row.idx),
        message_id=row.message_id,
        kind=row.kind,
        sender=row.sender,
        key_id=row.key_id,
        created_at=row.created_at,
        envelope=bytes(row.envelope),
    )


def _check_sqlite_path(engine: Engine, where: str, create: bool) -> None:
    """A SQLite log's file: there (unless creating), a file, in a directory that exists."""
    from pathlib import Path

    name = engine.url.database
    if not name or name == ":memory:":
        return
    path = Path(name)
    if path.is_dir():
        raise StoreError(where, "is a directory, not a database file", "store.unreadable")
    if not path.exists():
        if not create:
            raise StoreLogError(where, "the database file is missing", "store.missing")
        if not path.parent.is_dir():
            raise StoreError(where, "no such directory", "store.unreachable")
    elif not create and path.stat().st_size == 0:
        raise StoreLogError(where, "the database file is empty", "store.empty")
