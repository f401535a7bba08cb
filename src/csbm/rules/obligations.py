"""Obligations of one activity under one rule pack (VD 2011 Chapters V, VI, VII, VIII).

Prior notification (¶38, ¶40–41), observation invitation (¶47–48), the annual calendar
(¶61) and the advance communication of the largest activities (¶69). Which activities
trigger them comes from the pack's threshold entries; when they are due, from its period
and annual-date entries. Pure: the clock ``at`` is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from csbm.domain.activity import Activity, ActivityKind
from csbm.rules.evaluate import (
    annual_due,
    criteria_met,
    duration_exceeds,
    period_due,
    threshold_met,
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
    _selected: dict[tuple[str, str, ActivityKind], tuple[Rule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

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
        option = pack.option("divisional_condition")
        if option is None and fallback_options is not None:
            option = fallback_options.option("divisional_condition")
        return cls(
            pack=pack,
            thresholds=by(ThresholdSpec),
            periods=by(PeriodSpec),
            durations=by(DurationSpec),
            annual=by(AnnualDateSpec),
            gate=gates[0] if gates else None,
            divisional_condition=str(option or "equipment_only"),
        )


def _applies(rule: Rule, kind: ActivityKind) -> bool:
    return rule.applies_to is None or kind in rule.applies_to


def _select(
    rules: dict[str, tuple[Rule, ...]], measure: str, kind: ActivityKind
) -> tuple[Rule, ...]:
    """The entries of ``measure`` that apply to ``kind``."""
    return tuple(r for r in rules.get(measure, ()) if _applies(r, kind))


@dataclass(frozen=True)
class ThresholdTest:
    """The outcome of a measure's thresholds for one activity."""

    met: bool | None
    rules_met: tuple[str, ...]
    criteria_met: tuple[str, ...]
    rules: tuple[Rule, ...]
    unknown_rules: tuple[str, ...]


def test_thresholds(compiled: CompiledPack, measure: str, activity: Activity) -> ThresholdTest:
    """Any-of over every threshold entry of ``measure`` that applies to the activity's kind."""
    rules = compiled.select("thresholds", measure, activity.kind)
    met_rules: list[str] = []
    met_criteria: list[str] = []
    unknown: list[str] = []
    for rule in rules:
        assert isinstance(rule.spec, ThresholdSpec)
        met, names = threshold_met(
            rule.spec, activity.forces, activity.organisation, compiled.divisional_condition
        )
        if met:
            met_rules.append(rule.id)
            met_criteria.extend(names)
        elif met is None:
            unknown.append(rule.id)
    outcome: bool | None = True if met_rules else (None if unknown else False)
    if not rules:
        outcome = False
    return ThresholdTest(
        outcome, tuple(met_rules), tuple(met_criteria), tuple(rules), tuple(unknown)
    )


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
        return "missed", f"done {_span(late)} late"
    if done is True:
        if due is None:
            return "met", None
        return ("met", "done; when is not known") if done_at is None else ("met", None)
    if due is None:
        if done is False:
            return "unknown", "not done; the time limit is unknown"
        return "unknown", "the time limit is unknown: fill in from the text"
    if at < due:
        return "open", None
    if done is False:
        return "missed", None
    return "unknown", "not known whether it was done"


def _span(delta: object) -> str:
    from datetime import timedelta

    assert isinstance(delta, timedelta)
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{hours:g} h"
    return f"{hours / 24:g} days"


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
) -> list[Obligation]:
    """Every obligation ``activity`` gives rise to under one pack."""
    out: list[Obligation] = []
    tests = tests or threshold_tests(compiled, activity)
    notif = tests[PRIOR_NOTIFICATION]
    if notif.rules:
        out.extend(_notification(compiled, activity, at, notif))
    obs = tests[OBSERVATION_INVITATION]
    if obs.rules:
        out.extend(_observation(compiled, activity, at, obs))
    if notif.met is not False and notif.rules:
        out.extend(_calendar(compiled, activity, at))
    if compiled.gate is not None:
        out.extend(_advance(compiled, activity, at))
    return [_addressed(compiled.pack, ob) for ob in out]


