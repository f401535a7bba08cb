"""The in-process transport: peers are :class:`csbm.node.Node` objects in this process.

Used by ``csbm demo`` and the tests. It calls the peer's own verification
(:meth:`csbm.node.Node.receive_batch`), exactly as a remote peer would run it; only the
wire is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from csbm.errors import NotFoundError
from csbm.ledger.checkpoint import SignedCheckpoint
from csbm.ledger.merkle import InclusionProof
from csbm.node import DeliveryBatch, Node


class InProcessTransport:
    """A :class:`csbm.exchange.transport.Transport` over nodes held in a mapping by State."""

    def __init__(self, nodes: Mapping[str, Node]) -> None:
        self._nodes = nodes

    def _peer(self, state: str) -> Node:
        node = self._nodes.get(state)
        if node is None:
            raise NotFoundError(f"no node of {state} on this transport", code="peer.unknown")
        return node

    def deliver(self, batch: DeliveryBatch, at: datetime) -> list[bytes]:
        return [receipt.raw for receipt in self._peer(batch.peer).receive_batch(batch, at)]

    def fetch_checkpoint(self, state: str, at: datetime) -> SignedCheckpoint:
        return self._peer(state).checkpoint(at)

    def fetch_inclusion(
        self, state: str, message_id: str, size: int
    ) -> tuple[bytes, InclusionProof]:
        node = self._peer(state)
        entry = node.entry_by_message_id(message_id)
        if entry is None:
            raise NotFoundError(f"{state} has no message {message_id}", code="message.unknown")
        return entry.envelope, node.prove_inclusion(entry.index, size)
