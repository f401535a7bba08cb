"""The tamper-evident record: RFC 9162 Merkle log, C2SP signed notes and checkpoints,
split-view evidence (and, from ``envelope``/``keys``/``receipt``/``audit``, envelopes,
keys, receipts and the audit)."""

from csbm.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    ConsistencyProof,
    InclusionProof,
    MemoryNodeStore,
    MerkleLog,
    NodeStore,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "ConsistencyProof",
    "InclusionProof",
    "MemoryNodeStore",
    "MerkleLog",
    "NodeStore",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]
