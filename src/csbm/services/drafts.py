"""Drafts: a drafter's message waits until a signing officer signs and sends it.

Source: issue 11, item 5 ("Only a signing officer's action signs and sends; a drafter's
message waits as a draft"; "inside a centre, the officer who drafts is not the officer who
signs"). A draft is the one message form ``{type, to, case, body}``
(:func:`csbm.message.validate_message`), validated when drafted and again when approved.

Its message id is fixed when it is drafted, and a draft passes from ``pending`` to
``approving`` by one conditional UPDATE before anything is signed: of two approvals, one
sends and the other is refused (``draft.not_pending``), and a retried send of the same id
is recognised by the log (:meth:`csbm.node.Node.append_message`), so a draft is logged at
most once. If sending fails, the draft goes back to ``pending``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from csbm.accounts.policy import Action, Forbidden, Role
from csbm.accounts.records import Account, Draft, DraftStatus
from csbm.domain.time import iso
from csbm.errors import CsbmError, Problem
from csbm.message import Message, to_payload, validate_message
from csbm.node import Node
from csbm.services.documents import Document
from csbm.services.users import authorize, refused

__all__ = [
    "DraftDocument",
    "DraftNotPending",
    "DraftsDocument",
    "SendFn",
    "append_to_log",
    "approve_and_send",
    "create_draft",
    "list_drafts",
]

SendFn = Callable[[Node, Message, datetime, str], int]
"""What signs and sends an approved message: ``send(node, message, at, message_id)`` and
the log index it was appended at. The network layer passes one that also queues the
message for delivery; the default, :func:`append_to_log`, signs and logs it."""


class DraftNotPending(CsbmError):
    """A draft that is being sent or was sent already: it is sent once (HTTP 409)."""

    http_status = 409

    def __init__(self, draft: Draft) -> None:
        if draft.status is DraftStatus.SENT:
            reason = f"already sent by {draft.approved_by} at {draft.approved_at}"
            if draft.log_index is not None:
                reason += f" (log index {draft.log_index})"
        else:
            reason = f"being sent by {draft.approved_by} since {draft.approved_at}"
        super().__init__(
            message=reason,
            code="draft.not_pending",
            problems=(Problem("draft", reason, draft.id),),
        )


class DraftDocument(Document):
    """A draft as shown: the message, who drafted it, where it stands."""

    id: int
    message_id: str
    type: str
    message: dict[str, Any]
    status: str
    created_by: str
    created_at: str
    approved_by: str | None
    approved_at: str | None
    log_index: int | None

    @classmethod
    def of(cls, draft: Draft) -> DraftDocument:
        return cls(
            id=draft.id,
            message_id=draft.message_id,
            type=draft.kind,
            message=dict(draft.message),
            status=draft.status.value,
            created_by=draft.created_by,
            created_at=draft.created_at,
            approved_by=draft.approved_by,
            approved_at=draft.approved_at,
            log_index=draft.log_index,
        )


class DraftsDocument(Document):
    """Drafts, oldest first."""

    drafts: list[DraftDocument]


def append_to_log(node: Node, message: Message, at: datetime, message_id: str) -> int:
    """The default :data:`SendFn`: sign ``message`` with the node's key and append it to
    its log (:func:`csbm.message.to_payload`, recipients ``message.to``)."""
    return node.append_message(to_payload(message), list(message.to), at, message_id).index


def create_draft(node: Node, account: Account, data: Any, at: datetime) -> DraftDocument:
    """Keep ``data`` (a message ``{type, to, case, body}``) as a draft of ``account``.
    Refused unless the role may draft (``auth.forbidden``, recorded); a bad message is a
    :class:`csbm.message.MessageError` naming every problem, and nothing is kept."""
    authorize(node, account, Action.DRAFT, at)
    message = validate_message(data)
    draft = node.accounts.add_draft(
        str(uuid.uuid4()), message.type, message.as_data(), account.name, iso(at)
    )
    return DraftDocument.of(draft)


def list_drafts(
    node: Node, account: Account, at: datetime, *, pending_only: bool = False
) -> DraftsDocument:
    """The drafts (only those waiting, with ``pending_only``), for a role that drafts or
    approves; others are refused (recorded)."""
    if account.role not in (Role.DRAFTER, Role.SIGNING_OFFICER):
        authorize(node, account, Action.DRAFT, at)  # raises Forbidden and records it
    statuses = (DraftStatus.PENDING,) if pending_only else ()
    return DraftsDocument(drafts=[DraftDocument.of(d) for d in node.accounts.drafts(statuses)])


def approve_and_send(
    draft_id: int,
    account: Account,
    node: Node,
    at: datetime,
    send: SendFn | None = None,
) -> DraftDocument:
    """Approve draft ``draft_id`` as ``account``: sign and send it with ``send`` (default
    :func:`append_to_log`), once. Refused, each with its reason and nothing signed: a role
    that may not approve, and the drafter of the draft (``auth.forbidden``, recorded); an
    unknown draft (``draft.unknown``); a draft being sent or sent (``draft.not_pending``);
    a draft whose message today's schemas refuse (``message.invalid``)."""
    authorize(node, account, Action.APPROVE, at)
    book = node.accounts
    draft = book.draft(draft_id)
    if draft.created_by == account.name:
        exc = Forbidden(
            f"{account.name} drafted draft {draft_id}: another signing officer approves it",
            "draft",
            str(draft_id),
        )
        refused(node, account, exc, at)
        raise exc
    message = validate_message(draft.message, "draft.message")
    if draft.status is not DraftStatus.PENDING or not book.claim_draft(
        draft_id, account.name, iso(at)
    ):
        exc_sent = DraftNotPending(book.draft(draft_id))
        book.record(
            iso(at),
            account.name,
            "draft.refused",
            account.name,
            account.role.value,
            f"draft {draft_id}: {exc_sent.message}",
        )
        raise exc_sent
    try:
        index = (send or append_to_log)(node, message, at, draft.message_id)
    except BaseException:
        book.release_draft(draft_id, account.name)
        raise
    return DraftDocument.of(book.finish_draft(draft_id, index, iso(at)))
