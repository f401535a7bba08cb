"""Running messages through the procedures: replay from the log, or follow it live.

Source: DESIGN.md principle 1 (procedures, deadlines and quotas are projections of the log
and can be rebuilt from it); issue 4 ("rebuilding every procedure from the log gives the
same answer as following it live").

:class:`Live` takes messages one at a time, in whatever order they arrive. Each case
keeps its messages sorted by ``(at, seq)``; a message that arrives in order is applied to
the case's state, one that arrives out of order makes the case be folded again from its
first message. :func:`replay` is the batch form. Both only show the messages at or before
the clock given to :meth:`Live.view`. An identical message received twice (same ``seq``,
same content) is kept once. Two different messages with the same content are told apart
by the measure or by the runner's duplicate check ("duplicate of #seq; changes nothing").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from csbm._batch import cyclic_gc_paused
from csbm.domain.time import iso, plain
from csbm.errors import InputError
from csbm.i18n import N_, phrase, phrase_json
from csbm.procedures.base import (
    CaseView,
    Context,
    Deadline,
    Event,
    Finding,
    HistoryEntry,
    Procedure,
    QuotaView,
    Refusal,
)
from csbm.procedures.registry import by_kind, observers


@dataclass(frozen=True)
class ReplayResult:
    """Every procedure at the clock ``at``."""

    at: datetime
    cases: tuple[CaseView, ...]
    quotas: tuple[QuotaView, ...]
    findings: tuple[Finding, ...]

    def case(self, label: str) -> CaseView:
        for view in self.cases:
            if view.case == label:
                return view
        raise KeyError(label)

    def deadlines(self) -> list[Deadline]:
        return [d for c in self.cases for d in c.deadlines]


_ORDER = attrgetter("at", "seq")
"""``Event.order`` as a sort key: the same ``(at, seq)`` tuple, made in C."""


def _head(event: Event) -> tuple[Any, ...]:
    """A message's fingerprint but its body: instant, kind, sender, recipients."""
    return (event.at, event.type, event.sender, event.recipients)


def _match(found: Sequence[Event], event: Event) -> int | None:
    """The number (``seq``) of the message of ``found`` (which share ``event``'s head) that
    is the same message as ``event``: same body text (bodies are validated, so their keys
    are ordered). The text, the costly part of a fingerprint, is made only here: when two
    messages share everything else, which most never do."""
    text: str | None = None
    for other in found:
        if other.body is event.body:
            return other.seq
        if text is None:
            text = repr(event.body)
        if repr(other.body) == text:
            return other.seq
    return None


def _events(found: Event | list[Event]) -> Sequence[Event]:
    """The messages kept under one key: one message alone (most keys), or a list."""
    return found if type(found) is list else (found,)  # type: ignore[return-value]


@dataclass
class _Case:
    measure: Procedure[Any]
    label: str
    events: list[Event] = field(default_factory=list)
    state: Any = None
    history: list[HistoryEntry] = field(default_factory=list)
    refusals: list[Finding] = field(default_factory=list)
    seen: dict[tuple[Any, ...], Event | list[Event]] = field(default_factory=dict)
    """The messages applied, by head (:func:`_head`): one alone, or a list of them."""

    def reset(self) -> None:
        self.state = self.measure.initial(self.label)
        self.history = []
        self.refusals = []
        self.seen = {}

    def step(self, event: Event, ctx: Context, head: tuple[Any, ...] | None = None) -> None:
        head = head if head is not None else _head(event)
        found = self.seen.get(head)
        earlier = _match(_events(found), event) if found is not None else None
        try:
            if earlier is not None:
                raise Refusal(
                    phrase(N_("duplicate of message #{seq}; changes nothing"), seq=earlier),
                    kind="duplicate",
                )
            self.state = self.measure.apply(self.state, event, ctx)
            if found is None:
                self.seen[head] = event
            elif type(found) is list:
                found.append(event)
            else:
                self.seen[head] = [found, event]  # type: ignore[list-item]
            self.history.append(_entry(event, True, None))
        except Refusal as refusal:
            self.history.append(_entry(event, False, refusal.reason))
            self.refusals.append(
                Finding(
                    kind=refusal.kind,
                    message=_refused(event, refusal.reason),
                    case=self.label,
                    at=event.at,
                    rule=refusal.rule,
                    seq=event.seq,
                    states=(event.sender,),
                )
            )

    def fold(self, ctx: Context, until: datetime | None = None) -> None:
        self.reset()
        for event in self.events:
            if until is not None and event.at > until:
                break
            self.step(event, ctx)


def _refused(event: Event, reason: str) -> str:
    """The finding of a refused message: kind, sender and the reason (a phrase)."""
    return phrase(
        N_("{kind} from {sender} refused: {reason}"),
        kind=event.type,
        sender=event.sender,
        reason=reason,
    )


def _entry(event: Event, accepted: bool, reason: str | None) -> HistoryEntry:
    return HistoryEntry(event.at, event.seq, event.type, event.sender, event.recipients,
                        accepted, reason, event.body)


