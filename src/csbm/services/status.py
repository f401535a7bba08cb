"""The state of a node's exchange: outbox depth, each sent message with its receipts or
whom it still waits for, and the peers' last checkpoints; on a hub, who has acknowledged
each relayed message.

Source: issue 11, item 6 (``csbm status [--json]``) and item 4 (the hub "serves who has
acknowledged what").
"""

from __future__ import annotations

import base64
import threading
import weakref
from dataclasses import dataclass, field

from csbm.hub import HUB, Hub
from csbm.ledger.envelope import ALL, parse_envelope
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


@dataclass(frozen=True, slots=True)
class _Mine:
    """One message this node sent, as its envelope says (read once: entries never
    change)."""

    index: int
    message_id: str
    kind: str
    case: str | None
    to: tuple[str, ...]
    created_at: str


@dataclass
class _Outgoing:
    """This node's sent messages and the receipts received for them, read up to the log
    size ``upto`` and extended as the log grows (never read whole again)."""

    upto: int = 0
    mine: list[_Mine] = field(default_factory=list)
    by_id: dict[str, _Mine] = field(default_factory=dict)
    acked: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_outgoing: weakref.WeakKeyDictionary[Node, _Outgoing] = weakref.WeakKeyDictionary()
_outgoing_guard = threading.Lock()
_READ = 2000


def _outgoing_of(node: Node) -> _Outgoing:
    """The node's :class:`_Outgoing`, brought up to the log's size: only the entries and
    receipts logged since the last call are read (index ranges in SQL)."""
    with _outgoing_guard:
        out = _outgoing.get(node)
        if out is None:
            out = _outgoing[node] = _Outgoing()
    size = node.size()
    if out.upto >= size:
        return out
    with out.lock:
        start = out.upto
        if start >= size:
            return out
        mine: list[_Mine] = []
        position = start
        while True:
            chunk = node.messages(sender=node.state, from_index=position, newest_first=False,
                                  limit=_READ)  # fmt: skip
            for entry in chunk:
                if entry.index >= size:
                    break
                envelope = parse_envelope(entry.envelope)
                case = envelope.message.get("case") if isinstance(envelope.message, dict) else None
                mine.append(_Mine(entry.index, entry.message_id, entry.kind,
                                  None if case is None else str(case),
                                  tuple(envelope.recipients), entry.created_at))  # fmt: skip
            if len(chunk) < _READ or chunk[-1].index >= size:
                break
            position = chunk[-1].index + 1
        acked = {k: dict(v) for k, v in out.acked.items()}
        for r in node.receipts_since(start, "received"):
            if int(r["receipt_index"]) < size:
                acked.setdefault(str(r["message_id"]), {})[str(r["peer"])] = int(r["receipt_index"])
        by_id = dict(out.by_id)
        by_id.update((m.message_id, m) for m in mine)
        # published together (readers take the three attributes without the lock)
        out.mine, out.by_id, out.acked = out.mine + mine, by_id, acked
        out.upto = size
    return out


def _wanted(m: _Mine, states: list[str]) -> list[str]:
    return states if ALL in m.to else list(m.to)


def _sent_status(node: Node, out: _Outgoing, chosen: list[_Mine], states: list[str]
                 ) -> list[SentStatus]:  # fmt: skip
    """The :class:`SentStatus` of the messages ``chosen`` (their outbox rows read in one
    query)."""
    rows: dict[str, list[tuple[str, str, int, str | None]]] = {}
    for row in node.outbox_rows_of([m.message_id for m in chosen]):
        rows.setdefault(row.message_id, []).append(
            (row.destination, row.status, row.attempts, row.last_error)
        )
    sent: list[SentStatus] = []
    for m in chosen:
        got = out.acked.get(m.message_id, {})
        queue = rows.get(m.message_id, [])
        statuses = sorted({s for _d, s, _a, _e in queue}) or ["not queued"]
        errors = [e for _d, _s, _a, e in queue if e]
        sent.append(
            SentStatus(
                message_id=m.message_id,
                index=m.index,
                type=m.kind,
                case=m.case,
                to=list(m.to),
                created_at=m.created_at,
                receipts=[
                    Acknowledgement(state=s, receipt_index=i) for s, i in sorted(got.items())
                ],
                waiting_for=[s for s in _wanted(m, states) if s not in got and s != node.state],
                delivery=",".join(statuses),
                attempts=sum(a for _d, _s, a, _e in queue),
                last_error=errors[-1] if errors else None,
            )
        )
    return sent


def _peer_states(node: Node) -> list[str]:
    return [p.state for p in node.peers() if p.state != HUB]


def unacknowledged(node: Node, offset: int, limit: int) -> tuple[list[SentStatus], int]:
    """Our messages still waiting for a receipt, oldest first: the window of ``limit``
    from ``offset`` and how many wait in all. A message to all waits for every peer State
    this node knows until its receipt is in."""
    out = _outgoing_of(node)
    states = _peer_states(node)
    acked, me = out.acked, node.state
    waiting = [
        m for m in out.mine
        if any(s not in acked.get(m.message_id, ()) and s != me for s in _wanted(m, states))
    ]  # fmt: skip
    return _sent_status(node, out, waiting[offset : offset + limit], states), len(waiting)


def sent_status(node: Node, message_ids: list[str]) -> dict[str, SentStatus]:
    """The :class:`SentStatus` of those of ``message_ids`` this node sent (the drafts of
    the composer, say), by message id."""
    out = _outgoing_of(node)
    chosen = [out.by_id[i] for i in dict.fromkeys(message_ids) if i in out.by_id]
    return {s.message_id: s for s in _sent_status(node, out, chosen, _peer_states(node))}


def status(node: Node) -> StatusDocument:
    """The node's exchange at a glance (see the module doc). A message to all waits for
    every peer State this node knows until its receipt is in."""
    out = _outgoing_of(node)
    peers = node.peers()
    states = [p.state for p in peers if p.state != HUB]
    sent = _sent_status(node, out, list(out.mine), states)
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


__all__ = [
    "HubStatusDocument", "StatusDocument", "hub_status", "relay_of", "sent_status", "status",
    "unacknowledged",
]  # fmt: skip
_ = parse_envelope
