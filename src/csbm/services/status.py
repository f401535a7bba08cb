"""The state of a node's exchange: outbox depth, each sent message with its receipts or
whom it still waits for, and the peers' last checkpoints; on a hub, who has acknowledged
each relayed message.

Source: issue 11, item 6 (``csbm status [--json]``) and item 4 (the hub "serves who has
acknowledged what").
"""

from __future__ import annotations

import base64

from csbm.hub import HUB, Hub
from csbm.ledger.envelope import ALL, is_reserved_kind, parse_envelope
from csbm.node import Node
from csbm.services.documents import Document


class Acknowledgement(Document):
    state: str
    receipt_index: int


class SentStatus(Document):
    message_id: str
    index: int
    type: str
    case: str | None
    to: list[str]
    created_at: str
    receipts: list[Acknowledgement]
    waiting_for: list[str]
    delivery: str
    attempts: int
    last_error: str | None


class PeerStatus(Document):
    state: str
    url: str
    fingerprint: str
    last_checkpoint_size: int | None
    last_checkpoint_root: str | None
    last_checkpoint_seen_at: str | None


class StatusDocument(Document):
    state: str
    size: int
    outbox_depth: int
    sent: list[SentStatus]
    peers: list[PeerStatus]


def status(node: Node) -> StatusDocument:
    """The node's exchange at a glance (see the module doc). A message to all waits for
    every peer State this node knows until its receipt is in."""
    rows: dict[str, list[tuple[str, str, int, str | None]]] = {}
    for row in node.outbox_rows():
        rows.setdefault(row.message_id, []).append(
            (row.destination, row.status, row.attempts, row.last_error)
        )
    acked: dict[str, dict[str, int]] = {}
    for r in node.receipt_rows():
        if r["direction"] == "received":
            acked.setdefault(str(r["message_id"]), {})[str(r["peer"])] = int(r["receipt_index"])
    peers = node.peers()
    states = [p.state for p in peers if p.state != HUB]
    sent: list[SentStatus] = []
    for entry in node.entries():
        if entry.sender != node.state or is_reserved_kind(entry.kind):
            continue
        envelope = parse_envelope(entry.envelope)
        got = acked.get(entry.message_id, {})
        wanted = states if ALL in envelope.recipients else list(envelope.recipients)
        queue = rows.get(entry.message_id, [])
        statuses = sorted({s for _d, s, _a, _e in queue}) or ["not queued"]
        errors = [e for _d, _s, _a, e in queue if e]
        case = envelope.message.get("case")
        sent.append(
            SentStatus(
                message_id=entry.message_id,
                index=entry.index,
                type=entry.kind,
                case=None if case is None else str(case),
                to=list(envelope.recipients),
                created_at=entry.created_at,
                receipts=[
                    Acknowledgement(state=s, receipt_index=i) for s, i in sorted(got.items())
                ],
                waiting_for=[s for s in wanted if s not in got and s != node.state],
                delivery=",".join(statuses),
                attempts=sum(a for _d, _s, a, _e in queue),
                last_error=errors[-1] if errors else None,
            )
        )
    peer_docs = []
    for p in peers:
        last = None if p.state == HUB else node.last_checkpoint_of(p.state)
        peer_docs.append(
            PeerStatus(
                state=p.state,
                url=p.url,
                fingerprint=p.fingerprint,
                last_checkpoint_size=None if last is None else last.size,
                last_checkpoint_root=None if last is None else base64.b64encode(last.root).decode(),
                last_checkpoint_seen_at=None if last is None else last.seen_at,
            )
        )
    return StatusDocument(
        state=node.state,
        size=node.size(),
        outbox_depth=node.outbox_depth(),
        sent=sent,
        peers=peer_docs,
    )


class RelayStatus(Document):
    state: str
    status: str
    attempts: int
    last_error: str | None
    receipt: str | None
    acknowledged_at: str | None


class RelayedMessage(Document):
    message_id: str
    sender: str
    received_at: str
    recipients: list[RelayStatus]
    acknowledged: list[str]
    waiting_for: list[str]


class HubStatusDocument(Document):
    hub: bool
    outbox_depth: int
    nodes: list[PeerStatus]
    messages: list[RelayedMessage]


def relayed(hub: Hub, message_id: str | None = None) -> list[RelayedMessage]:
    """Who has acknowledged each message the hub relays (of one message, or all)."""
    grouped: dict[str, list[RelayStatus]] = {}
    meta: dict[str, tuple[str, str]] = {}
    for row in hub.relay_rows(message_id):
        meta.setdefault(row.message_id, (row.sender, row.created_at))
        grouped.setdefault(row.message_id, []).append(
            RelayStatus(
                state=row.destination,
                status=row.status,
                attempts=row.attempts,
                last_error=row.last_error,
                receipt=None if row.receipt is None else base64.b64encode(row.receipt).decode(),
                acknowledged_at=row.done_at,
            )
        )
    return [
        RelayedMessage(
            message_id=mid,
            sender=meta[mid][0],
            received_at=meta[mid][1],
            recipients=items,
            acknowledged=[i.state for i in items if i.receipt is not None],
            waiting_for=[i.state for i in items if i.receipt is None and i.status != "refused"],
        )
        for mid, items in grouped.items()
    ]


def hub_status(hub: Hub) -> HubStatusDocument:
    nodes = [
        PeerStatus(
            state=p.state,
            url=p.url,
            fingerprint=p.fingerprint,
            last_checkpoint_size=None,
            last_checkpoint_root=None,
            last_checkpoint_seen_at=None,
        )
        for p in hub.peers()
    ]
    return HubStatusDocument(
        hub=True, outbox_depth=hub.depth(), nodes=nodes, messages=relayed(hub)
    )


def relay_of(hub: Hub, message_id: str) -> RelayedMessage:
    """One relayed message's acknowledgements; not found when the hub never had it."""
    from csbm.errors import NotFoundError

    found = relayed(hub, message_id)
    if not found:
        raise NotFoundError(f"the hub relays no message {message_id}", code="message.unknown")
    return found[0]


__all__ = ["HubStatusDocument", "StatusDocument", "hub_status", "relay_of", "status"]
_ = parse_envelope
