"""Sending a message: validate it in the one message form, sign, log and queue it.

Source: issue 11, item 3 (``csbm send FILE`` takes a message in exactly the
scenario-event form -- ``type``, ``to``, ``case``, ``body`` -- the node fills in sender
and time, validates the body with the same schemas as ``csbm replay``, signs, logs and
queues it, and prints its message id) and item 4 (the outbox is written in the same
transaction as the log append). A message to a State goes straight to that State's node;
a message to ``all`` goes to the hub, which relays it to every registered node.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from csbm.domain.time import iso
from csbm.errors import InputError, Problem
from csbm.hub import HUB
from csbm.message import Message, message_from_file_data, to_payload
from csbm.node import Node
from csbm.services.documents import Document


class SentDocument(Document):
    """A message signed, logged and queued (``duplicate``: the same message id again)."""

    message_id: str
    index: int
    type: str
    case: str | None
    to: list[str]
    destinations: list[str]
    created_at: str
    duplicate: bool


def destinations(node: Node, message: Message) -> list[str]:
    """Where the message goes: the hub for ``all``, else each named State's node. A
    destination without a peer entry is refused (nothing is logged): the message could
    never leave."""
    wanted = [HUB] if message.to_all else [s for s in message.to if s != node.state]
    known = {p.state for p in node.peers()}
    problems = []
    for i, code in enumerate(wanted):
        if code not in known:
            where = "to" if message.to_all else f"to[{i}]"
            problems.append(
                Problem(where, f"no peer {code}: csbm peer add {code} URL --fingerprint FP", code)
            )
    if problems:
        raise InputError("unknown destination", problems, code="peer.unknown")
    return wanted


def queue(
    node: Node, message: Message, at: datetime, message_id: str | None = None
) -> SentDocument:
    """Sign ``message`` as the node's State at ``at``, append it and queue it (one commit)."""
    targets = destinations(node, message)
    result = node.queue_message(to_payload(message), list(message.to), targets, at, message_id)
    return SentDocument(
        message_id=result.message_id,
        index=result.index,
        type=message.type,
        case=message.case,
        to=list(message.to),
        destinations=targets,
        created_at=iso(at),
        duplicate=result.duplicate,
    )


def send_data(node: Node, data: Any, at: datetime, origin: str = "") -> SentDocument:
    """Validate ``data`` (a message, optionally with the ``message_id`` of a retry) and
    queue it; :class:`csbm.message.MessageError` names every problem, nothing is stored."""
    message = message_from_file_data(data, origin)
    message_id = data.get("message_id") if isinstance(data, dict) else None
    if message_id is not None and not isinstance(message_id, str):
        raise InputError("bad message id", [Problem("message_id", "a UUID", None)])
    return queue(node, message, at, message_id)


def send_file(node: Node, path: Path, at: datetime) -> SentDocument:
    """``csbm send FILE``: read the file by the strict reader, then :func:`send_data`."""
    from csbm.reader import read_document

    return send_data(node, read_document(path, max_bytes=1024 * 1024), at)


def send_approved(node: Node, message: Message, at: datetime, message_id: str) -> int:
    """The :data:`csbm.services.drafts.SendFn` of a networked node: an approved draft is
    signed, logged and queued like any message; its log index."""
    return queue(node, message, at, message_id).index
