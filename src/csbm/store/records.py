"""The log's records, defined in :mod:`csbm.ledger.records` (the store depends on the
ledger, never the other way) and re-exported here for the store's callers."""

from csbm.ledger.records import (
    AppendResult,
    CheckpointRecord,
    EntryRecord,
    KeyRecord,
    StoredEntry,
)

__all__ = ["AppendResult", "CheckpointRecord", "EntryRecord", "KeyRecord", "StoredEntry"]