def _addressed(pack: RulePack, ob: Obligation) -> Obligation:
    """Whom the obligation is owed to, as the entry says (a bilateral pack: the other party)."""
    rule = pack.get(ob.rule)
    if rule is None or not rule.owed_to or rule.owed_to == ob.owed_to:
        return ob
    return replace(ob, owed_to=rule.owed_to)


def _notification(
    compiled: CompiledPack, activity: Activity, at: datetime, test: ThresholdTest
) -> Iterable[Obligation]:
    if test.met is False:
        return
    pack = compiled.pack
    periods = compiled.select("periods", PRIOR_NOTIFICATION, activity.kind)
    triggered = test.rules_met or test.unknown_rules
    if not periods:
        yield Obligation(
            rule=triggered[0],
            paragraph=None,
            pack=pack.id,
            kind=PRIOR_NOTIFICATION,
            owed_by=_owners(activity),
            owed_to=ALL_STATES,
            due=None,
            status="unknown",
            triggered_by=triggered,
            note="unknown: no notice period in the pack",
        )
        return
    for rule in periods:
        assert isinstance(rule.spec, PeriodSpec)
        due = period_due(rule.spec, activity.start)
        if test.met is None:
            status: ObligationStatus = "unknown"
            note: str | None = "unknown: " + _unknown_reason(compiled, test)
        else:
            status, note = _status(activity.was_notified, activity.notified_at, due, at)
        if due is None and test.met is not None:
            note = "unknown: fill in the notice period from the agreement"
        yield Obligation(
            rule=rule.id,
            paragraph=rule.paragraph,
            pack=pack.id,
            kind=PRIOR_NOTIFICATION,
            owed_by=_owners(activity),
            owed_to=ALL_STATES,
            due=due,
            status=status,
            triggered_by=triggered,
            note=note,
        )


def _unknown_reason(compiled: CompiledPack, test: ThresholdTest) -> str:
    for rule in test.rules:
        if rule.id in test.unknown_rules and not rule.known:
            return (
                f"{rule.id} has no agreed figure in pack {compiled.pack.id}: "
                "fill in from the agreement"
            )
    return "the figures this threshold needs are not known"