class Live:
    """Follows the procedures message by message (the node's view of its log)."""

    def __init__(
        self,
        ctx: Context,
        registry: Mapping[str, Procedure[Any]] | None = None,
        watchers: Mapping[str, tuple[Procedure[Any], ...]] | None = None,
    ):
        self.ctx = ctx
        self._registry = registry if registry is not None else by_kind()
        if watchers is None:
            watchers = observers() if registry is None else {}
        self._watchers = watchers
        self._cases: dict[tuple[str, str], _Case] = {}
        self._received: dict[int, Event | list[Event]] = {}
        """The messages taken, by ``seq``: one alone (most), or a list of them."""
        self._unplaced: list[tuple[Event, str]] = []
        self.count = 0

    def receive(self, event: Event) -> None:
        """Take one message, in order or not."""
        measure = self._registry.get(event.type)
        if measure is None:
            raise InputError(f"no procedure consumes message kind {event.type!r}")
        head = _head(event)
        seq = event.seq
        found = self._received.get(seq)
        if found is None:
            self._received[seq] = event
        else:  # another message of this seq: the same log entry again when all else is
            kept = _events(found)
            if _match([e for e in kept if _head(e) == head], event) is not None:
                return  # the same log entry again
            self._received[seq] = [*kept, event]
        self.count += 1
        for watcher in self._watchers.get(event.type, ()):
            for label, seen in watcher.observe(event):
                self._place(watcher, label, seen)
        try:
            label = measure.case_key(event)
        except Refusal as refusal:
            self._unplaced.append((event, refusal.reason))
            return
        self._place(measure, label, event, head)

    def _place(
        self, measure: Procedure[Any], label: str, event: Event, head: tuple[Any, ...] | None = None
    ) -> None:
        """Put ``event`` in the case ``label`` of ``measure``: applied when it comes in
        order, the case folded again when it does not."""
        key = (measure.name, label)
        case = self._cases.get(key)
        if case is None:
            case = _Case(measure, label)
            case.reset()
            self._cases[key] = case
        events = case.events
        last = events[-1] if events else None
        if last is None or last.at < event.at or (last.at == event.at and last.seq <= event.seq):
            # (last.order <= event.order, without making the two tuples)
            events.append(event)
            case.step(event, self.ctx, head)
        else:
            case.events.append(event)
            case.events.sort(key=_ORDER)
            case.fold(self.ctx)

    def last_at(self) -> datetime | None:
        times = [c.events[-1].at for c in self._cases.values() if c.events]
        times += [e.at for e, _ in self._unplaced]
        return max(times) if times else None

    def view(self, at: datetime | None = None) -> ReplayResult:
        """Every procedure at the clock ``at`` (default: the last message)."""
        clock = at if at is not None else self.last_at()
        if clock is None:
            return ReplayResult(at=_EPOCH, cases=(), quotas=(), findings=())
        grouped: dict[str, dict[str, _Case]] = {}
        measures: dict[str, Procedure[Any]] = {}
        for (name, label), case in self._cases.items():
            if case.events and case.events[0].at > clock:
                continue
            if case.events and case.events[-1].at > clock:
                case = dataclasses.replace(case, events=list(case.events))
                case.fold(self.ctx, until=clock)
            grouped.setdefault(name, {})[label] = case
            measures[name] = case.measure
        ctx = self._view_context(clock)
        views: list[CaseView] = []
        quotas: list[QuotaView] = []
        findings: list[Finding] = [
            Finding(
                kind="refused", message=_refused(e, why), at=e.at, seq=e.seq, states=(e.sender,)
            )
            for e, why in self._unplaced
            if e.at <= clock
        ]
        for name in sorted(grouped):
            cases = grouped[name]
            states = {k: cases[k].state for k in sorted(cases)}  # not arrival order
            shown = measures[name].view_all(states, clock, ctx)
            quotas.extend(shown.quotas)
            findings.extend(shown.findings)
            hidden = set(cases) - {view.case for view in shown.cases}
            for label in sorted(hidden):  # a case the measure hides: its refusals still show
                findings.extend(cases[label].refusals)
            for view in shown.cases:
                case = cases[view.case]
                extra = _deadline_findings(view)
                if case.refusals or extra:
                    view = view.with_history(case.history, (*view.findings, *case.refusals, *extra))
                else:
                    view = view.with_history(case.history)
                findings.extend(view.findings)
                views.append(view)
        views.sort(key=lambda v: (v.history[0].at if v.history else clock, v.case))
        findings.sort(
            key=lambda f: (
                f.at or clock,
                f.seq if f.seq is not None else -1,
                f.case or "",
                f.kind,
                f.message,
            )
        )
        return ReplayResult(
            at=clock, cases=tuple(views), quotas=tuple(quotas), findings=tuple(findings)
        )

    def _view_context(self, clock: datetime) -> Context:
        """The context for views: the units reported in accepted ``aemi`` messages added."""
        units = dict(self.ctx.reported_units)
        for (name, _), case in self._cases.items():
            if name != "aemi":
                continue
            for entry in case.history:
                if not entry.accepted or entry.at > clock:
                    continue
                reported = entry.body.get("units")
                year = entry.body.get("year")
                if isinstance(reported, int) and isinstance(year, int):
                    units[(entry.sender, year + 1)] = reported
                elif entry.body.get("nil") is True and isinstance(year, int):
                    units[(entry.sender, year + 1)] = 0
        return dataclasses.replace(self.ctx, reported_units=units)


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _deadline_findings(view: CaseView) -> tuple[Finding, ...]:
    out: list[Finding] = []
    for d in view.deadlines:
        if d.status != "missed" or d.due is None:
            continue
        para = f" (¶{d.paragraph})" if d.paragraph else ""
        owed = ", ".join(d.owed_by) or "?"
        if d.met_at is not None:
            hours = (d.met_at - d.due).total_seconds() / 3600
            text = phrase(
                N_("{rule}{para}: done {hours:.1f} h late by {owed} (due {due})"),
                rule=d.rule,
                para=para,
                hours=hours,
                owed=owed,
                due=iso(d.due),
            )
            kind = "late"
        else:
            text = phrase(
                N_("{rule}{para}: not done by {owed}; due {due}"),
                rule=d.rule,
                para=para,
                owed=owed,
                due=iso(d.due),
            )
            kind = "missed"
        out.append(
            Finding(
                kind=kind,
                message=text,
                case=view.case,
                at=d.due,
                rule=d.rule,
                paragraph=d.paragraph,
                states=d.owed_by,
            )
        )
    return tuple(out)


