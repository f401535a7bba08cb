"""The SQL store: migrations, append (group commit, duplicates), the append-only triggers,
the SQL node store against the in-memory one, durability settings. Both backends."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from csbm.errors import InputError
from csbm.ledger.merkle import (
    MemoryNodeStore,
    MerkleLog,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from csbm.store import (
    APPEND_ONLY_TABLES,
    CheckpointRecord,
    EntryRecord,
    GroupCommitter,
    KeyRecord,
    LedgerStore,
    open_engine,
    upgrade,
)
from csbm.store.errors import StoreError


def _rec(i: int, payload: bytes | None = None) -> EntryRecord:
    return EntryRecord(
        message_id=f"00000000-0000-4000-8000-{i:012d}",
        kind="test",
        sender="UA",
        key_id="0badc0de",
        created_at="2026-01-01T00:00:00.000Z",
        envelope=payload if payload is not None else f"entry {i}".encode(),
    )


@pytest.fixture
def store(db_url: str) -> Iterator[LedgerStore]:
    s = LedgerStore.open(db_url)
    yield s
    s.close()


def test_migration_is_idempotent_and_creates_every_table(db_url: str) -> None:
    engine = open_engine(db_url)
    upgrade(engine)  # second run: nothing to do
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        for table in (*APPEND_ONLY_TABLES, "keys", "node_meta"):
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    assert version == _head()


def _head() -> str:
    """The newest migration shipped in the package (later migrations chain on 0001_log)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from csbm.store.engine import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_append_assigns_dense_indices_and_builds_the_tree(store: LedgerStore) -> None:
    first = store.append([_rec(i) for i in range(5)])
    second = store.append([_rec(i) for i in range(5, 12)])
    assert [r.index for r in first + second] == list(range(12))
    assert not any(r.duplicate for r in first + second)
    memory = MerkleLog(MemoryNodeStore())
    memory.append_data([f"entry {i}".encode() for i in range(12)])
    assert store.size() == 12
    assert store.root() == memory.root()
    assert store.root(7) == memory.root(7)
    assert store.entry(3).envelope == b"entry 3"
    assert store.entry_by_message_id(_rec(4).message_id) is not None


def test_duplicate_message_id_with_same_bytes_changes_nothing(store: LedgerStore) -> None:
    store.append([_rec(0), _rec(1)])
    root = store.root()
    again = store.append([_rec(1), _rec(2), _rec(2)])
    assert [(r.index, r.duplicate) for r in again] == [(1, True), (2, False), (2, True)]
    assert store.size() == 3
    assert store.root(2) == root


def test_message_id_with_other_bytes_is_refused_and_nothing_is_written(store: LedgerStore) -> None:
    store.append([_rec(0)])
    with pytest.raises(InputError) as caught:
        store.append([_rec(1), _rec(0, b"other bytes")])
    assert caught.value.code == "envelope.replayed"
    assert "entries[1].message_id" in caught.value.lines()[0]
    assert store.size() == 1  # the whole batch was refused
    with pytest.raises(InputError):
        store.append([_rec(5), _rec(5, b"different")])
    assert store.size() == 1


