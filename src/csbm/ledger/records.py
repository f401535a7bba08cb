"""The records of a node's log that the ledger hands to storage and reads back: plain
frozen dataclasses. They live in the ledger; ``csbm.store`` imports them (and re-exports
them as ``csbm.store.records``): the store depends on the ledger, never the other way."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntryRecord:
    """A log entry to append: the canonical envelope bytes and the fields indexed from it."""

    message_id: str
    kind: str
    sender: str
    key_id: str
    created_at: str
    envelope: bytes


@dataclass(frozen=True)
class AppendResult:
    """Where an entry is in the log; ``duplicate`` when it was there already."""

    index: int
    leaf_hash: bytes
    message_id: str
    duplicate: bool = False


@dataclass(frozen=True)
class StoredEntry:
    index: int
    message_id: str
    kind: str
    sender: str
    key_id: str
    created_at: str
    envelope: bytes


@dataclass(frozen=True)
class KeyRecord:
    """A key in the directory: whose, its C2SP key id and name, and when it may sign."""

    state: str
    key_id: str
    name: str
    public_key: bytes
    own: bool
    valid_from: str
    valid_until: str | None = None
    revoked_at: str | None = None


@dataclass(frozen=True)
class CheckpointRecord:
    origin: str
    own: bool
    size: int
    root: bytes
    note: str
    seen_at: str
