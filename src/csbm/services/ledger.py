"""The ledger operations of a node: append, checkpoint, inclusion and consistency proofs,
the audit summary.

Source: RFC 9162 §2.1.3 (inclusion proofs), §2.1.4 (consistency proofs); C2SP
tlog-checkpoint (signed checkpoints); DESIGN.md principle 1 (the log is the source of
truth). Functions over an open :class:`csbm.node.Node` and a clock, returning documents
whose JSON form ``csbm ledger ... --json`` prints. Field names are neutral (``from_size``,
``index``); the CLI maps its options onto them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from csbm.errors import InputError, Problem
from csbm.ledger.checkpoint import SignedCheckpoint
from csbm.node import Node
from csbm.services.documents import Document


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class AppendDocument(Document):
    """A message appended (or recognised as already logged: ``duplicate``)."""

    index: int
    message_id: str
    leaf_hash: str
    duplicate: bool


def append(
    node: Node,
    message: Mapping[str, Any],
    recipients: Sequence[str],
    at: datetime,
    message_id: str | None = None,
) -> AppendDocument:
    """Sign ``message`` as the node's State and append it to its log, durably."""
    result = node.append_message(message, recipients, at, message_id)
    return AppendDocument(
        index=result.index,
        message_id=result.message_id,
        leaf_hash=_b64(result.leaf_hash),
        duplicate=result.duplicate,
    )


class CheckpointDocument(Document):
    """A signed checkpoint: origin, size, root (base64) and the signed note text."""

    origin: str
    size: int
    root: str
    note: str

    @classmethod
    def of(cls, signed: SignedCheckpoint) -> CheckpointDocument:
        return cls(origin=signed.origin, size=signed.size, root=_b64(signed.root),
                   note=signed.note)  # fmt: skip


def checkpoint(node: Node, at: datetime) -> CheckpointDocument:
    """Sign a checkpoint of the node's log as it is now (and remember it)."""
    return CheckpointDocument.of(node.checkpoint(at))


class InclusionDocument(Document):
    """An RFC 9162 inclusion proof in the field names of its test vectors."""

    leafIdx: int
    treeSize: int
    root: str
    leafHash: str
    proof: list[str]


class ConsistencyDocument(Document):
    """An RFC 9162 consistency proof in the field names of its test vectors."""

    size1: int
    size2: int
    root1: str
    root2: str
    proof: list[str]


def prove_inclusion(node: Node, index: int, size: int | None = None) -> InclusionDocument:
    """The inclusion proof of the entry at ``index`` in the tree of ``size`` (default: all)."""
    return InclusionDocument.model_validate(node.prove_inclusion(index, size).to_json())


def prove_consistency(node: Node, from_size: int, to_size: int) -> ConsistencyDocument:
    """The consistency proof from the tree of ``from_size`` to that of ``to_size``."""
    if from_size > to_size:
        raise InputError(
            "bad sizes", [Problem("from_size", f"must not exceed to_size ({to_size})", from_size)]
        )
    return ConsistencyDocument.model_validate(node.prove_consistency(from_size, to_size).to_json())


class AuditSummary(Document):
    """The audit of a whole log: ``ok``, what was checked, and the faults (all of them in
    ``report``, the audit's own JSON form)."""

    ok: bool
    entries: int
    signatures: int
    nodes: int
    receipts: int
    checkpoints: int
    seconds: float
    first_fault: str | None
    faults: list[str]
    report: dict[str, Any]


def verify(
    node: Node,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditSummary:
    """Audit the node's log: signatures, hashes, receipts, the stored tree, checkpoints."""
    report = node.audit(workers=workers, progress=progress)
    return AuditSummary(
        ok=report.ok,
        entries=report.size,
        signatures=report.signatures,
        nodes=report.nodes,
        receipts=report.receipts,
        checkpoints=report.checkpoints,
        seconds=report.seconds,
        first_fault=None if report.first_fault is None else report.first_fault.line(),
        faults=[f.line() for f in report.faults],
        report=report.to_json(),
    )