def test_a_failed_batch_leaves_no_trace(store: LedgerStore) -> None:
    store.append([_rec(0)])
    with pytest.raises(RuntimeError), store.write() as txn:
        txn.append([_rec(1), _rec(2)])
        raise RuntimeError("crash inside the transaction")
    assert store.size() == 1
    assert store.entry_by_message_id(_rec(1).message_id) is None
    assert store.nodes_range(0, 0, 10) == [(0, leaf_hash(b"entry 0"))]


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_triggers_refuse_update_and_delete(store: LedgerStore, table: str) -> None:
    store.append([_rec(i) for i in range(4)])
    with store.write() as txn:
        txn.add_receipt(3, "issued", "AT", _rec(2).message_id, b"\x00" * 32, 2)
        txn.add_checkpoint(CheckpointRecord("csbm/UA", True, 4, store.root(), "note", "t"))
        txn.add_split_view_evidence("csbm/AT", "{}", "t")
    column = {
        "log_entries": "kind",
        "merkle_nodes": "hash",
        "receipts": "peer",
        "checkpoints": "note",
        "split_view_evidence": "evidence",
    }[table]
    value = "'x'" if column != "hash" else "NULL"
    for statement in (f"UPDATE {table} SET {column} = {value}", f"DELETE FROM {table}"):
        with store.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
            conn.execute(text(statement))
            conn.commit()
        assert "append-only" in str(caught.value)
    with store.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_postgresql_refuses_truncate(store: LedgerStore, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    store.append([_rec(0)])
    with store.engine.connect() as conn, pytest.raises(DBAPIError):
        conn.execute(text("TRUNCATE log_entries CASCADE"))
        conn.commit()
    assert store.size() == 1


def test_key_directory_is_mutable_but_unique(store: LedgerStore) -> None:
    record = KeyRecord("UA", "0badc0de", "csbm/UA", b"\x01" * 32, True, "2026-01-01T00:00:00.000Z")
    with store.write() as txn:
        txn.put_key(record)
        txn.set_meta("state", "UA")
        txn.set_meta("state", "UA")
    with store.write() as txn:
        txn.end_key("UA", "0badc0de", valid_until="2026-02-01T00:00:00.000Z")
    assert store.key_records("UA")[0].valid_until == "2026-02-01T00:00:00.000Z"
    assert store.meta("state") == "UA"
    with pytest.raises(StoreError) as caught, store.write() as txn:
        txn.put_key(record)
    assert caught.value.code == "store.conflict"


def test_sql_node_store_proofs_match_memory_and_verify(store: LedgerStore) -> None:
    rng = random.Random(7)
    memory = MerkleLog(MemoryNodeStore())
    total = 0
    for batch in (1, 2, 3, 7, 16, 1, 33, 5):
        store.append([_rec(total + i) for i in range(batch)])
        memory.append_data([f"entry {total + i}".encode() for i in range(batch)])
        total += batch
    for _ in range(25):
        size = rng.randint(1, total)
        index = rng.randrange(size)
        proof = store.prove_inclusion(index, size)
        assert list(proof.proof) == memory.inclusion_proof(index, size)
        verify_inclusion(proof.leaf_hash, index, size, list(proof.proof), proof.root)
        older = rng.randint(1, size)
        cons = store.prove_consistency(older, size)
        assert list(cons.proof) == memory.consistency_proof(older, size)
        verify_consistency(older, size, list(cons.proof), cons.root1, cons.root2)


def test_iteration_is_chunked_and_ordered(store: LedgerStore) -> None:
    store.append([_rec(i) for i in range(25)])
    chunks = list(store.iter_entries(0, None, chunk=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [e.index for c in chunks for e in c] == list(range(25))
    assert [e.index for c in store.iter_entries(5, 8, chunk=2) for e in c] == [5, 6, 7]


def test_sqlite_durability_pragmas_on_every_connection(store: LedgerStore, backend: str) -> None:
    if backend != "sqlite":
        with store.engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
        return
    for _ in range(2):
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        store.engine.dispose()  # the next connection is a new one


def test_bad_database_urls_are_input_errors() -> None:
    with pytest.raises(InputError):
        open_engine("not a url")
    with pytest.raises(InputError):
        open_engine("mysql://localhost/x")


def test_group_committer_merges_concurrent_appends(store: LedgerStore) -> None:
    import threading

    results: dict[int, list[int]] = {}
    with GroupCommitter(store) as committer:

        def worker(t: int) -> None:
            got = []
            for i in range(20):
                (res,) = committer.append([_rec(1000 * t + i)])
                got.append(res.index)
            results[t] = got

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    indices = sorted(i for got in results.values() for i in got)
    assert indices == list(range(80))
    assert store.size() == 80
    for t, got in results.items():
        assert [store.entry(i).message_id for i in got] == [
            _rec(1000 * t + i).message_id for i in range(20)
        ]


def test_group_committer_shares_one_commit_among_waiting_appends(store: LedgerStore) -> None:
    import time

    with GroupCommitter(store) as committer:
        with store.write():  # hold the log's write lock: the committer must wait
            futures = [committer.submit([_rec(i)]) for i in range(50)]
            time.sleep(0.2)
            assert not any(f.done() for f in futures)  # nothing acknowledged before commit
        indices = [f.result()[0].index for f in futures]
        # the first commit took what was queued when it started (one submission or more);
        # all the others shared at most one more: 50 appends, at most 2 fsyncs
        assert committer.commits <= 2
    assert indices == list(range(50))


def test_group_committer_isolates_a_replayed_submission(store: LedgerStore) -> None:
    store.append([_rec(0)])
    with GroupCommitter(store) as committer:
        good = committer.submit([_rec(1)])
        bad = committer.submit([_rec(0, b"other bytes")])
        dup = committer.submit([_rec(0)])
        assert good.result()[0].index == 1
        with pytest.raises(InputError):
            bad.result()
        assert dup.result()[0].duplicate
    with pytest.raises(RuntimeError):
        committer.submit([_rec(2)])
    assert store.size() == 2


def test_the_key_directory_is_read_again_only_after_a_key_changed(db_url: str) -> None:
    """Issue 11, item 9: a delivery reads one version row, not the whole key directory;
    every key write -- from this store or another process's -- changes the version."""
    store = LedgerStore.open(db_url)
    other = LedgerStore.open(db_url)  # another process's connection to the same log
    try:
        record = KeyRecord("UA", "0badc0de", "csbm/UA", b"\x01" * 32, False,
                           "2026-01-01T00:00:00.000Z")  # fmt: skip
        first = store.key_directory()
        assert first.records() == []
        assert store.key_directory() is first  # nothing changed: the same directory
        with other.write() as txn:
            txn.put_key(record)
        second = store.key_directory()
        assert second is not first and second.records() == [record]
        assert store.key_directory() is second
        with other.write() as txn:
            txn.end_key("UA", "0badc0de", revoked_at="2026-02-01T00:00:00.000Z")
        third = store.key_directory()
        assert third is not second
        assert third.records()[0].revoked_at == "2026-02-01T00:00:00.000Z"
    finally:
        store.close()
        other.close()


def test_the_size_is_read_once_per_write_and_kept_by_appends(store: LedgerStore) -> None:
    """One ``max(idx)`` per write transaction, however many appends it holds; two appends
    in one transaction get dense indices."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        with store.write() as txn:
            raw = txn.conn.connection.dbapi_connection
            if store.engine.dialect.name == "sqlite":
                # every statement, those sent straight to the driver too (store.log._rows)
                event.remove(store.engine, "before_cursor_execute", count)
                raw.set_trace_callback(seen.append)  # type: ignore[union-attr]
            first = txn.append([_rec(1), _rec(2)])
            second = txn.append([_rec(3)])
            assert txn.size() == 3
            if store.engine.dialect.name == "sqlite":
                raw.set_trace_callback(None)  # type: ignore[union-attr]
    finally:
        if event.contains(store.engine, "before_cursor_execute", count):
            event.remove(store.engine, "before_cursor_execute", count)
    assert [r.index for r in (*first, *second)] == [0, 1, 2]
    assert sum("max(idx)" in s for s in seen) == 1
    assert store.size() == 3 and store.root() == store.root(3)


def test_the_pool_holds_a_worker_and_the_api_threads_at_once(store: LedgerStore) -> None:
    """Not SQLAlchemy's 5 + 10: a hub's 32 delivery threads and the API's 40 threads may
    each hold a connection without waiting for one."""
    from csbm.exchange.worker import HUB_PARALLEL

    pool: Any = store.engine.pool
    assert pool.size() + pool._max_overflow >= HUB_PARALLEL + 40
