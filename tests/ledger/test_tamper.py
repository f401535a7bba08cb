"""Tampering behind the application's back: a row edited with the append-only triggers
bypassed (dropped on SQLite, ``session_replication_role = replica`` on PostgreSQL) is
found by the audit, which names the entry (or node) and the fault. Both backends."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.ledger.audit import audit
from csbm.ledger.merkle import leaf_hash
from csbm.node import Node
from csbm.store import APPEND_ONLY_TABLES
from tests.store.backends import backend, db_factory, db_url
from tests.store.nodes import at, make_node, notification, trust

__all__ = ["backend", "db_factory", "db_url"]


def tamper(url: str, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run SQL on the database directly, with the append-only triggers out of the way."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database))
        try:
            for table in APPEND_ONLY_TABLES:
                for action in ("update", "delete"):
                    conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
            for sql, params in statements:
                conn.execute(sql, params)
            conn.commit()
        finally:
            conn.close()
        return
    options = str(parsed.query.get("options", ""))
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(dsn, options=options) as pg:
        pg.execute("SET session_replication_role = replica")
        for sql, params in statements:
            pg.execute(sql.replace("?", "%s"), params)
        pg.commit()


@pytest.fixture
def node(tmp_path: Path, db_url: str, db_factory: Callable[[], str]) -> Iterator[Node]:
    """UA with 12 messages, a receipt it issued for a message of AT, and a checkpoint."""
    ua = make_node(tmp_path, db_url, "UA")
    peer = make_node(tmp_path, db_factory(), "AT")
    trust(ua, peer)
    for n in range(6):
        ua.append([ua.sign(notification(n), ["all"], at(1 + n))])
    env = peer.sign(notification(100), ["UA"], at(2))
    (res,) = peer.append([env])
    ua.receive(peer.delivery(env.raw, res.index, 0, at(3)), at(4))
    for n in range(6, 10):
        ua.append([ua.sign(notification(n), ["all"], at(10 + n))])
    ua.checkpoint(at(30))
    peer.close()
    assert audit(ua.store, "UA", workers=0).ok
    yield ua
    ua.close()


def _envelope(node: Node, index: int) -> bytes:
    return node.store.entry(index).envelope


def test_edited_envelope_is_named(node: Node) -> None:
    raw = _envelope(node, 5)
    edited = raw.replace(b'"troops":9004', b'"troops":9005')
    assert edited != raw
    tamper(_url(node), [("UPDATE log_entries SET envelope = ? WHERE idx = ?", (edited, 5))])
    report = audit(node.store, "UA", workers=0)
    assert not report.ok
    first = report.first_fault
    assert first is not None and first.index == 5 and first.where == "entry 5"
    codes = {f.code for f in report.faults if f.index == 5}
    assert {"entry.leaf_hash", "envelope.bad_signature"} <= codes


def test_edited_envelope_with_recomputed_leaf_is_caught_by_the_tree_and_signature(
    node: Node,
) -> None:
    edited = _envelope(node, 4).replace(b'"troops":9003', b'"troops":9333')
    tamper(
        _url(node),
        [
            ("UPDATE log_entries SET envelope = ? WHERE idx = ?", (edited, 4)),
            (
                "UPDATE merkle_nodes SET hash = ? WHERE level = 0 AND idx = ?",
                (leaf_hash(edited), 4),
            ),
        ],
    )
    report = audit(node.store, "UA", workers=0)
    assert report.first_fault is not None and report.first_fault.where == "entry 4"
    assert any(f.code == "envelope.bad_signature" and f.index == 4 for f in report.faults)
    assert any(
        f.where == "merkle node (1, 2)" and f.code == "merkle.node_hash" for f in report.faults
    )


def test_edited_inner_node_is_named(node: Node) -> None:
    tamper(
        _url(node),
        [("UPDATE merkle_nodes SET hash = ? WHERE level = 2 AND idx = 1", (b"\x00" * 32,))],
    )
    report = audit(node.store, "UA", workers=0)
    wheres = {f.where for f in report.faults}
    assert "merkle node (2, 1)" in wheres  # no longer the hash of its children
    assert "merkle node (3, 0)" in wheres  # its parent no longer matches it


def test_edited_root_tile_breaks_the_signed_checkpoint(node: Node) -> None:
    # 13 entries: the root is built from nodes (3, 0), (2, 2) and (0, 12)
    assert node.store.size() == 13
    tamper(
        _url(node),
        [("UPDATE merkle_nodes SET hash = ? WHERE level = 3 AND idx = 0", (b"\x07" * 32,))],
    )
    report = audit(node.store, "UA", workers=0)
    assert any(f.where == "merkle node (3, 0)" for f in report.faults)
    assert any(f.code == "checkpoint.root" for f in report.faults)


def test_edited_index_column_is_named(node: Node) -> None:
    tamper(_url(node), [("UPDATE log_entries SET kind = ? WHERE idx = ?", ("csbm.receipt", 7))])
    report = audit(node.store, "UA", workers=0)
    assert report.first_fault is not None and report.first_fault.index == 7
    assert report.first_fault.code == "entry.columns"


def test_deleted_tail_is_caught_by_the_signed_checkpoint(node: Node) -> None:
    size = node.store.size()
    last = size - 1
    tamper(
        _url(node),
        [
            ("DELETE FROM log_entries WHERE idx = ?", (last,)),
            ("DELETE FROM merkle_nodes WHERE level = 0 AND idx = ?", (last,)),
            ("DELETE FROM merkle_nodes WHERE level > 0 AND ((idx + 1) << level) > ?", (last,)),
        ],
    )
    report = audit(node.store, "UA", workers=0)
    assert any(f.code == "checkpoint.beyond_log" for f in report.faults)


def test_deleted_middle_entry_is_named(node: Node) -> None:
    tamper(_url(node), [("DELETE FROM log_entries WHERE idx = ?", (3,))])
    report = audit(node.store, "UA", workers=0)
    assert report.first_fault is not None
    assert (report.first_fault.where, report.first_fault.code) == ("entry 3", "entry.missing")


def test_edited_receipt_row_is_named(node: Node) -> None:
    rows = node.store.receipts()
    assert len(rows) == 1
    receipt_index = rows[0]["receipt_index"]
    tamper(_url(node), [("UPDATE receipts SET entry_index = entry_index + 1", ())])
    report = audit(node.store, "UA", workers=0)
    assert report.first_fault is not None
    assert (report.first_fault.index, report.first_fault.code) == (receipt_index, "receipt.row")


def test_edited_checkpoint_note_is_named(node: Node) -> None:
    (cp,) = node.store.checkpoints("csbm/UA")
    forged = cp.note.replace(f"\n{cp.size}\n", f"\n{cp.size - 1}\n")
    tamper(_url(node), [("UPDATE checkpoints SET note = ? WHERE origin = ?", (forged, "csbm/UA"))])
    report = audit(node.store, "UA", workers=0)
    assert [f.code for f in report.faults] == ["checkpoint.signature"]


def test_pool_audit_finds_the_same_fault(node: Node) -> None:
    raw = _envelope(node, 9)
    tamper(
        _url(node), [("UPDATE log_entries SET envelope = ? WHERE idx = ?", (raw[:-3] + b'A"}', 9))]
    )
    report = audit(node.store, "UA", workers=2, chunk=3)
    assert report.workers == 2
    assert report.first_fault is not None and report.first_fault.where == "entry 9"
    assert report.entries == node.store.size()


def test_cli_verify_exits_1_and_names_the_entry(node: Node) -> None:
    edited = hashlib.sha256(b"x").hexdigest().encode()
    tamper(_url(node), [("UPDATE log_entries SET envelope = ? WHERE idx = ?", (edited, 2))])
    result = CliRunner().invoke(
        app, ["ledger", "verify", "--data", str(node.directory), "--db", _url(node)]
    )
    assert result.exit_code == 1
    assert "first bad: entry 2:" in result.output


def _url(node: Node) -> str:
    return node.store.engine.url.render_as_string(hide_password=False)
