"""The procedure framework: measures as pure state machines over timestamped messages.

Source: DESIGN.md principles 1 and 3 (the log is the source of truth; functional core);
issue 4 ("a procedure is a pure state machine over timestamped messages and the clock;
its state and every deadline are derived, never stored by hand; deadlines come from the
rule packs").

Words
-----
``Event``      one timestamped message: when, its kind (``ch3.request``), who sent it, to
               whom (codes, or ``("all",)``), the case label tying one procedure's
               messages together, its validated body (a plain dict) and ``seq``, its
               position in the log (ties at the same instant are broken by it).
``Deadline``   a due instant with its status, derived from a rule of a rule pack.
``Finding``    what the engine noticed: a refused message, a late or missed obligation,
               a request over quota...
``CaseView``   one case as seen at an instant: state, parties, deadlines, history, findings.
``QuotaView``  a quota (Chapter IX) as used up at an instant.
``Context``    what a measure may consult besides its own messages: the rule packs of the
               scenario and the participating States. Never the wall clock.

How a measure module plugs in
-----------------------------
A measure is one module under ``csbm.procedures`` (``unusual_activity.py``,
``inspection.py``...) exposing ``MEASURE``, an instance of a subclass of
:class:`Procedure`, and listing its module name in ``procedures.registry.MEASURE_MODULES``
(the registry imports every listed module that exists). The subclass sets:

* ``name``     the measure's name, as in the packs' ``measure:`` field (``chapter_iii``);
* ``bodies``   ``{message kind: pydantic model of its body}``; the keys are the kinds it
               consumes (``consumes`` is derived from them). Models should forbid extra
               fields; the scenario loader validates every body against its model and
               refuses a bad one with a path (``events[3].body.reasons``). The JSON
               schemas are published from these models (``registry.message_schemas()``).

and implements three pure functions:

* ``initial(case) -> S``                 the state of a case before any message;
* ``apply(state, event, ctx) -> S``      the state after one accepted message. To refuse
  a message (sender not a party, a reply before any request, a second reply...) raise
  :class:`Refusal` with the reason (and rule id): the runner records it in the case's
  history and as a finding, and the state is unchanged. Never mutate ``state``: return a
  new one (frozen dataclasses and ``dataclasses.replace`` are the house style).
* ``view(state, at, ctx) -> CaseView``   the case as seen at the clock ``at``: its state
  name, parties, deadlines (compute them with :meth:`Context.period_deadline` /
  :meth:`Context.annual_deadline`: the numbers come from the packs, never from code) and
  measure-specific findings and details. The runner fills in ``history`` and adds the
  refusals and the missed/late deadline findings itself.

Measures whose answer depends on several cases at once (quotas: an inspection request
is over quota when the receiving State's earlier requests used it up) override
``view_all(states, at, ctx) -> MeasureView`` instead of, or on top of, ``view``; it gets
every case of the measure (``{case label: state}``) and returns the case views, the quota
views and any cross-case findings. The default maps ``view`` over the cases.

Optionally ``case_key(event)`` derives the case label when the message has none (the
yearly cycles use ``aemi-2022``); the default requires ``event.case``.

A measure may also *observe* kinds another measure consumes (``observes``, a set of
kinds): the runner hands each such message to :meth:`Procedure.observe`, which returns
the ``(case label, event)`` pairs it concerns — a calendar message, consumed by the
calendar's yearly cycle, is observed by prior notification once per listed activity,
under the case label each entry will be notified with. The observed event (its body cut
to what concerns the case) is applied to that case like any other; a case that holds
only observed messages is the measure's to hide in ``view_all``.

Replaying = following live
--------------------------
The runner (``procedures.runner``) folds the events of each case in ``(at, seq)`` order
and only those at or before the clock. Because ``apply`` is pure and cases are
independent, folding the log from scratch and following it message by message (rebuilding
a case when a message arrives out of order) give the same views; a property test checks it.
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel

from csbm.domain.records import quick_init
from csbm.domain.time import InstantError, iso
from csbm.errors import InputError, Problem
from csbm.i18n import N_, Phrase, phrase
from csbm.rules.deadlines import date_limit_reading
from csbm.rules.evaluate import annual_due, period_due
from csbm.rules.pack import AnnualDateSpec, PeriodSpec, Rule, RulePack

ALL = "all"
"""The recipient that stands for every participating State."""

DeadlineStatus = Literal["open", "met", "missed", "waived", "unknown"]
DEADLINE_STATUSES: tuple[DeadlineStatus, ...] = ("open", "met", "missed", "waived", "unknown")

S = TypeVar("S")
M = TypeVar("M", bound=BaseModel)

# ------------------------------------------------------------------ the range of instants
# Python's datetime ends at 9999-12-31 and starts at 0001-01-01: a deadline counted from an
# instant near either end cannot be represented. Instants a message carries are refused
# outside [EARLIEST, LATEST] (with their path, when they are read), which leaves a year on
# either side for every period the packs set (the longest is two months); a deadline that
# still falls outside (a pack with a longer period) is refused here, centrally, by
# :func:`due_after` and :func:`due_on` -- never an OverflowError.

EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
"""The earliest instant a message may carry."""

LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""The latest instant a message may carry: deadlines up to a year later still fit."""


