"""The tables of a node's store (SQLAlchemy 2 Core), shared by SQLite and PostgreSQL.

The log tables — ``log_entries``, ``merkle_nodes``, ``receipts``, ``checkpoints`` and
``split_view_evidence`` — are append-only: the migration installs triggers that refuse
UPDATE and DELETE on both backends (DESIGN.md, principle 1; RFC 9162 §2.1: a log only
grows). ``keys`` (the key directory) and ``node_meta`` are ordinary tables; every change
to a key is also written to the log as a signed entry.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: One row per log entry (a leaf of the Merkle tree): the canonical envelope bytes.
log_entries = Table(
    "log_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("message_id", String(36), nullable=False, unique=True),
    Column("kind", String(128), nullable=False),
    Column("sender", String(2), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
)

#: Perfect-subtree nodes of the RFC 9162 tree: level 0 holds the leaf hashes.
merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", SmallInteger, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("level", "idx", name="pk_merkle_nodes"),
)

#: Receipts issued (we received a message) and received (a peer acknowledged ours).
receipts = Table(
    "receipts",
    metadata,
    Column("receipt_index", BigInteger, primary_key=True, autoincrement=False),
    Column("direction", String(8), nullable=False),
    Column("peer", String(2), nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("message_hash", LargeBinary(32), nullable=False),
    Column("entry_index", BigInteger, nullable=False),
)

#: Checkpoints: our own signed tree heads and the peers' ones we verified.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False),
    Column("own", Boolean, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("seen_at", String(40), nullable=False),
)

#: Evidence that a peer showed two views of its log (two checkpoints that do not extend).
split_view_evidence = Table(
    "split_view_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("found_at", String(40), nullable=False),
)

#: The key directory: our own keys (past and present) and the peers' public keys.
keys = Table(
    "keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(2), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("name", String(255), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("own", Boolean, nullable=False),
    Column("valid_from", String(40), nullable=False),
    Column("valid_until", String(40), nullable=True),
    Column("revoked_at", String(40), nullable=True),
    UniqueConstraint("state", "key_id", name="uq_keys_state_key_id"),
)

#: Small facts about the node (its State, its log origin).
node_meta = Table(
    "node_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: The tables that only grow.
APPEND_ONLY_TABLES: tuple[str, ...] = (
    "log_entries",
    "merkle_nodes",
    "receipts",
    "checkpoints",
    "split_view_evidence",
)
