"""Procedures as projections of a node's log (DESIGN.md, principle 1).

A procedure message is logged as a signed envelope whose ``message`` is the payload of
``csbm.message`` — ``{"kind": <type>, "case": <label>, "body": {...}}`` — and whose
``recipients`` are the message's ``to``. Reading the log back gives the events that
``csbm.procedures.replay`` consumes, so the deadlines and quotas a node shows are rebuilt
from what it sent and received, never kept by hand.

Every entry is validated again as it is read, by the same function that validated it when
it was signed or received (``csbm.message.checked_payload``): the log is append-only,
so an entry that today's schemas refuse — one written behind the application's back, or
under an older schema — cannot be removed. It is shown as refused, with its index, message
id, sender, kind and the reason, and the other entries are projected as usual: never a
traceback (issue 9, item 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from csbm.domain.time import InstantError, parse_instant
from csbm.errors import CsbmError, InputError, Problem
from csbm.ledger.records import StoredEntry
from csbm.message import RESERVED_PREFIX, checked_payload, from_event, to_payload
from csbm.node import Node
from csbm.procedures.base import Context, Event, check_instant
from csbm.rules.loader import load_regime


@dataclass(frozen=True, slots=True)
class RefusedEntry:
    """A log entry the procedures cannot take, and why (one line per problem, joined)."""

    index: int
    message_id: str
    sender: str
    kind: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "message_id": self.message_id,
            "sender": self.sender,
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class LogProjection:
    """The procedure messages of a log as events (log order), and the entries refused."""

    events: tuple[Event, ...]
    refused: tuple[RefusedEntry, ...]


def message_for(event: Event) -> dict[str, Any]:
    """The payload to sign and log for ``event`` (its recipients: ``event.recipients``)."""
    return to_payload(from_event(event))


def events_from_log(node: Node, sent_only: bool = False) -> LogProjection:
    """The procedure messages the node's log holds (sent and received, or only those it
    sent) as events in log order, and the entries refused by today's validation.

    Entries of the ledger's own kinds (``csbm.``: receipts, keys) are not procedure
    messages and are skipped; an entry of a kind no measure consumes is refused.
    """
    events: list[Event] = []
    refused: list[RefusedEntry] = []
    for chunk in node.store.iter_entries():
        for entry in chunk:
            if entry.kind.startswith(RESERVED_PREFIX):
                continue
            if sent_only and entry.sender != node.state:
                continue
            try:
                events.append(_event(entry.envelope, entry.sender, entry.index))
            except CsbmError as exc:
                reason = "; ".join(exc.lines())
                refused.append(
                    RefusedEntry(entry.index, entry.message_id, entry.sender, entry.kind, reason)
                )
    return LogProjection(tuple(events), tuple(refused))


def project_entries(entries: Iterable[StoredEntry]) -> LogProjection:
    """:func:`events_from_log` over some entries of a log (a range read as the log grows:
    :mod:`csbm.web.replays` parses each entry once)."""
    events: list[Event] = []
    refused: list[RefusedEntry] = []
    for entry in entries:
        if entry.kind.startswith(RESERVED_PREFIX):
            continue
        try:
            events.append(_event(entry.envelope, entry.sender, entry.index))
        except CsbmError as exc:
            reason = "; ".join(exc.lines())
            refused.append(
                RefusedEntry(entry.index, entry.message_id, entry.sender, entry.kind, reason)
            )
    return LogProjection(tuple(events), tuple(refused))


def _event(raw: bytes, sender: str, index: int) -> Event:
    try:
        envelope = json.loads(raw)
        payload, recipients, created = (
            envelope["message"], envelope["recipients"], envelope["created_at"]
        )
    except (ValueError, KeyError, TypeError):
        raise InputError("not an envelope", [Problem("envelope", "not a csbm envelope")]) from None
    try:
        at = check_instant(parse_instant(created).at)
    except InstantError as exc:
        raise InputError("bad instant", [Problem("created_at", str(exc), created)]) from None
    if not isinstance(recipients, list):
        raise InputError("bad recipients", [Problem("recipients", "not a list")])
    return checked_payload(payload, recipients).event(at, sender, index)


def node_context() -> Context:
    """The rule packs a node applies: every bundled pack, the multilateral one first."""
    packs, _forced = load_regime(None)
    return Context(packs=tuple(packs))


__all__ = [
    "LogProjection",
    "RefusedEntry",
    "events_from_log",
    "message_for",
    "node_context",
    "project_entries",
]
