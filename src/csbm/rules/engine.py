"""The assessment engine: obligations and findings for activities, and the constraining
provisions across them, under a stack of rule packs. Pure: ``at`` is the clock.

``assess(activities, packs, at)`` is the whole of ``csbm assess``:

1. activities an analyst put under one command (``command_group``) are tested as one
   (¶40.1, NOTIF_SINGLE_CMD);
2. for each activity, the packs that apply (csbm.rules.applicability) give obligations
   (csbm.rules.obligations) and findings (csbm.rules.findings);
3. across the activities, each pack's limits (csbm.rules.constraints) and possible splits
   (csbm.rules.splits).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import chain
from operator import attrgetter, itemgetter, lt
from typing import Any

from csbm._batch import cyclic_gc_paused
from csbm.domain.activity import Activity, ActivityKind, Forces, Organisation
from csbm.rules.applicability import Decisions
from csbm.rules.constraints import constraining_provisions
from csbm.rules.findings import (
    gate_violation,
    inconsistencies,
    near_floors,
    near_thresholds,
    violations,
)
from csbm.rules.model import (
    OBSERVATION_INVITATION,
    PRIOR_NOTIFICATION,
    ActivityAssessment,
    Assessment,
    ConstraintResult,
    Finding,
    Obligation,
)
from csbm.rules.obligations import (
    MEASURES_WITH_THRESHOLDS,
    CompiledPack,
    ThresholdTest,
    gate_above,
    obligations_for,
    plan_of,
    plan_test,
)
from csbm.rules.pack import LimitSpec, RulePack
from csbm.rules.splits import possible_splits
from csbm.rules.texts import constraint_broken


class Regime:
    """A stack of packs, compiled once: later packs replace earlier ones with the same id."""

    def __init__(self, packs: Sequence[RulePack], forced: bool = False):
        by_id: dict[str, RulePack] = {}
        for pack in packs:
            by_id.pop(pack.id, None)
            by_id[pack.id] = pack
        self.packs: tuple[RulePack, ...] = tuple(by_id.values())
        self.forced = forced
        self.base: RulePack | None = next((p for p in self.packs if p.kind == "multilateral"), None)
        self.compiled: dict[str, CompiledPack] = {
            p.id: CompiledPack.of(p, self.base) for p in self.packs
        }

        self.margin = float(str(self.option("near_threshold_margin", 0.0)))
        self.decide = Decisions(self.packs, forced)
        """decide_packs(activity, self.packs, forced), the same decisions made once."""
        self._profiles: dict[tuple[str, ActivityKind, Organisation | None], _Profile] = {}

    def profile(self, pack_id: str, activity: Activity) -> _Profile:
        """The threshold plans of pack ``pack_id`` for ``activity``'s kind and organisation,
        and its screen for activities with nothing to report."""
        key = (pack_id, activity.kind, activity.organisation)
        found = self._profiles.get(key)
        if found is None:
            below = activity.organisation == Organisation.BELOW
            found = _Profile(self.compiled[pack_id], activity.kind, below, self.margin)
            self._profiles[key] = found
        return found

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.packs)

    def option(self, name: str, default: object) -> object:
        value = self.base.option(name) if self.base is not None else None
        return default if value is None else value


class _Profile:
    """A pack's notification and observation plans (csbm.rules.obligations.plan_of) for
    one kind of activity and organisation, and a screen for the activities that give
    nothing under the pack but their tests.

    :meth:`quiet` says whether the figures are all given where a threshold entry needs them
    (those tested only when given may be not given) and each below the least of: the
    notification and observation numbers, the gate's number (``>``: up to it), the
    near-threshold floors (csbm.rules.findings.near_floors). Then both tests are their
    plans' ``none_met``, the gate is not passed (gate_above not True), obligations_for
    gives nothing and near_thresholds finds nothing. Otherwise the engine tests in full."""

    def __init__(
        self, compiled: CompiledPack, kind: ActivityKind, below: bool, margin: float
    ) -> None:
        self.notif = plan_of(compiled, PRIOR_NOTIFICATION, kind, below)
        self.obs = plan_of(compiled, OBSERVATION_INVITATION, kind, below)
        self.quiet_tests = {
            PRIOR_NOTIFICATION: self.notif.none_met,
            OBSERVATION_INVITATION: self.obs.none_met,
        }
        bounds: dict[str, float] = {}
        required: set[str] = set()

        def bound(name: str, limit: float) -> None:
            bounds[name] = min(bounds.get(name, limit), limit)

        for plan in (self.notif, self.obs):
            for _, criteria, at_least, when_given in plan.entries:
                for name, limit in criteria:
                    if name not in when_given:
                        required.add(name)
                    if limit is None:
                        bound(name, -math.inf)  # a figure given is untestable
                    else:  # (>: a figure up to the number, ints or not)
                        bound(name, limit if at_least else math.nextafter(limit, math.inf))
        if compiled.gate_criteria is not None:
            criteria, at_least = compiled.gate_criteria
            for name, limit in criteria:
                if limit is None:
                    bound(name, -math.inf)
                else:
                    bound(name, limit if at_least else math.nextafter(limit, math.inf))
        elif compiled.gate is not None:
            bound("troops", -math.inf)  # (a gate without its pairs: never quiet)
            required.add("troops")
        for measure in (PRIOR_NOTIFICATION, OBSERVATION_INVITATION):
            for name, floor in near_floors(compiled, measure, kind, margin):
                bound(name, floor)
        self._required = tuple(sorted(required))
        self._bounds = tuple(bounds[name] for name in self._required)
        optional = tuple(sorted(set(bounds) - required))
        self._optional = tuple((name, bounds[name]) for name in optional)
        self._get_required = _getter(self._required)

    def quiet(self, values: dict[str, Any]) -> bool:
        """Whether the figures ``values`` (a Forces' ``__dict__``) give nothing (above)."""
        figures = self._get_required(values)
        if None in figures or not all(map(lt, figures, self._bounds)):
            return False
        for name, limit in self._optional:  # (not given, or below)
            value = values[name]
            if value is not None and not value < limit:
                return False
        return True


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of ``names`` in a mapping, as a tuple (itemgetter gives one item bare)."""
    if len(names) >= 2:
        return itemgetter(*names)
    if names:
        name = names[0]
        return lambda values: (values[name],)
    return lambda values: ()


def combine_command_groups(
    activities: Sequence[Activity],
) -> list[tuple[Activity, tuple[str, ...]]]:
    """Activities sharing a ``command_group`` become one activity with summed forces."""
    groups: dict[str, list[Activity]] = defaultdict(list)
    out: list[tuple[Activity, tuple[str, ...]]] = []
    order: list[str] = []
    for activity in activities:
        if activity.command_group:
            if activity.command_group not in groups:
                order.append(activity.command_group)
            groups[activity.command_group].append(activity)
        else:
            out.append((activity, ()))
    for label in order:
        members = groups[label]
        if len(members) == 1:
            out.append((members[0], ()))
            continue
        total = Forces()
        for m in members:
            total = total.plus(m.forces)
        first = members[0]
        states = tuple(dict.fromkeys(s for m in members for s in m.conducting_states))
        combined = first.model_copy(
            update={
                "name": f"{label} (one command: {', '.join(m.name for m in members)})",
                "forces": total,
                "conducting_states": states,
                "start": min(m.start for m in members),
                "end": None
                if any(m.end is None for m in members)
                else max(m.last_instant for m in members),
                "notified": _all_or_none([m.was_notified for m in members]),
                "notified_at": max((m.notified_at for m in members if m.notified_at), default=None),
                "assumed": tuple(a for m in members for a in m.assumed),
            }
        )
        out.append((combined, tuple(m.name for m in members)))
    return out


def _all_or_none(values: list[bool | None]) -> bool | None:
    if all(v is True for v in values):
        return True
    if any(v is False for v in values):
        return False
    return None


def assess_activity(
    regime: Regime, activity: Activity, at: datetime, members: tuple[str, ...] = ()
) -> ActivityAssessment:
    """Obligations and findings of one activity under every pack that applies to it."""
    return _assess_one(regime, activity, at, members)[0]


def _assess_one(
    regime: Regime, activity: Activity, at: datetime, members: tuple[str, ...],
    missed_violations: bool = True,
) -> tuple[ActivityAssessment, dict[str, dict[str, ThresholdTest]]]:
    margin = regime.margin
    obligations: list[Obligation] = []
    findings: list[Finding] = []
    tests_by_pack: dict[str, dict[str, ThresholdTest]] = {}
    values = activity.forces.__dict__
    decided = regime.decide(activity)
    for decision in decided.applied:
        pack_id = decision.pack.id
        compiled = regime.compiled[pack_id]
        profile = regime.profile(pack_id, activity)
        if profile.quiet(values):
            # what the plain path below gives then: no test met nor unknown, the gate
            # not passed, no obligation, nothing near a threshold
            tests_by_pack[pack_id] = profile.quiet_tests
            if activity.declarations:
                findings.extend(inconsistencies(compiled, activity, [], profile.quiet_tests))
            continue
        # threshold_tests(compiled, activity), by the plans of the activity's kind
        notif = plan_test(profile.notif, values)
        seen = plan_test(profile.obs, values)
        tests = {PRIOR_NOTIFICATION: notif, OBSERVATION_INVITATION: seen}
        tests_by_pack[pack_id] = tests
        above = gate_above(compiled, activity.forces) if compiled.gate is not None else None
        if (
            above
            or (notif.rules and notif.met is not False)
            or (seen.rules and seen.met is not False)
        ):
            obs = obligations_for(compiled, activity, at, tests, above=above)
        else:
            obs = []  # (what obligations_for gives then: no test met nor unknown, no gate)
        # The findings in their order; a call that can find nothing is skipped.
        if obs:
            obligations.extend(obs)
            if missed_violations:
                findings.extend(violations(decision.pack, obs, activity))
        if above:
            findings.extend(gate_violation(compiled, activity, True))
        findings.extend(near_thresholds(compiled, activity, margin, tests))
        if obs or activity.declarations:
            findings.extend(inconsistencies(compiled, activity, obs, tests))
    assessed = ActivityAssessment(
        activity=activity,
        packs=decided.applications,
        obligations=tuple(obligations),
        findings=tuple(findings),
        members=members,
        not_applied=decided.not_applied,
    )
    return assessed, tests_by_pack


def assess(
    activities: Sequence[Activity],
    packs: Sequence[RulePack],
    at: datetime,
    forced: bool = False,
    on_progress: Callable[[int], None] | None = None,
    *,
    missed_violations: bool = True,
) -> Assessment:
    """Assess ``activities`` under ``packs`` as things stand at ``at``.

    ``on_progress(n)`` is called after every ``PROGRESS_STEP`` activities assessed (and once
    at the end), for the shells' progress bars; the engine itself does no I/O.
    ``missed_violations=False`` leaves out of each activity's findings the violations
    that only say an obligation of it was missed (``findings.violations``): a caller that
    reports missed deadlines itself (the procedures' late/missed findings) drops them."""
    with cyclic_gc_paused():
        return _assess(activities, packs, at, forced, on_progress, missed_violations)


PROGRESS_STEP = 1000


def _assess(
    activities: Sequence[Activity],
    packs: Sequence[RulePack],
    at: datetime,
    forced: bool,
    on_progress: Callable[[int], None] | None = None,
    missed_violations: bool = True,
) -> Assessment:
    regime = Regime(packs, forced)
    units = combine_command_groups(activities)
    assessed: list[ActivityAssessment] = []
    applied: dict[str, list[Activity]] = {}
    # per pack, per measure, by index in applied[pack]: whether the activity stays below
    # the measure's threshold alone (its own test is False), for possible_splits
    free: dict[str, dict[str, list[bool]]] = {}
    for done, (activity, members) in enumerate(units, 1):
        item, tests_by_pack = _assess_one(regime, activity, at, members, missed_violations)
        assessed.append(item)
        if on_progress is not None and (done % PROGRESS_STEP == 0 or done == len(units)):
            on_progress(done)
        for pack_id, tests in tests_by_pack.items():
            covered = applied.get(pack_id)
            if covered is None:
                covered = applied[pack_id] = []
                free[pack_id] = {m: [] for m in MEASURES_WITH_THRESHOLDS}
            covered.append(activity)
            below = free[pack_id]
            below[PRIOR_NOTIFICATION].append(tests[PRIOR_NOTIFICATION].met is False)
            below[OBSERVATION_INVITATION].append(tests[OBSERVATION_INVITATION].met is False)
    constraints = []
    set_findings: list[Finding] = []
    adjacency = float(str(regime.option("adjacency_days", 0)))
    for pack in regime.packs:
        covered = applied.get(pack.id, [])
        if not covered:
            continue
        if any(isinstance(r.spec, LimitSpec) for r in pack.rules):
            results = constraining_provisions(pack, covered)
            constraints.extend(results)
            set_findings.extend(_constraint_findings(pack, results))
        if pack.kind == "multilateral":
            set_findings.extend(
                possible_splits(
                    regime.compiled[pack.id], covered, adjacency, free=free[pack.id]
                )
            )
    assumed = tuple(chain.from_iterable(map(attrgetter("activity.assumed"), assessed)))
    return Assessment(
        regime=regime.ids,
        at=at,
        activities=tuple(assessed),
        constraints=tuple(constraints),
        findings=tuple(set_findings),
        assumed=assumed,
    )


def _constraint_findings(pack: RulePack, results: Sequence[ConstraintResult]) -> list[Finding]:
    out: list[Finding] = []
    for r in results:
        if r.status != "broken":
            continue
        rule = pack.rule(r.rule)
        out.append(
            Finding(
                rule=r.rule,
                kind="violation",
                severity="high" if rule.strength == "commitment" else "low",
                message=constraint_broken(r.state, r.count, r.limit, r.window, rule.title),
                pack=pack.id,
                activities=r.activities,
                details={"state": r.state, "window": r.window, "count": r.count, "limit": r.limit},
            )
        )
    return out
