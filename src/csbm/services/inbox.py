"""What a node received, and which messages a State may be served.

Source: issue 11, item 6 (``csbm inbox [--json]``) and item 5 (a State is served only
the messages addressed to it, sent by it, or sent to all -- bilateral traffic between two
other States is never served to it, not even by the hub: the one rule is
:func:`csbm.accounts.policy.visible_to`).
"""

from __future__ import annotations

from typing import Any

from csbm.accounts.policy import Forbidden, visible_to
from csbm.errors import NotFoundError
from csbm.ledger.envelope import is_reserved_kind, parse_envelope
from csbm.node import Node
from csbm.services.documents import Document


class InboxMessage(Document):
    """A message in the log, in the one message form plus what the envelope says."""

    message_id: str
    index: int
    sender: str
    created_at: str
    type: str
    to: list[str]
    case: str | None
    body: Any
    receipt_index: int | None = None


class InboxDocument(Document):
    state: str
    messages: list[InboxMessage]


def _message(index: int, raw: bytes, receipt: int | None) -> InboxMessage:
    envelope = parse_envelope(raw)
    payload = envelope.message
    case = payload.get("case")
    return InboxMessage(
        message_id=envelope.message_id,
        index=index,
        sender=envelope.sender,
        created_at=envelope.created_at,
        type=str(payload.get("kind")),
        to=list(envelope.recipients),
        case=None if case is None else str(case),
        body=payload.get("body"),
        receipt_index=receipt,
    )


def inbox(node: Node) -> InboxDocument:
    """Every message other States sent this node (not receipts or key statements), in
    log order, each with the index of the receipt this node signed for it."""
    issued = {
        str(r["message_id"]): int(r["receipt_index"])
        for r in node.receipt_rows()
        if r["direction"] == "issued"
    }
    out = [
        _message(entry.index, entry.envelope, issued.get(entry.message_id))
        for entry in node.entries()
        if entry.sender != node.state and not is_reserved_kind(entry.kind)
    ]
    return InboxDocument(state=node.state, messages=out)


def received_total(node: Node) -> int:
    """How many messages other States sent this node (an SQL aggregate, see
    :meth:`csbm.node.Node.message_counts`)."""
    return sum(
        n for (sender, kind), n in node.message_counts().items()
        if sender != node.state and not is_reserved_kind(kind)
    )  # fmt: skip


def received_window(node: Node, offset: int, limit: int) -> list[InboxMessage]:
    """The messages other States sent this node, newest first: ``limit`` from ``offset``
    (paged in SQL), each with the index of the receipt this node signed for it."""
    entries = node.messages(other_than=node.state, offset=offset, limit=limit)
    issued = {
        str(r["message_id"]): int(r["receipt_index"])
        for r in node.receipts_of([e.message_id for e in entries], "issued")
    }
    return [_message(e.index, e.envelope, issued.get(e.message_id)) for e in entries]


def message_for(node: Node, message_id: str, reader: str) -> tuple[InboxMessage, bytes]:
    """The message ``message_id`` as served to the State ``reader`` (or the hub, which
    is served only messages to all); :class:`Forbidden` when it is bilateral traffic
    between two other States, and not found when the log has no such message."""
    entry = node.entry_by_message_id(message_id)
    if entry is None:
        raise NotFoundError(f"no message {message_id}", code="message.unknown")
    envelope = parse_envelope(entry.envelope)
    if not visible_to(reader, envelope.sender, envelope.recipients):
        raise Forbidden(
            f"{reader} is not served this message: it is neither to {reader}, from it, "
            "nor to all",
            "message_id",
            message_id,
        )
    return _message(entry.index, entry.envelope, None), entry.envelope
