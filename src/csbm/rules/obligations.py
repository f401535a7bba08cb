"""Obligations of one activity under one rule pack (VD 2011 Chapters V, VI, VII, VIII).

Prior notification (¶38, ¶40–41), observation invitation (¶47–48), the annual calendar
(¶~61) and the advance communication of the largest activities (¶68, owed by the States
that carry out or host them). Date limits are read as the pack's ``date_limit`` option
says (csbm.rules.deadlines). Which activities
trigger them comes from the pack's threshold entries; when they are due, from its period
and annual-date entries. Pure: the clock ``at`` is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from csbm.domain.activity import Activity, ActivityKind, Forces, Organisation
from csbm.domain.records import quick_init
from csbm.i18n import N_, Phrase, phrase
from csbm.rules.deadlines import date_limit_reading
from csbm.rules.evaluate import (
    DIVISIONAL_ALL,
    DIVISIONAL_NONE,
    annual_due,
    criteria_met,
    duration_exceeds,
    period_due,
)
from csbm.rules.model import (
    ADVANCE_COMMUNICATION,
    ANNUAL_CALENDAR,
    OBSERVATION_INVITATION,
    PRIOR_NOTIFICATION,
    Obligation,
    ObligationStatus,
)
from csbm.rules.pack import (
    AnnualDateSpec,
    DurationSpec,
    PeriodSpec,
    Rule,
    RulePack,
    ThresholdSpec,
)

ALL_STATES = "all participating States"


@dataclass(frozen=True)
class CompiledPack:
    """A pack's entries sorted by measure and spec type once, for fast evaluation."""

    pack: RulePack
    thresholds: dict[str, tuple[Rule, ...]]
    periods: dict[str, tuple[Rule, ...]]
    durations: dict[str, tuple[Rule, ...]]
    annual: dict[str, tuple[Rule, ...]]
    gate: Rule | None
    divisional_condition: str
    date_limit: str = "end_of_day"
    gate_criteria: tuple[tuple[tuple[str, int | None], ...], bool] | None = None
    """The gate's criteria as (name, number) pairs and whether the comparison is ``>=``."""
    _selected: dict[tuple[str, str, ActivityKind], tuple[Rule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _plans: dict[tuple[str, ActivityKind, bool], ThresholdPlan] = field(
        default_factory=dict, compare=False, repr=False
    )
    _floors: dict[tuple[str | None, ActivityKind, float], tuple[tuple[str, float], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _annual: dict[tuple[str, int], datetime | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    _texts: dict[tuple[Any, ...], Phrase] = field(default_factory=dict, compare=False, repr=False)
    _words: dict[str | int, tuple[Rule | str, str, str | None, str, str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def annual_due(self, rule: Rule, year: int) -> datetime | None:
        """:func:`annual_due` of the entry ``rule`` (an annual-date one of this pack) for
        ``year`` under the pack's date-limit reading, made once per entry and year."""
        key = (rule.id, year)
        try:
            return self._annual[key]
        except KeyError:
            assert isinstance(rule.spec, AnnualDateSpec)
            due = self._annual[key] = annual_due(rule.spec, year, self.date_limit)
            return due

    def select(self, table: str, measure: str, kind: ActivityKind) -> tuple[Rule, ...]:
        """Entries of ``table`` ("thresholds", "periods", "durations") for a measure and kind."""
        key = (table, measure, kind)
        found = self._selected.get(key)
        if found is None:
            found = _select(getattr(self, table), measure, kind)
            self._selected[key] = found
        return found

    @classmethod
    def of(cls, pack: RulePack, fallback_options: RulePack | None = None) -> CompiledPack:
        def by(kind: type) -> dict[str, tuple[Rule, ...]]:
            out: dict[str, list[Rule]] = {}
            for rule in pack.rules:
                if isinstance(rule.spec, kind):
                    out.setdefault(rule.measure, []).append(rule)
            return {k: tuple(v) for k, v in out.items()}

        gates = [r for r in pack.rules if r.measure == "constraint_gate"]
        gate_criteria = None
        if gates:
            spec = gates[0].spec
            assert isinstance(spec, ThresholdSpec)
            gate_criteria = (tuple(spec.criteria.items()), spec.comparison == ">=")
        option = pack.option("divisional_condition")
        if option is None and fallback_options is not None:
            option = fallback_options.option("divisional_condition")
        return cls(
            date_limit=date_limit_reading(pack, fallback_options),
            pack=pack,
            thresholds=by(ThresholdSpec),
            periods=by(PeriodSpec),
            durations=by(DurationSpec),
            annual=by(AnnualDateSpec),
            gate=gates[0] if gates else None,
            gate_criteria=gate_criteria,
            divisional_condition=str(option or "equipment_only"),
        )


def _applies(rule: Rule, kind: ActivityKind) -> bool:
    return rule.applies_to is None or kind in rule.applies_to


def _select(
    rules: dict[str, tuple[Rule, ...]], measure: str, kind: ActivityKind
) -> tuple[Rule, ...]:
    """The entries of ``measure`` that apply to ``kind``."""
    return tuple(r for r in rules.get(measure, ()) if _applies(r, kind))


@quick_init
@dataclass(frozen=True, slots=True)
class ThresholdTest:
    """The outcome of a measure's thresholds for one activity."""

    met: bool | None
    rules_met: tuple[str, ...]
    criteria_met: tuple[str, ...]
    rules: tuple[Rule, ...]
    unknown_rules: tuple[str, ...]


def test_thresholds(compiled: CompiledPack, measure: str, activity: Activity) -> ThresholdTest:
    """Any-of over every threshold entry of ``measure`` that applies to the activity's kind."""
    return forces_test(compiled, measure, activity.kind, activity.organisation, activity.forces)


def forces_test(
    compiled: CompiledPack,
    measure: str,
    kind: ActivityKind,
    organisation: Organisation | None,
    forces: Forces,
) -> ThresholdTest:
    """:func:`test_thresholds` of forces of an activity of ``kind`` and ``organisation``:
    the same as :func:`threshold_met` over each entry, by the entries' compiled plan."""
    return plan_test(
        plan_of(compiled, measure, kind, organisation == Organisation.BELOW), forces.__dict__
    )


def plan_test(plan: ThresholdPlan, values: dict[str, Any]) -> ThresholdTest:
    """:func:`forces_test` by a plan (:func:`plan_of`) of the figures ``values`` (a
    :class:`Forces`' ``__dict__``)."""
    if not plan.entries:
        return plan.none_met
    met_rules: list[str] | None = None
    met_criteria: list[str] = []
    unknown: list[str] | None = None
    for rule_id, criteria, at_least, when_given in plan.entries:
        met: list[str] | None = None
        untestable = False
        for name, limit in criteria:
            value = values[name]
            if value is None:
                if name not in when_given:
                    untestable = True
                continue
            if limit is None:
                untestable = True
            elif value >= limit if at_least else value > limit:
                if met is None:
                    met = [name]
                else:
                    met.append(name)
        if met:
            if met_rules is None:
                met_rules = [rule_id]
            else:
                met_rules.append(rule_id)
            met_criteria.extend(met)
        elif untestable:
            if unknown is None:
                unknown = [rule_id]
            else:
                unknown.append(rule_id)
    if met_rules is None and unknown is None:
        return plan.none_met
    return ThresholdTest(
        True if met_rules else None,
        tuple(met_rules or ()),
        tuple(met_criteria),
        plan.rules,
        tuple(unknown or ()),
    )


@dataclass(frozen=True)
class ThresholdPlan:
    """A measure's threshold entries for one kind of activity, as plain tuples: (rule id,
    criteria as (name, number) pairs after the divisional condition, ``>=``, the criteria
    tested only when given). ``none_met``: the outcome when no entry is met or unknown."""

    rules: tuple[Rule, ...]
    entries: tuple[tuple[str, tuple[tuple[str, int | None], ...], bool, tuple[str, ...]], ...]
    none_met: ThresholdTest
    criteria: tuple[tuple[Rule, str, int], ...] = ()
    """Every (entry, criterion, number) of the entries, number not null nor 0 (for
    csbm.rules.findings.near_thresholds)."""


def plan_of(compiled: CompiledPack, measure: str, kind: ActivityKind, below: bool) -> ThresholdPlan:
    key = (measure, kind, below)
    found = compiled._plans.get(key)
    if found is not None:
        return found
    rules = compiled.select("thresholds", measure, kind)
    entries = []
    for rule in rules:
        spec = rule.spec
        assert isinstance(spec, ThresholdSpec)
        criteria = spec.criteria
        condition = compiled.divisional_condition
        if spec.organisation_condition and below and condition != DIVISIONAL_NONE:
            if condition == DIVISIONAL_ALL:
                criteria = {}
            else:
                criteria = {k: v for k, v in criteria.items() if k == "troops"}
        if not criteria:
            continue  # threshold_met: (False, ()) -- neither met nor unknown
        entries.append((rule.id, tuple(criteria.items()), spec.comparison == ">=",
                        spec.when_given))  # fmt: skip
    every: list[tuple[Rule, str, int]] = []
    for rule in rules:
        assert isinstance(rule.spec, ThresholdSpec)
        every.extend((rule, name, limit) for name, limit in rule.spec.criteria.items() if limit)
    none_met = ThresholdTest(False, (), (), rules, ())
    plan = ThresholdPlan(rules, tuple(entries), none_met, tuple(every))
    compiled._plans[key] = plan
    return plan


def _status(
    done: bool | None,
    done_at: datetime | None,
    due: datetime | None,
    at: datetime,
) -> tuple[ObligationStatus, str | None]:
    """Status of a duty given whether (and when) it was done, its due instant and the clock."""
    if done_at is not None and due is not None:
        if done_at <= due:
            return "met", None
        late = done_at - due
        return "missed", phrase(N_("done {span} late"), span=_span(late))
    if done is True:
        if due is None:
            return "met", None
        return ("met", phrase(N_("done; when is not known"))) if done_at is None else ("met", None)
    if due is None:
        if done is False:
            return "unknown", phrase(N_("not done; the time limit is unknown"))
        return "unknown", phrase(N_("the time limit is unknown: fill in from the text"))
    if at < due:
        return "open", None
    if done is False:
        return "missed", None
    return "unknown", phrase(N_("not known whether it was done"))


def _span(delta: object) -> Phrase:
    from datetime import timedelta

    assert isinstance(delta, timedelta)
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return phrase(N_("{hours:g} h"), hours=hours)
    return phrase(N_("{days:g} days"), days=hours / 24)


def _owners(activity: Activity) -> tuple[str, ...]:
    states = [activity.host_state, *activity.conducting_states]
    return tuple(dict.fromkeys(states))


MEASURES_WITH_THRESHOLDS = (PRIOR_NOTIFICATION, OBSERVATION_INVITATION)


def threshold_tests(compiled: CompiledPack, activity: Activity) -> dict[str, ThresholdTest]:
    """The notification and observation threshold tests of one activity under one pack."""
    return {m: test_thresholds(compiled, m, activity) for m in MEASURES_WITH_THRESHOLDS}


def obligations_for(
    compiled: CompiledPack,
    activity: Activity,
    at: datetime,
    tests: dict[str, ThresholdTest] | None = None,
    *,
    above: bool | None = None,
) -> list[Obligation]:
    """Every obligation ``activity`` gives rise to under one pack (``above``: the gate's
    :func:`gate_above` for it, when the caller has it already)."""
    out: list[Obligation] = []
    tests = tests or threshold_tests(compiled, activity)
    notif = tests[PRIOR_NOTIFICATION]
    owners = _owners(activity)
    if notif.rules and notif.met is not False:  # (_notification gives none when False)
        out.extend(_notification(compiled, activity, at, notif, owners))
    obs = tests[OBSERVATION_INVITATION]
    if obs.rules and obs.met is not False:  # (likewise _observation)
        out.extend(_observation(compiled, activity, at, obs))
    if notif.met is not False and notif.rules:
        out.extend(_calendar(compiled, activity, at, owners))
    if compiled.gate is not None:
        if above is None:
            above = gate_above(compiled, activity.forces)
        if above:
            out.extend(_advance(compiled, activity, at, owners))
    return out


def gate_above(compiled: CompiledPack, forces: Forces) -> bool | None:
    """Whether ``forces`` are above the pack's ¶~70 gate (``constraint_gate``): the first
    element of :func:`criteria_met` of the gate's criteria (None without a gate)."""
    gate = compiled.gate_criteria
    if gate is None:
        if compiled.gate is None:
            return None
        spec = compiled.gate.spec  # (a CompiledPack made without CompiledPack.of)
        assert isinstance(spec, ThresholdSpec)
        return criteria_met(spec.criteria, spec.comparison, forces)[0]
    # criteria_met(spec.criteria, spec.comparison, forces)[0], from the criteria as pairs
    criteria, at_least = gate
    values = forces.__dict__
    untestable = False
    for name, limit in criteria:
        value = values[name]
        if value is None or limit is None:
            untestable = True
        elif value >= limit if at_least else value > limit:
            return True
    return None if untestable else False


def _obligation(
    compiled: CompiledPack,
    kind: str,
    owed_by: tuple[str, ...],
    rule: Rule | str,
    status: ObligationStatus,
    due: datetime | None = None,
    triggered: tuple[str, ...] = (),
    note: str | None = None,
) -> Obligation:
    """An obligation of ``rule`` (an entry, or the id of one); owed to whom the entry says,
    else to all participating States."""
    # what the obligation says of its entry, once per entry (by identity: the entry is
    # held with it) or id
    key: str | int = rule if isinstance(rule, str) else id(rule)
    hit = compiled._words.get(key)
    if hit is None or (hit[0] is not rule and not isinstance(rule, str)):
        entry = compiled.pack.get(rule) if isinstance(rule, str) else rule
        hit = compiled._words[key] = (
            rule,
            rule if isinstance(rule, str) else rule.id,
            entry.paragraph if entry is not None and not isinstance(rule, str) else None,
            compiled.pack.id,
            entry.owed_to if entry is not None and entry.owed_to else ALL_STATES,
        )
    _, rule_id, paragraph, pack_id, owed_to = hit
    return Obligation(
        rule_id, paragraph, pack_id, kind, owed_by, owed_to, due, status, triggered, note
    )


def _notification(
    compiled: CompiledPack, activity: Activity, at: datetime, test: ThresholdTest,
    owners: tuple[str, ...],
) -> Iterable[Obligation]:  # fmt: skip
    if test.met is False:
        return
    periods = compiled.select("periods", PRIOR_NOTIFICATION, activity.kind)
    triggered = test.rules_met or test.unknown_rules
    if not periods:
        yield _obligation(
            compiled, PRIOR_NOTIFICATION, owners, triggered[0], "unknown",
            triggered=triggered, note=phrase(N_("unknown: no notice period in the pack")),
        )  # fmt: skip
        return
    for rule in periods:
        assert isinstance(rule.spec, PeriodSpec)
        due = period_due(rule.spec, activity.start)
        if test.met is None:
            status: ObligationStatus = "unknown"
            note: str | None = phrase(N_("unknown: {reason}"),
                                      reason=_unknown_reason(compiled, test))  # fmt: skip
        else:
            status, note = _status(activity.was_notified, activity.notified_at, due, at)
        if due is None and test.met is not None:
            note = phrase(N_("unknown: fill in the notice period from the agreement"))
        yield _obligation(
            compiled, PRIOR_NOTIFICATION, owners, rule, status,
            due=due, triggered=triggered, note=note,
        )  # fmt: skip


def _unknown_reason(compiled: CompiledPack, test: ThresholdTest) -> Phrase:
    for rule in test.rules:
        if rule.id in test.unknown_rules and not rule.known:
            return phrase(
                N_("{rule} has no agreed figure in pack {pack}: fill in from the agreement"),
                rule=rule.id, pack=compiled.pack.id,
            )  # fmt: skip
    return phrase(N_("the figures this threshold needs are not known"))


def _observation(
    compiled: CompiledPack, activity: Activity, at: datetime, test: ThresholdTest
) -> Iterable[Obligation]:
    if test.met is False:
        return
    triggered = test.rules_met or test.unknown_rules
    owed_by = (activity.host_state,)

    def ob(rule: Rule | str, status: ObligationStatus, due: datetime | None = None,
           note: str | None = None) -> Obligation:  # fmt: skip
        return _obligation(
            compiled, OBSERVATION_INVITATION, owed_by, rule, status, due, triggered, note
        )

    for rule in compiled.select("durations", OBSERVATION_INVITATION, activity.kind):
        assert isinstance(rule.spec, DurationSpec)
        long_enough = duration_exceeds(rule.spec, activity.duration_hours)
        if long_enough is False:
            yield ob(
                rule, "not_applicable",
                note=phrase(N_("lasts {hours:g} h: not {comparison} {limit:g} h"),
                            hours=activity.duration_hours or 0, comparison=rule.spec.comparison,
                            limit=rule.spec.hours or 0),
            )  # fmt: skip
            return
        if long_enough is None:
            unknown_end = activity.end is None
            yield ob(
                rule, "unknown",
                note=phrase(N_("unknown: the end of the activity is not known"))
                if unknown_end else phrase(N_("unknown: duration limit not known")),
            )  # fmt: skip
            return
    periods = compiled.select("periods", OBSERVATION_INVITATION, activity.kind)
    if test.met is None:
        note = phrase(N_("unknown: {reason}"), reason=_unknown_reason(compiled, test))
        if not periods:
            yield ob(triggered[0], "unknown", note=note)
            return
        first = periods[0]
        assert isinstance(first.spec, PeriodSpec)
        yield ob(first, "unknown", period_due(first.spec, activity.start), note)
        return
    if not periods:
        # e.g. an alert activity: the digest gives no time for the invitation
        invited = activity.observers_invited
        if invited:
            yield ob(test.rules_met[0], "met")
        elif invited is False and activity.end is not None and at >= activity.end:
            late = phrase(N_("no invitation by the end of the activity"))
            yield ob(test.rules_met[0], "missed", note=late)
        else:
            yield ob(
                test.rules_met[0], "unknown",
                note=phrase(N_("unknown: the pack gives no time limit for this invitation")),
            )  # fmt: skip
        return
    for rule in periods:
        assert isinstance(rule.spec, PeriodSpec)
        due = period_due(rule.spec, activity.start)
        status, note_ = _status(activity.observers_invited, None, due, at)
        yield ob(rule, status, due, note_)


def _calendar(
    compiled: CompiledPack, activity: Activity, at: datetime, owners: tuple[str, ...]
) -> Iterable[Obligation]:
    for rule in compiled.annual.get(ANNUAL_CALENDAR, ()):
        assert isinstance(rule.spec, AnnualDateSpec)
        if activity.kind == ActivityKind.ALERT:
            yield _obligation(
                compiled, ANNUAL_CALENDAR, owners, rule, "not_applicable",
                note=phrase(
                    N_("an activity without advance notice cannot be in the calendar (¶~65)")
                ),
            )  # fmt: skip
            continue
        due = compiled.annual_due(rule, activity.start.year)
        status, note = _status(activity.in_annual_calendar, None, due, at)
        yield _obligation(compiled, ANNUAL_CALENDAR, owners, rule, status, due, note=note)


def _advance(
    compiled: CompiledPack, activity: Activity, at: datetime, owners: tuple[str, ...]
) -> Iterable[Obligation]:
    gate = compiled.gate
    assert gate is not None and isinstance(gate.spec, ThresholdSpec)  # above it (the caller)
    for rule in compiled.annual.get(ADVANCE_COMMUNICATION, ()):
        assert isinstance(rule.spec, AnnualDateSpec)
        due = compiled.annual_due(rule, activity.start.year)
        status, note = _status(activity.communicated_two_years_ahead, None, due, at)
        # ¶68: the States that plan to carry out or host it (host and conducting States)
        yield _obligation(
            compiled, ADVANCE_COMMUNICATION, owners, rule, status,
            due, (gate.id,), note,
        )  # fmt: skip
