"""Building events and running them, for the procedure tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from csbm.domain.time import parse_instant
from csbm.procedures.base import ALL, Context, Event
from csbm.procedures.registry import validate_body
from csbm.procedures.runner import ReplayResult, replay
from csbm.rules.loader import load_pack
from csbm.rules.pack import RulePack


def t(text: str) -> datetime:
    return parse_instant(text).at


def ev(
    at: str,
    kind: str,
    sender: str,
    to: str | Iterable[str] = ALL,
    case: str = "c1",
    body: dict[str, Any] | None = None,
    seq: int = 0,
) -> Event:
    recipients = (to,) if isinstance(to, str) else tuple(to)
    return Event(at=t(at), type=kind, sender=sender, recipients=recipients, case=case,
                 body=validate_body(kind, body or {}), seq=seq)


def numbered(events: Iterable[Event]) -> list[Event]:
    """The events with ``seq`` set to their position (the log order)."""
    out = []
    for i, e in enumerate(events):
        out.append(Event(e.at, e.type, e.sender, e.recipients, e.case, e.body, i))
    return out


def vd() -> Context:
    return Context(packs=(load_pack("vd2011"),))


def run(events: Iterable[Event], ctx: Context | None = None, at: str | None = None) -> ReplayResult:
    return replay(numbered(events), ctx or vd(), t(at) if at else None)


BILATERAL = """
id: test-by-ua
title: Test pack between Belarus and Ukraine (numbers made up for the test)
version: "0"
kind: bilateral
parties: [BY, UA]
in_force: 2002-04-26
terminated: 2023-01-03
rules:
  - id: HOTLINE_ACK
    title: Acknowledge a hotline message
    strength: commitment
    measure: hotline
    spec:
      {{type: period, amount: {hotline}, unit: hours, direction: after, anchor: hotline_message}}
    provenance: {{status: analyst}}
  - id: ATTACHE_VISIT_REPLY
    title: Reply to an attaché visit invitation
    strength: commitment
    measure: attache_visit
    spec: {{type: period, amount: {attache}, unit: days, direction: after, anchor: invitation}}
    provenance: {{status: analyst}}
  - id: HAZ_CLARIFY
    title: Clarify a hazardous incident
    strength: commitment
    measure: hazardous_incident
    spec:
      type: period
      amount: {clarify}
      unit: hours
      direction: after
      anchor: clarification_request
    provenance: {{status: analyst}}
"""


def bilateral_pack(
    tmp: Path, hotline: str = "2", attache: str = "7", clarify: str = "24"
) -> RulePack:
    path = tmp / "test-by-ua.yaml"
    path.write_text(BILATERAL.format(hotline=hotline, attache=attache, clarify=clarify),
                    encoding="utf-8")
    return load_pack(path)