def _observation(
    compiled: CompiledPack, activity: Activity, at: datetime, test: ThresholdTest
) -> Iterable[Obligation]:
    if test.met is False:
        return
    pack = compiled.pack
    triggered = test.rules_met or test.unknown_rules
    owed_by = (activity.host_state,)
    for rule in compiled.select("durations", OBSERVATION_INVITATION, activity.kind):
        assert isinstance(rule.spec, DurationSpec)
        long_enough = duration_exceeds(rule.spec, activity.duration_hours)
        if long_enough is False:
            yield Obligation(
                rule=rule.id,
                paragraph=rule.paragraph,
                pack=pack.id,
                kind=OBSERVATION_INVITATION,
                owed_by=owed_by,
                owed_to=ALL_STATES,
                due=None,
                status="not_applicable",
                triggered_by=triggered,
                note=f"lasts {activity.duration_hours or 0:g} h: not {rule.spec.comparison} "
                f"{rule.spec.hours or 0:g} h",
            )
            return
        if long_enough is None:
            yield Obligation(
                rule=rule.id,
                paragraph=rule.paragraph,
                pack=pack.id,
                kind=OBSERVATION_INVITATION,
                owed_by=owed_by,
                owed_to=ALL_STATES,
                due=None,
                status="unknown",
                triggered_by=triggered,
                note=(
                    "unknown: the end of the activity is not known"
                    if activity.end is None
                    else "unknown: duration limit not known"
                ),
            )
            return
    periods = compiled.select("periods", OBSERVATION_INVITATION, activity.kind)
    if test.met is None:
        rule_id = periods[0].id if periods else triggered[0]
        due = None
        if periods:
            assert isinstance(periods[0].spec, PeriodSpec)
            due = period_due(periods[0].spec, activity.start)
        yield Obligation(
            rule=rule_id,
            paragraph=(periods[0].paragraph if periods else None),
            pack=pack.id,
            kind=OBSERVATION_INVITATION,
            owed_by=owed_by,
            owed_to=ALL_STATES,
            due=due,
            status="unknown",
            triggered_by=triggered,
            note="unknown: " + _unknown_reason(compiled, test),
        )
        return
    if not periods:
        # e.g. an alert activity: the digest gives no time for the invitation
        invited = activity.observers_invited
        status: ObligationStatus
        if invited:
            status, note = "met", None
        elif invited is False and activity.end is not None and at >= activity.end:
            status, note = "missed", "no invitation by the end of the activity"
        else:
            status, note = "unknown", "unknown: the pack gives no time limit for this invitation"
        yield Obligation(
            rule=test.rules_met[0],
            paragraph=None,
            pack=pack.id,
            kind=OBSERVATION_INVITATION,
            owed_by=owed_by,
            owed_to=ALL_STATES,
            due=None,
            status=status,
            triggered_by=triggered,
            note=note,
        )
        return
    for rule in periods:
        assert isinstance(rule.spec, PeriodSpec)
        due = period_due(rule.spec, activity.start)
        status, note = _status(activity.observers_invited, None, due, at)
        yield Obligation(
            rule=rule.id,
            paragraph=rule.paragraph,
            pack=pack.id,
            kind=OBSERVATION_INVITATION,
            owed_by=owed_by,
            owed_to=ALL_STATES,
            due=due,
            status=status,
            triggered_by=triggered,
            note=note,
        )


def _calendar(compiled: CompiledPack, activity: Activity, at: datetime) -> Iterable[Obligation]:
    for rule in compiled.annual.get(ANNUAL_CALENDAR, ()):
        assert isinstance(rule.spec, AnnualDateSpec)
        if activity.kind == ActivityKind.ALERT:
            yield Obligation(
                rule=rule.id,
                paragraph=rule.paragraph,
                pack=compiled.pack.id,
                kind=ANNUAL_CALENDAR,
                owed_by=_owners(activity),
                owed_to=ALL_STATES,
                due=None,
                status="not_applicable",
                note="an activity without advance notice cannot be in the calendar (¶~65)",
            )
            continue
        due = annual_due(rule.spec, activity.start.year)
        status, note = _status(activity.in_annual_calendar, None, due, at)
        yield Obligation(
            rule=rule.id,
            paragraph=rule.paragraph,
            pack=compiled.pack.id,
            kind=ANNUAL_CALENDAR,
            owed_by=_owners(activity),
            owed_to=ALL_STATES,
            due=due,
            status=status,
            note=note,
        )


def _advance(compiled: CompiledPack, activity: Activity, at: datetime) -> Iterable[Obligation]:
    gate = compiled.gate
    assert gate is not None and isinstance(gate.spec, ThresholdSpec)
    above, _ = criteria_met(gate.spec.criteria, gate.spec.comparison, activity.forces)
    if not above:
        return
    for rule in compiled.annual.get(ADVANCE_COMMUNICATION, ()):
        assert isinstance(rule.spec, AnnualDateSpec)
        due = annual_due(rule.spec, activity.start.year)
        status, note = _status(activity.communicated_two_years_ahead, None, due, at)
        yield Obligation(
            rule=rule.id,
            paragraph=rule.paragraph,
            pack=compiled.pack.id,
            kind=ADVANCE_COMMUNICATION,
            owed_by=activity.conducting_states,
            owed_to=ALL_STATES,
            due=due,
            status=status,
            triggered_by=(gate.id,),
            note=note,
        )