class InstantOutOfRange(InputError):
    """A deadline would fall outside the instants csbm can represent (year 1 to 9999)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        super().__init__("instant out of range", problems, code="instant.out_of_range")


def check_instant(at: datetime) -> datetime:
    """``at`` when a message may carry it; InstantError (a ValueError) otherwise."""
    if at > LATEST:
        raise InstantError(
            "instant too late: deadlines from it could pass year 9999 "
            f"(the latest accepted is {iso(LATEST.replace(microsecond=0))})"
        )
    if at < EARLIEST:
        raise InstantError(
            "instant too early: deadlines before it could precede year 1 "
            f"(the earliest accepted is {iso(EARLIEST)})"
        )
    return at


def due_after(spec: PeriodSpec, anchor: datetime, rule_id: str, case: str | None = None) -> (
    datetime | None
):
    """``period_due`` guarded: a due instant past year 9999 (or before year 1) is refused
    with InstantOutOfRange naming the case, the rule and the anchor."""
    try:
        return period_due(spec, anchor)
    except (OverflowError, ValueError):
        late = spec.direction != "before"
        raise InstantOutOfRange([_out_of_range(rule_id, anchor, case, late)]) from None


def due_on(spec: AnnualDateSpec, year: int, rule_id: str, case: str | None = None,
           reading: str | None = None) -> datetime | None:
    """``annual_due`` (under the pack's ``date_limit`` reading) guarded as :func:`due_after` is."""
    try:
        return annual_due(spec, year, reading)
    except (OverflowError, ValueError):
        raise InstantOutOfRange(
            [Problem(f"case {case}" if case else rule_id,
                     f"instant too late: the {rule_id} deadline for {year} would be past "
                     "year 9999", year)]
        ) from None


def _out_of_range(rule_id: str, anchor: datetime, case: str | None, late: bool) -> Problem:
    side, where = ("late", "past year 9999") if late else ("early", "before year 1")
    return Problem(f"case {case}" if case else rule_id,
                   f"instant too {side}: the {rule_id} deadline would be {where}", iso(anchor))


@quick_init
@dataclass(frozen=True, slots=True)
class Event:
    """One timestamped message of a procedure (the log entry's content)."""

    at: datetime
    type: str
    sender: str
    recipients: tuple[str, ...]
    case: str
    body: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0
    parsed: tuple[Mapping[str, Any], BaseModel] | None = field(
        default=None, compare=False, repr=False
    )
    """``(body, model)``: the model the body was validated into when the event was made
    from a validated message (``csbm.message.Checked.event``), so that a measure does not
    validate it a second time (:meth:`model_of`). It holds only while ``body`` is that
    very object: an event whose body is replaced (``dataclasses.replace``) falls back to
    validating the new body."""

    @property
    def to_all(self) -> bool:
        return ALL in self.recipients

    def model_of(self, model: builtins.type[M]) -> M | None:
        """The body already validated as ``model``, if the event carries it (else None).

        The model is the one the message check made; validating the body's JSON form again
        gives an equal model (``tests/procedures/test_parsed_bodies.py`` checks it on every
        example and on a synthetic year)."""
        parsed = self.parsed
        if parsed is not None and parsed[0] is self.body and type(parsed[1]) is model:
            return parsed[1]
        return None

    @property
    def order(self) -> tuple[datetime, int]:
        return (self.at, self.seq)


class Refusal(Exception):
    """Raised by ``apply`` to refuse a message: recorded with its reason, state unchanged.

    The reason is a :class:`csbm.i18n.Phrase` (its English text, translatable)."""

    def __init__(self, reason: str, rule: str | None = None, kind: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.rule = rule
        self.kind = kind


@quick_init
@dataclass(frozen=True, slots=True)
class Deadline:
    """A due instant derived from a rule, and where it stands at the clock.

    ``status``: ``open`` (not yet due, not yet done), ``met`` (done in time), ``missed``
    (past due and not done, or done late: then ``met_at`` is the late time), ``waived``
    (no longer owed), ``unknown`` (no pack gives the number: ``due`` is None; ``met_at``
    still says when it was done, if it was).
    """

    rule: str
    paragraph: str | None
    pack: str | None
    due: datetime | None
    status: DeadlineStatus
    owed_by: tuple[str, ...] = ()
    owed_to: tuple[str, ...] = ()
    met_at: datetime | None = None
    note: str | None = None
    title: str | None = None
    case: str | None = None

    @property
    def late(self) -> bool:
        return self.status == "missed" and self.met_at is not None


@quick_init
@dataclass(frozen=True, slots=True)
class Finding:
    """What the engine noticed. ``kind``: refused, duplicate, late, missed, over_quota..."""

    kind: str
    message: str
    case: str | None = None
    at: datetime | None = None
    rule: str | None = None
    paragraph: str | None = None
    seq: int | None = None
    states: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One message of a case as the runner saw it: accepted, or refused and why."""

    at: datetime
    seq: int
    type: str
    sender: str
    recipients: tuple[str, ...]
    accepted: bool
    reason: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True, slots=True)
class QuotaView:
    """A yearly quota and how much of it is used at the clock (Chapter IX)."""

    rule: str
    paragraph: str | None
    pack: str | None
    state: str
    year: int
    limit: int | None
    used: int
    remaining: int | None
    counterpart: str | None = None
    note: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True, slots=True)
class CaseView:
    """One case at the clock."""

    case: str
    procedure: str
    state: str
    parties: Mapping[str, tuple[str, ...]]
    deadlines: tuple[Deadline, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    findings: tuple[Finding, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def with_history(self, history: Sequence[HistoryEntry],
                     findings: tuple[Finding, ...] | None = None) -> CaseView:
        """The view with ``history`` (and ``findings``, when given): ``dataclasses.replace``,
        made directly (the runner calls it once per case)."""
        return CaseView(self.case, self.procedure, self.state, self.parties, self.deadlines,
                        tuple(history), self.findings if findings is None else findings,
                        self.details)


@quick_init
@dataclass(frozen=True, slots=True)
class MeasureView:
    """Everything one measure shows at the clock: its cases, quotas and cross-case findings."""

    cases: tuple[CaseView, ...] = ()
    quotas: tuple[QuotaView, ...] = ()
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class RuleRef:
    """A rule found in a pack, with the pack it came from."""

    pack: RulePack
    rule: Rule

    @property
    def pack_id(self) -> str:
        return self.pack.id


@dataclass(frozen=True)
class Context:
    """The rule packs of the scenario and the participating States (no clock, no I/O).

    ``reported_units`` holds the number of units each State reported in the annual
    exchange, keyed by ``(State, calendar year the data is valid for)``: the exchange of
    15 December 2021 (``aemi`` body ``year: 2021``) gives the figure for 2022. The runner
    fills it from accepted ``aemi`` messages and from the scenario's ``units`` table; the
    evaluation quota (¶107) reads it with :meth:`units_reported`.
    """

    packs: tuple[RulePack, ...] = ()
    participants: tuple[str, ...] = ()
    reported_units: Mapping[tuple[str, int], int] = field(default_factory=dict)

    @cached_property
    def _rule_index(self) -> dict[str, list[tuple[RulePack, Rule, RuleRef]]]:
        """``{rule id: [(pack, entry, its RuleRef)]}`` in pack order (built once per
        context: find_rule hands out these references rather than making one per call)."""
        index: dict[str, list[tuple[RulePack, Rule, RuleRef]]] = {}
        for pack in self.packs:
            for entry in pack.rules:
                index.setdefault(entry.id, []).append((pack, entry, RuleRef(pack, entry)))
        return index

    def units_reported(self, state: str, year: int) -> int | None:
        """Units ``state`` reported for calendar year ``year``; None if not known."""
        return self.reported_units.get((state, year))

    def find_rule(
        self, rule_id: str, parties: Iterable[str] | None = None, on: date | None = None
    ) -> RuleRef | None:
        """The pack entry ``rule_id`` that governs ``parties`` on ``on``.

        A bilateral pack whose parties are exactly ``parties`` and which is in force on the
        day wins; otherwise the last multilateral pack in force (``parties: all``) that has
        the entry. None when no pack has it.
        """
        wanted: frozenset[str] | None = None  # made when a bilateral pack is met
        multilateral: RuleRef | None = None
        for pack, _, ref in self._rule_index.get(rule_id, ()):
            if on is not None and not pack.in_force_on(on):
                continue
            if pack.parties == ALL:
                multilateral = ref
            elif parties is not None:
                if wanted is None:
                    wanted = frozenset(parties)
                if frozenset(pack.parties) == wanted:
                    return ref
        return multilateral

    def find_by_anchor(
        self, measure: str, anchor: str, parties: Iterable[str] | None = None,
        on: date | None = None,
    ) -> RuleRef | None:
        """A ``period`` entry of ``measure`` counted from ``anchor``, chosen as in find_rule."""
        ids = [
            r.id
            for pack in self.packs
            for r in pack.by_measure(measure)
            if isinstance(r.spec, PeriodSpec) and r.spec.anchor == anchor
        ]
        for rule_id in dict.fromkeys(ids):
            ref = self.find_rule(rule_id, parties, on)
            if ref is not None and ref.pack.parties != ALL:
                return ref
        for rule_id in dict.fromkeys(ids):
            ref = self.find_rule(rule_id, parties, on)
            if ref is not None:
                return ref
        return None

    def period_deadline(
        self,
        rule_id: str,
        anchor: datetime,
        now: datetime,
        *,
        done_at: datetime | None = None,
        parties: Iterable[str] | None = None,
        owed_by: Iterable[str] = (),
        owed_to: Iterable[str] = (),
        waived: bool = False,
        note: str | None = None,
        case: str | None = None,
    ) -> Deadline:
        """A ``period`` rule's deadline from ``anchor``: due, status and met time at ``now``."""
        ref = self.find_rule(rule_id, parties, anchor.date())
        due: datetime | None = None
        why: Phrase | None = None
        if ref is None:
            why = phrase(N_("no rule pack of the scenario sets {rule}"), rule=rule_id)
        elif not isinstance(ref.rule.spec, PeriodSpec):
            why = phrase(N_("{rule} in {pack} is not a time limit"), rule=rule_id,
                         pack=ref.pack_id)
        else:
            due = due_after(ref.rule.spec, anchor, rule_id, case)
            if due is None:
                why = (
                    phrase(N_("{pack} gives no number for {rule}: fill in from the agreement"),
                           pack=ref.pack_id, rule=rule_id)
                    if ref.pack.kind == "bilateral"
                    else phrase(N_("{pack} gives no number for {rule}: fill in from the source "
                                   "text"), pack=ref.pack_id, rule=rule_id)
                )  # fmt: skip
        return _deadline(rule_id, ref, due, now, done_at, owed_by, owed_to, waived,
                         join_notes(why, note), case)

    def annual_deadline(
        self,
        rule_id: str,
        year: int,
        now: datetime,
        *,
        done_at: datetime | None = None,
        parties: Iterable[str] | None = None,
        owed_by: Iterable[str] = (),
        owed_to: Iterable[str] = (),
        waived: bool = False,
        note: str | None = None,
        case: str | None = None,
    ) -> Deadline:
        """An ``annual_date`` rule's deadline for the year concerned."""
        ref = self.find_rule(rule_id, parties, None)
        due: datetime | None = None
        why: Phrase | None = None
        if ref is None:
            why = phrase(N_("no rule pack of the scenario sets {rule}"), rule=rule_id)
        elif not isinstance(ref.rule.spec, AnnualDateSpec):
            why = phrase(N_("{rule} in {pack} is not a yearly date"), rule=rule_id,
                         pack=ref.pack_id)
        else:
            due = due_on(ref.rule.spec, year, rule_id, case,
                         date_limit_reading(ref.pack, *self.packs))
            if due is None:
                why = phrase(N_("{pack} gives no date for {rule}: fill in from the source"),
                             pack=ref.pack_id, rule=rule_id)
        return _deadline(rule_id, ref, due, now, done_at, owed_by, owed_to, waived,
                         join_notes(why, note), case)


_UNCHANGED: Any = object()

D = TypeVar("D")


def replacer(cls: builtins.type[D]) -> Callable[..., D]:
    """``(obj, **changes) -> dataclasses.replace(obj, **changes)`` for the dataclass ``cls``,
    twice as fast: a function made once for the class, as ``dataclasses`` makes
    ``__init__`` (a keyword per field, the class called with every field in order; a name
    that is no field is refused with TypeError, as ``replace`` refuses it). A class with a
    field outside ``__init__``, an ``InitVar`` or keyword-only fields gets
    ``dataclasses.replace`` itself."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    init = inspect.signature(cls).parameters
    if (list(init) != names or {"obj", "cls", "_UNCHANGED"} & set(names)
            or any(p.kind != p.POSITIONAL_OR_KEYWORD for p in init.values())):
        return dataclasses.replace  # an __init__ of other names or kinds: the general way
    params = ", ".join(f"{f.name}=_UNCHANGED" for f in fields)
    args = ", ".join(f"obj.{f.name} if {f.name} is _UNCHANGED else {f.name}" for f in fields)
    namespace: dict[str, Any] = {"_UNCHANGED": _UNCHANGED, "cls": cls}
    exec(f"def replace(obj, /, *, {params}):\n    return cls({args})\n", namespace)
    made: Callable[..., D] = namespace["replace"]
    made.__qualname__ = f"replacer({cls.__qualname__})"
    return made


def join_notes(*parts: str | None) -> str | None:
    """The notes given (None and empty ones left out) joined by "; ", as one
    :class:`csbm.i18n.Phrase` that keeps each part's template and parameters (a single
    part is returned as it is); None when there is none."""
    kept = [p for p in parts if p]
    if not kept:
        return None
    text = kept[0]
    for part in kept[1:]:
        text = phrase(N_("{first}; {second}"), first=text, second=part)
    return text


def deadline_status(
    due: datetime | None, now: datetime, done_at: datetime | None, waived: bool = False
) -> DeadlineStatus:
    """The status of a deadline at ``now`` (see :class:`Deadline`)."""
    if waived:
        return "waived"
    if due is None:
        return "unknown"  # done or not, whether in time cannot be said without the number
    if done_at is not None and done_at <= now:
        return "met" if done_at <= due else "missed"
    return "missed" if now > due else "open"


def _deadline(
    rule_id: str,
    ref: RuleRef | None,
    due: datetime | None,
    now: datetime,
    done_at: datetime | None,
    owed_by: Iterable[str],
    owed_to: Iterable[str],
    waived: bool,
    note: str | None,
    case: str | None,
) -> Deadline:
    status = deadline_status(due, now, done_at, waived)
    met_at = done_at if done_at is not None and done_at <= now else None
    return Deadline(
        rule=rule_id,
        paragraph=ref.rule.paragraph if ref else None,
        pack=ref.pack_id if ref else None,
        due=due,
        status=status,
        owed_by=tuple(owed_by),
        owed_to=tuple(owed_to),
        met_at=met_at,
        note=note,
        title=ref.rule.title if ref else None,
        case=case,
    )


class Procedure(Generic[S]):
    """Base of every measure (see the module docstring for how one plugs in)."""

    name: ClassVar[str] = ""
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {}
    observes: ClassVar[frozenset[str]] = frozenset()

    @property
    def consumes(self) -> frozenset[str]:
        return frozenset(self.bodies)

    def case_key(self, event: Event) -> str:
        """The case label of a message; override to derive one (yearly cycles)."""
        if not event.case:
            raise Refusal(phrase(N_("a {kind} message needs a case label"), kind=event.type))
        return event.case

    def observe(self, event: Event) -> Sequence[tuple[str, Event]]:
        """The cases an observed message of another measure concerns, each with the event
        as that case sees it (see the module docstring); none by default."""
        return ()

    def initial(self, case: str) -> S:
        raise NotImplementedError

    def apply(self, state: S, event: Event, ctx: Context) -> S:
        raise NotImplementedError

    def view(self, state: S, at: datetime, ctx: Context) -> CaseView:
        raise NotImplementedError

    def view_all(self, states: Mapping[str, S], at: datetime, ctx: Context) -> MeasureView:
        """Every case of this measure at ``at``; override for cross-case answers (quotas)."""
        return MeasureView(cases=tuple(self.view(states[c], at, ctx) for c in states))


def require_sender(event: Event, allowed: Iterable[str], role: str) -> None:
    """Refuse ``event`` unless its sender is one of ``allowed`` (the ``role`` of the case,
    an ``N_``-marked message id)."""
    allowed = tuple(allowed)
    if event.sender not in allowed:
        named = ", ".join(allowed)
        raise Refusal(
            phrase(N_("{sender} is not a party to this case as {role!t} ({allowed})"),
                   sender=event.sender, role=role, allowed=named)
            if named
            else phrase(N_("{sender} is not a party to this case as {role!t} (none yet)"),
                        sender=event.sender, role=role),
            kind="not_a_party",
        )
