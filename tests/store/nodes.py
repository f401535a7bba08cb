"""Helpers for tests that need whole nodes (data directory, key, database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from csbm.node import Node, init_node

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """An instant ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def make_node(root: Path, db_url: str, state: str = "UA", when: datetime = T0) -> Node:
    """A fresh node for ``state`` with its data directory under ``root``."""
    return init_node(state, when, data=root / state, db=db_url)


def notification(n: int = 0) -> dict[str, object]:
    """A message of a kind no measure claims (logged as it comes: the ledger tests are
    about the log, not about a measure's schema)."""
    return {"kind": "test.exercise", "body": {"activity": "exercise", "troops": 9000 + n}}


def trust(node: Node, peer: Node, when: datetime = T0) -> None:
    """Put ``peer``'s key in ``node``'s directory *without* the signed ``csbm.peer_key``
    entry ``Node.add_peer_key`` logs, so that tests which count entries and name tree
    nodes keep a fixed log layout. ``add_peer_key`` and its entry are tested in
    tests/ledger/test_peer_keys.py."""
    record = replace(peer.key.record(when), own=False)
    with node.store.write() as txn:
        txn.put_key(record)
