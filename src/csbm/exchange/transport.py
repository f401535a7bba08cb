"""The transport seam: how a node hands deliveries to a peer and fetches what a peer signs.

Source: DESIGN.md, "How a message travels" (deliver to each recipient's node; the recipient
verifies the signature and the sender's log consistency, appends, returns a signed
receipt) and principle 5 (delivery retries until a receipt arrives; a duplicate changes
nothing). A transport moves bytes and signed objects; it decides nothing: every check is
the receiving node's (:func:`csbm.ledger.receipt.accept_delivery`) and the sender's
(:func:`csbm.ledger.receipt.record_receipt`).

Implementations: :class:`csbm.exchange.inprocess.InProcessTransport` (nodes in this
process: ``csbm demo``, tests); HTTP is next.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from csbm.ledger.checkpoint import SignedCheckpoint
from csbm.ledger.merkle import InclusionProof
from csbm.node import DeliveryBatch


class Transport(Protocol):
    """What a sender needs from the network."""

    def deliver(self, batch: DeliveryBatch, at: datetime) -> list[bytes]:
        """Hand ``batch`` to ``batch.peer``; the raw signed receipts, one per delivery,
        in order. A refusal is raised as the peer's error (csbm.errors)."""
        ...

    def fetch_checkpoint(self, state: str, at: datetime) -> SignedCheckpoint:
        """A fresh signed checkpoint of ``state``'s log."""
        ...

    def fetch_inclusion(
        self, state: str, message_id: str, size: int
    ) -> tuple[bytes, InclusionProof]:
        """The envelope ``state`` logged under ``message_id`` and its RFC 9162 inclusion
        proof (§2.1.3) in the tree of ``size`` entries of its log: the caller hashes the
        envelope itself and checks the proof against a signed checkpoint."""
        ...