COUNT_EVERY = 4096
"""How often :func:`replay` tells its ``counted`` callback how far it is (events)."""


def replay(
    events: Iterable[Event], ctx: Context, at: datetime | None = None,
    counted: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Fold ``events`` in ``(at, seq)`` order and show every procedure at ``at``.

    ``counted``, when given, is told how many events are taken every
    :data:`COUNT_EVERY` events and at the end (a progress bar, the workbench's notice).
    The batch runs with the cyclic garbage collector paused (``csbm._batch``).
    """
    with cyclic_gc_paused():
        live = Live(ctx)
        ordered = sorted(events, key=_ORDER)
        if counted is None:
            for event in ordered:
                if at is None or event.at <= at:
                    live.receive(event)
        else:
            for start in range(0, len(ordered), COUNT_EVERY):
                for event in ordered[start : start + COUNT_EVERY]:
                    if at is None or event.at <= at:
                        live.receive(event)
                counted(min(start + COUNT_EVERY, len(ordered)))
        return live.view(at)


# ------------------------------------------------------------------ JSON


def _t(at: datetime | None) -> str | None:
    return None if at is None else iso(at)


def deadline_json(d: Deadline) -> dict[str, Any]:
    note_id, note_params = phrase_json(d.note)
    return {
        "rule": d.rule,
        "paragraph": d.paragraph,
        "pack": d.pack,
        "title": d.title,
        "due": _t(d.due),
        "status": d.status,
        "met_at": _t(d.met_at),
        "owed_by": list(d.owed_by),
        "owed_to": list(d.owed_to),
        "note": d.note,
        "note_id": note_id,
        "note_params": note_params,
    }


def finding_json(f: Finding) -> dict[str, Any]:
    message_id, params = phrase_json(f.message)
    return {
        "kind": f.kind,
        "message": f.message,
        "case": f.case,
        "at": _t(f.at),
        "rule": f.rule,
        "paragraph": f.paragraph,
        "seq": f.seq,
        "states": list(f.states),
        "message_id": message_id,
        "params": params,
    }


def quota_json(q: QuotaView) -> dict[str, Any]:
    note_id, note_params = phrase_json(q.note)
    return {
        "rule": q.rule,
        "paragraph": q.paragraph,
        "pack": q.pack,
        "state": q.state,
        "year": q.year,
        "limit": q.limit,
        "used": q.used,
        "remaining": q.remaining,
        "counterpart": q.counterpart,
        "note": q.note,
        "note_id": note_id,
        "note_params": note_params,
        "details": plain(q.details),
    }


def case_json(view: CaseView) -> dict[str, Any]:
    return {
        "case": view.case,
        "procedure": view.procedure,
        "state": view.state,
        "parties": {role: list(codes) for role, codes in view.parties.items()},
        "deadlines": [deadline_json(d) for d in view.deadlines],
        "details": plain(view.details),
        "history": [
            {
                "at": iso(h.at),
                "seq": h.seq,
                "type": h.type,
                "from": h.sender,
                "to": list(h.recipients),
                "accepted": h.accepted,
                "reason": h.reason,
                "reason_id": phrase_json(h.reason)[0],
                "reason_params": phrase_json(h.reason)[1],
                "body": plain(h.body),
            }
            for h in view.history
        ],
        "findings": [finding_json(f) for f in view.findings],
    }


def result_json(result: ReplayResult) -> dict[str, Any]:
    """The ``csbm replay --json`` document."""
    return {
        "at": iso(result.at),
        "cases": [case_json(c) for c in result.cases],
        "quotas": [quota_json(q) for q in result.quotas],
        "findings": [finding_json(f) for f in result.findings],
    }
