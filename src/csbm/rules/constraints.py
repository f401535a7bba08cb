"""The constraining provisions across a set of activities (VD 2011 Chapter VIII, ¶~67–68).

For each State (a multinational activity counts for each conducting State, or for the
host State, as the pack's ``multinational_attribution`` option says) and each limit entry:

* ``calendar_year``: at most ``max_count`` qualifying activities starting in one year;
* ``three_calendar_years``: at most ``max_count`` in any three consecutive calendar years
  (``constraint_window: rolling``) or in fixed blocks from an anchor year (``fixed``);
* ``concurrent``: at most ``max_count`` qualifying activities at the same time.

An activity qualifies when any criterion is exceeded; with ``excluding: X`` it does not
count here if it qualifies under entry X (the six above 13,000 exclude those above 40,000).
Cost: O(n log n) — a sort per State, then linear sweeps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from csbm.domain.activity import Activity
from csbm.domain.records import quick_init
from csbm.i18n import N_, Phrase, phrase
from csbm.rules.evaluate import criteria_met
from csbm.rules.model import ConstraintResult
from csbm.rules.pack import LimitSpec, Rule, RulePack


@quick_init
@dataclass(frozen=True, slots=True)
class _Item:
    name: str
    start: datetime
    end: datetime


def _attributed(activity: Activity, attribution: str) -> tuple[str, ...]:
    if attribution == "host_state":
        return (activity.host_state,)
    return activity.conducting_states


def _qualifies(rule: Rule, pack: RulePack, activity: Activity) -> bool:
    spec = rule.spec
    assert isinstance(spec, LimitSpec)
    met, _ = criteria_met(spec.criteria, spec.comparison, activity.forces)
    if not met:
        return False
    if spec.excluding:
        other = pack.get(spec.excluding)
        if other is not None and isinstance(other.spec, LimitSpec):
            above, _ = criteria_met(other.spec.criteria, other.spec.comparison, activity.forces)
            if above:
                return False
    return True


def constraining_provisions(
    pack: RulePack, activities: Sequence[Activity]
) -> list[ConstraintResult]:
    """Every limit entry of ``pack`` applied to ``activities``, per State and window."""
    attribution = str(pack.option("multinational_attribution") or "each_conducting_state")
    results: list[ConstraintResult] = []
    limits = [r for r in pack.rules if isinstance(r.spec, LimitSpec)]
    candidates = _candidates(limits, activities)
    qualified = _qualified(limits, pack, candidates)
    for index, rule in enumerate(limits):
        per_state: dict[str, list[_Item]] = defaultdict(list)
        for activity, item, qualifies in qualified:
            if qualifies[index]:
                for code in _attributed(activity, attribution):
                    per_state[code].append(item)
        window = rule.spec.window if isinstance(rule.spec, LimitSpec) else None
        for code in sorted(per_state):
            items = sorted(per_state[code], key=lambda i: (i.start, i.end, i.name))
            if window == "calendar_year":
                results.extend(_by_year(rule, code, items))
            elif window == "three_calendar_years":
                results.extend(_three_years(rule, pack, code, items))
            else:
                results.extend(_concurrent(rule, code, items))
    return results


def _qualified(
    limits: Sequence[Rule], pack: RulePack, candidates: Sequence[Activity]
) -> list[tuple[Activity, _Item, list[bool]]]:
    """Each candidate, its item, and whether it qualifies under each of ``limits`` (what
    :func:`_qualifies` says, each entry's criteria tested once per activity)."""
    tests: list[tuple[tuple[tuple[str, int | None], ...], bool, int | None]] = []
    for rule in limits:
        spec = rule.spec
        assert isinstance(spec, LimitSpec)
        excluded: int | None = None
        if spec.excluding:
            other = pack.get(spec.excluding)
            if other is not None and isinstance(other.spec, LimitSpec):
                excluded = next(i for i, r in enumerate(limits) if r is other)
        tests.append((tuple(spec.criteria.items()), spec.comparison == ">=", excluded))
    out = []
    for activity in candidates:
        values = activity.forces.__dict__
        above = [_above(criteria, at_least, values) for criteria, at_least, _ in tests]
        qualifies = [
            met and not (excluded is not None and above[excluded])
            for met, (_, _, excluded) in zip(above, tests, strict=True)
        ]
        if any(qualifies):
            item = _Item(activity.name, activity.start, activity.last_instant)
            out.append((activity, item, qualifies))
    return out


def _above(
    criteria: tuple[tuple[str, int | None], ...], at_least: bool, values: dict[str, Any]
) -> bool:
    """Whether :func:`criteria_met` of the criteria (as pairs) is True."""
    for name, limit in criteria:
        value = values[name]
        if value is None or limit is None:
            continue
        if value >= limit if at_least else value > limit:
            return True
    return False


def _candidates(limits: Sequence[Rule], activities: Sequence[Activity]) -> list[Activity]:
    """The activities that could qualify under some limit: at or above the lowest number of
    some criterion (a cheap filter before the exact test; most activities are small)."""
    floors: dict[str, int] = {}
    for rule in limits:
        assert isinstance(rule.spec, LimitSpec)
        for name, limit in rule.spec.criteria.items():
            if limit is not None:
                floors[name] = min(floors.get(name, limit), limit)
    out = []
    for activity in activities:
        values = activity.forces.__dict__
        for name, floor in floors.items():
            value = values[name]
            if value is not None and value >= floor:
                out.append(activity)
                break
    return out


def _status(count: int, limit: int | None) -> str:
    if limit is None:
        return "unknown"
    return "broken" if count > limit else "within"


def _result(rule: Rule, code: str, window: str, members: list[_Item]) -> ConstraintResult:
    return _named_result(rule, code, window, tuple(i.name for i in members))


def _by_year(rule: Rule, code: str, items: list[_Item]) -> list[ConstraintResult]:
    years: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        years[item.start.year].append(item)
    return [_result(rule, code, str(year), years[year]) for year in sorted(years)]


def _three_years(
    rule: Rule, pack: RulePack, code: str, items: list[_Item]
) -> list[ConstraintResult]:
    years: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        years[item.start.year].append(item)
    mode = str(pack.option("constraint_window") or "rolling")
    out: list[ConstraintResult] = []
    if mode == "fixed":
        anchor = pack.option("constraint_window_anchor_year")
        if anchor is None:
            spec = rule.spec
            assert isinstance(spec, LimitSpec)
            return [
                ConstraintResult(
                    rule=rule.id,
                    paragraph=rule.paragraph,
                    state=code,
                    window=phrase(N_("fixed three-year blocks: anchor year unknown")),
                    count=len(items),
                    limit=spec.max_count,
                    status="unknown",
                    activities=tuple(i.name for i in items),
                )
            ]
        blocks: dict[int, list[_Item]] = defaultdict(list)
        for year, members in years.items():
            blocks[int(anchor) + 3 * ((year - int(anchor)) // 3)].extend(members)
        for first in sorted(blocks):
            out.append(_result(rule, code, f"{first}–{first + 2}", blocks[first]))
        return out
    # rolling: a window breaking the limit can be slid to start at its first activity's year
    for first in sorted(years):
        members = [i for y in (first, first + 1, first + 2) for i in years.get(y, [])]
        out.append(_result(rule, code, f"{first}–{first + 2}", members))
    return out


def _concurrent(rule: Rule, code: str, items: list[_Item]) -> list[ConstraintResult]:
    spec = rule.spec
    assert isinstance(spec, LimitSpec)
    # sweep: at one instant, ends are processed before starts (touching is not overlapping)
    events: list[tuple[datetime, int, int]] = []
    for idx, item in enumerate(items):
        events.append((item.start, 1, idx))
        events.append((item.end, 0, idx))
    events.sort()
    active: dict[int, None] = {}
    peak: list[int] = []
    broken: list[list[int]] = []
    seen: set[frozenset[int]] = set()
    for _, is_start, idx in events:
        if not is_start:
            active.pop(idx, None)
            continue
        active[idx] = None
        if len(active) > len(peak):
            peak = list(active)
        if spec.max_count is not None and len(active) > spec.max_count:
            key = frozenset(active)
            if key not in seen:
                seen.add(key)
                broken.append(list(active))
    if broken:
        # the window's day: the latest start of the group, that of the activity whose start
        # broke the limit (the last one added); one phrase per day (never changed once made)
        names = [i.name for i in items]
        days: dict[date, Phrase] = {}
        out: list[ConstraintResult] = []
        for g in broken:
            day = items[g[-1]].start.date()
            window = days.get(day)
            if window is None:
                window = days[day] = phrase(N_("at the same time from {day}"),
                                            day=day.isoformat())
            out.append(_named_result(rule, code, window, tuple([names[i] for i in g])))
        return out
    return [_result(rule, code, phrase(N_("at the same time (peak)")), [items[i] for i in peak])]


def _named_result(rule: Rule, code: str, window: str, names: tuple[str, ...]) -> ConstraintResult:
    """:func:`_result` of the members named ``names``."""
    spec = rule.spec
    assert isinstance(spec, LimitSpec)
    return ConstraintResult(
        rule=rule.id,
        paragraph=rule.paragraph,
        state=code,
        window=window,
        count=len(names),
        limit=spec.max_count,
        status=_status(len(names), spec.max_count),  # type: ignore[arg-type]
        activities=names,
    )
