"""The record, for auditors: the log's entries, its signed checkpoint, a proof of any
entry, and the audit result -- the *Record* page of the workbench and its JSON twin.

Source: issue 12, item 1 (*Record*: "the log, checkpoints, proofs and the audit result,
for auditors"); RFC 9162 §2.1.3 (inclusion proofs); C2SP tlog-checkpoint (the signed
note). The entries are read newest first, one window in one query (never the whole log);
the checkpoint is signed at the clock; the audit (:func:`csbm.services.ledger.verify`)
reads the whole log and is run only when asked.
"""

from __future__ import annotations

from datetime import datetime

from csbm.errors import InputError, Problem
from csbm.ledger.envelope import parse_envelope
from csbm.ledger.records import StoredEntry
from csbm.node import Node
from csbm.services.documents import Document, Instant
from csbm.services.ledger import (
    AuditSummary,
    CheckpointDocument,
    InclusionDocument,
    checkpoint,
    prove_inclusion,
    verify,
)
from csbm.services.paging import PageInfo, check_window, info

__all__ = ["LogEntry", "RecordDocument", "record"]


class LogEntry(Document):
    """One entry of the log as an auditor reads it (no body: the message page shows it)."""

    index: int
    message_id: str
    kind: str
    sender: str
    to: list[str]
    case: str | None
    key_id: str
    created_at: str


class RecordDocument(Document):
    """The window of log entries (newest first), a fresh signed checkpoint, the inclusion
    proof of the entry asked for, and the audit when asked."""

    state: str
    at: Instant
    size: int
    entries: list[LogEntry]
    entries_page: PageInfo
    checkpoint: CheckpointDocument | None
    proof_of: int | None = None
    proof: InclusionDocument | None = None
    audit: AuditSummary | None = None


def _entry(stored: StoredEntry) -> LogEntry:
    envelope = parse_envelope(stored.envelope)
    case = envelope.message.get("case") if isinstance(envelope.message, dict) else None
    return LogEntry(
        index=stored.index, message_id=stored.message_id, kind=stored.kind,
        sender=stored.sender, to=list(envelope.recipients),
        case=None if case is None else str(case), key_id=stored.key_id,
        created_at=stored.created_at,
    )  # fmt: skip


def record(
    node: Node,
    at: datetime,
    *,
    offset: int = 0,
    limit: int = 50,
    proof_of: int | None = None,
    audit: bool = False,
) -> RecordDocument:
    """The *Record* document of ``node`` at ``at``. ``proof_of``: the index of an entry
    to prove included in the current tree; ``audit``: run the audit of the whole log."""
    check_window(offset, limit)
    size = node.size()
    if proof_of is not None and not 0 <= proof_of < max(size, 1):
        raise InputError(
            "no such entry", [Problem("proof_of", f"an index from 0 to {size - 1}", proof_of)]
        )
    end = size - offset  # newest first: the window is [end - limit, end), reversed
    shown = node.entries_between(max(end - limit, 0), end) if end > 0 else []
    return RecordDocument(
        state=node.state,
        at=at,
        size=size,
        entries=[_entry(e) for e in reversed(shown)],
        entries_page=info(offset, limit, size),
        checkpoint=checkpoint(node, at) if size else None,
        proof_of=proof_of,
        proof=prove_inclusion(node, proof_of, size) if proof_of is not None and size else None,
        audit=verify(node, workers=0) if audit else None,
    )
