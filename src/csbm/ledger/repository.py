"""What the ledger needs of storage, as typing protocols.

The ledger (receipts, the audit) works on a node's log through these protocols;
:class:`csbm.store.LedgerStore` implements them. So ``csbm.store`` depends on
``csbm.ledger`` and never the other way (DESIGN.md, "Layers"; tested by
``tests/store/test_import_graph.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from csbm.ledger.merkle import MerkleLog
from csbm.ledger.records import AppendResult, CheckpointRecord, EntryRecord, KeyRecord, StoredEntry

#: One audit row: ``(idx, message_id, kind, sender, key_id, created_at, envelope, leaf)``.
AuditRow = tuple[int, str, str, str, str, str, bytes, bytes | None]


class LogWriter(Protocol):
    """One write transaction on the log (holding its write lock)."""

    def size(self) -> int: ...

    def logged(self, message_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]: ...

    def append(
        self,
        records: Sequence[EntryRecord],
        logged: dict[str, tuple[int, bytes]] | None = None,
    ) -> list[AppendResult]: ...

    def entry(self, index: int) -> StoredEntry: ...

    def receipt_for(self, message_id: str, direction: str) -> dict[str, Any] | None: ...

    def last_checkpoint(self, origin: str) -> CheckpointRecord | None: ...

    def checkpoints(self, origin: str) -> list[CheckpointRecord]: ...

    def add_receipt(
        self,
        receipt_index: int,
        direction: str,
        peer: str,
        message_id: str,
        message_hash: bytes,
        entry_index: int,
    ) -> None: ...

    def add_checkpoint(self, record: CheckpointRecord) -> None: ...

    def add_split_view_evidence(self, origin: str, evidence: str, found_at: str) -> None: ...

    def put_key(self, key: KeyRecord) -> None: ...

    def end_key(
        self,
        state: str,
        key_id: str,
        *,
        valid_until: str | None = None,
        revoked_at: str | None = None,
    ) -> None: ...


class LogRepository(Protocol):
    """A node's log: its entries, tree, receipts, checkpoints and key directory."""

    def write(self) -> AbstractContextManager[LogWriter]: ...

    def tree(self) -> AbstractContextManager[MerkleLog]: ...

    def size(self) -> int: ...

    def entry(self, index: int) -> StoredEntry: ...

    def entry_by_message_id(self, message_id: str) -> StoredEntry | None: ...

    def entries_by_message_ids(self, ids: Sequence[str]) -> dict[str, StoredEntry]: ...

    def receipt_for(self, message_id: str, direction: str) -> dict[str, Any] | None: ...

    def receipts_at(self, indices: Sequence[int]) -> dict[int, dict[str, Any]]: ...

    def count_receipts(self) -> int: ...

    def last_checkpoint(self, origin: str) -> CheckpointRecord | None: ...

    def checkpoints(self, origin: str | None = None) -> list[CheckpointRecord]: ...

    def key_records(self, state: str | None = None) -> list[KeyRecord]: ...

    def audit_rows(self, after: int, limit: int) -> list[AuditRow]: ...

    def nodes_range(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]: ...

    def max_level(self) -> int: ...
