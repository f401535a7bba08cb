"""Procedures as projections of a node's log (DESIGN.md, principle 1).

A procedure message is logged as a signed envelope whose message is
``{"kind": <message kind>, "body": {"case": <label>, ...the kind's body...}}``; reading the
log back gives the events that ``csbm.procedures.replay`` consumes, so the deadlines and
quotas a node shows are rebuilt from what it sent and received, never kept by hand.
"""

from __future__ import annotations

import json
from typing import Any

from csbm.domain.time import parse_instant
from csbm.node import Node
from csbm.procedures.base import Context, Event
from csbm.procedures.registry import message_kinds
from csbm.rules.loader import bundled_pack_ids, load_pack

CASE_KEY = "case"


def message_for(event: Event) -> dict[str, Any]:
    """The message to sign and log for ``event`` (its case label travels in the body)."""
    return {"kind": event.type, "body": {CASE_KEY: event.case, **dict(event.body)}}


def events_from_log(node: Node, sent_only: bool = False) -> list[Event]:
    """The procedure messages the node's log holds (sent and received, or only those it
    sent), as events in log order. Entries of other kinds (receipts, keys) are skipped."""
    kinds = set(message_kinds())
    out: list[Event] = []
    for chunk in node.store.iter_entries():
        for entry in chunk:
            if entry.kind not in kinds or (sent_only and entry.sender != node.state):
                continue
            envelope = json.loads(entry.envelope)
            body = dict(envelope["message"]["body"])
            case = str(body.pop(CASE_KEY, f"entry-{entry.index}"))
            out.append(
                Event(
                    at=parse_instant(envelope["created_at"]).at,
                    type=entry.kind,
                    sender=entry.sender,
                    recipients=tuple(envelope["recipients"]),
                    case=case,
                    body=body,
                    seq=entry.index,
                )
            )
    return out


def node_context() -> Context:
    """The rule packs a node applies: every bundled pack, the multilateral one first."""
    packs = [load_pack(p) for p in bundled_pack_ids()]
    return Context(packs=tuple(sorted(packs, key=lambda p: (p.kind != "multilateral", p.id))))
