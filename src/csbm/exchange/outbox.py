"""Sending: sign and log a message, then fan it out to each recipient's node.

Source: DESIGN.md, "How a message travels": append to own log (durable) → deliver to each
recipient's node → signed receipt back → sender logs the receipt. A message to ``all``
goes to every peer the sender knows. One signed checkpoint covers the whole batch (every
recipient of the messages sent together), not one per delivery; what each peer last saw,
for its consistency proof, is read from the peer's receipts in the sender's log
(:meth:`csbm.node.Node.peer_seen_size`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csbm.exchange.transport import Transport
from csbm.ledger.checkpoint import SignedCheckpoint
from csbm.ledger.envelope import ALL
from csbm.node import Node


@dataclass(frozen=True)
class Outgoing:
    """One message to sign and send: its ``{kind, body}``, recipients, optional id."""

    message: Mapping[str, Any]
    recipients: tuple[str, ...]
    at: datetime
    message_id: str | None = None


@dataclass(frozen=True)
class Sent:
    """What sending a batch did: the log index and id of each message, the peers it went
    to, the one checkpoint the batch was delivered under, the receipts logged."""

    indices: tuple[int, ...]
    message_ids: tuple[str, ...]
    recipients: tuple[tuple[str, ...], ...]
    checkpoint: SignedCheckpoint | None
    deliveries: int
    receipts: tuple[int, ...]


def recipients_of(sender: str, recipients: Sequence[str], peers: Sequence[str]) -> list[str]:
    """The peers a message goes to: every peer for ``all``, else the named ones; never the
    sender itself."""
    chosen = list(peers) if ALL in recipients else list(recipients)
    seen: list[str] = []
    for code in chosen:
        if code != sender and code not in seen:
            seen.append(code)
    return seen


def send(
    node: Node,
    transport: Transport,
    outgoing: Sequence[Outgoing],
    peers: Sequence[str],
    at: datetime,
) -> Sent:
    """Sign and log ``outgoing`` (in order), then deliver them: one signed checkpoint for
    the batch; per recipient one delivery batch (fan-out), its receipts verified and logged
    by ``node``. ``peers`` are the States ``all`` stands for."""
    indices: list[int] = []
    ids: list[str] = []
    targets: list[tuple[str, ...]] = []
    per_peer: dict[str, list[int]] = {}
    for item in outgoing:
        result = node.append_message(item.message, list(item.recipients), item.at, item.message_id)
        indices.append(result.index)
        ids.append(result.message_id)
        to = tuple(recipients_of(node.state, item.recipients, peers))
        targets.append(to)
        for code in to:
            per_peer.setdefault(code, []).append(result.index)
    if not per_peer:
        return Sent(tuple(indices), tuple(ids), tuple(targets), None, 0, ())
    signed = node.checkpoint(at)
    deliveries = 0
    logged: list[int] = []
    for code, entries in per_peer.items():
        batch = node.delivery_batch(code, entries, signed)
        receipts = transport.deliver(batch, at)
        deliveries += len(batch.deliveries)
        logged.extend(node.record_receipt(raw) for raw in receipts)
    return Sent(tuple(indices), tuple(ids), tuple(targets), signed, deliveries, tuple(logged))
