"""Storage: SQLAlchemy 2 tables, Alembic migrations (shipped in the package), and the
log's repository on SQLite (default; WAL, synchronous=FULL) or PostgreSQL."""

from csbm.store.engine import open_engine, sqlite_url, upgrade
from csbm.store.errors import StoreError, StoreLogError
from csbm.store.group_commit import GroupCommitter
from csbm.store.log import LedgerStore, SqlNodeStore, WriteTxn
from csbm.store.records import (
    AppendResult,
    CheckpointRecord,
    EntryRecord,
    KeyRecord,
    StoredEntry,
)
from csbm.store.schema import APPEND_ONLY_TABLES, metadata

__all__ = [
    "APPEND_ONLY_TABLES",
    "AppendResult",
    "CheckpointRecord",
    "EntryRecord",
    "GroupCommitter",
    "KeyRecord",
    "LedgerStore",
    "SqlNodeStore",
    "StoreError",
    "StoreLogError",
    "StoredEntry",
    "WriteTxn",
    "metadata",
    "open_engine",
    "sqlite_url",
    "upgrade",
]
