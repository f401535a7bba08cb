"""Interpreting one entry's spec: the arithmetic of thresholds, time limits and quotas.

Pure functions. Each returns ``None`` ("unknown") when the entry's number is null or the
figure it needs is not known — never a guess (digest §0; DESIGN.md principle 2).
"""

from __future__ import annotations

import calendar
import math
from datetime import datetime, timedelta
from typing import Any

from csbm.domain.activity import Forces, Organisation
from csbm.rules.deadlines import END_OF_DAY, date_limit_due
from csbm.rules.pack import (
    AnnualDateSpec,
    Comparison,
    DurationSpec,
    LimitSpec,
    MaximumSpec,
    PeriodSpec,
    QuotaSpec,
    ShareSpec,
    ThresholdSpec,
    UnitQuotaSpec,
)

DIVISIONAL_EQUIPMENT_ONLY = "equipment_only"
DIVISIONAL_ALL = "all_criteria"
DIVISIONAL_NONE = "none"


def compare(value: float, comparison: Comparison, limit: float) -> bool:
    return value >= limit if comparison == ">=" else value > limit


def criteria_met(
    criteria: dict[str, int | None],
    comparison: Comparison,
    forces: Forces,
    when_given: tuple[str, ...] = (),
) -> tuple[bool | None, tuple[str, ...]]:
    """Any-of test of ``forces`` against ``criteria``.

    Returns (met, names of the criteria met). ``met`` is None when no criterion is met and
    at least one could not be tested (its number is null or the figure unknown). A
    criterion named in ``when_given`` is skipped when the figure is not given.
    """
    met: list[str] | None = None
    untestable = False
    values = forces.__dict__
    at_least = comparison == ">="
    for name, limit in criteria.items():
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
        return True, tuple(met)
    return (None if untestable else False), ()


def threshold_met(
    spec: ThresholdSpec,
    forces: Forces,
    organisation: Organisation | None = None,
    divisional_condition: str = DIVISIONAL_EQUIPMENT_ONLY,
) -> tuple[bool | None, tuple[str, ...]]:
    """Whether ``forces`` reach the threshold; with the divisional condition of ¶40.1.1.

    When the forces are known to be organised below two brigades/regiments, the condition
    removes the criteria it qualifies: every criterion (``all_criteria``) or the equipment
    ones only (``equipment_only``, the default reading). An unknown organisation meets it.
    """
    criteria = spec.criteria  # read, never changed: a narrower one is a new dict
    if (
        spec.organisation_condition
        and organisation == Organisation.BELOW
        and divisional_condition != DIVISIONAL_NONE
    ):
        if divisional_condition == DIVISIONAL_ALL:
            criteria = {}
        else:
            criteria = {k: v for k, v in criteria.items() if k == "troops"}
    if not criteria:
        return False, ()
    return criteria_met(criteria, spec.comparison, forces, spec.when_given)


def duration_exceeds(spec: DurationSpec, hours: float | None) -> bool | None:
    if spec.hours is None or hours is None:
        return None
    return compare(hours, spec.comparison, spec.hours)


def add_months(at: datetime, months: int) -> datetime:
    """Calendar-month arithmetic; the day is clamped to the month's last day."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def period_due(spec: PeriodSpec, anchor: datetime) -> datetime | None:
    """The due instant ``amount`` ``unit`` before/after ``anchor``; None if unknown."""
    hit = _SIGNED.get(id(spec))
    if hit is not None and hit[0] is spec:
        return anchor + hit[1]
    if spec.amount is None:
        return None
    sign = -1 if spec.direction == "before" else 1
    if spec.unit == "months":
        if spec.amount != int(spec.amount):
            return None
        return add_months(anchor, sign * int(spec.amount))
    delta = timedelta(hours=spec.amount) if spec.unit == "hours" else timedelta(days=spec.amount)
    signed = sign * delta
    if len(_SIGNED) >= 1024:
        _SIGNED.clear()
    _SIGNED[id(spec)] = (spec, signed)
    return anchor + signed


_SIGNED: dict[int, tuple[PeriodSpec, timedelta]] = {}
"""The signed span of each period entry in hours or days (``period_due`` is asked once
per activity and entry). Keyed by the spec's id, checked by identity: the entry holds the
spec (frozen), so the id is not reused while the entry lives."""


def annual_due(
    spec: AnnualDateSpec, year: int, reading: str | None = END_OF_DAY
) -> datetime | None:
    """The due instant for the year concerned under the pack's date-limit reading (by
    default the end of the day: csbm.rules.deadlines); None if unknown."""
    return date_limit_due(spec, year, reading)


def quota_remaining(spec: QuotaSpec, used: int) -> int | None:
    if spec.count is None:
        return None
    return max(spec.count - used, 0)


def within_maximum(spec: MaximumSpec, n: int) -> bool | None:
    if spec.count is None:
        return None
    return n <= spec.count


def unit_quota(spec: UnitQuotaSpec, units: int) -> int | None:
    """One per ``units_per_visit`` units or part thereof, capped at ``max`` (¶107)."""
    if spec.units_per_visit is None or spec.max is None:
        return None
    return min(math.ceil(units / spec.units_per_visit), spec.max)


def share_cap(spec: ShareSpec, quota: int) -> int | None:
    """At most ``fraction`` of ``quota`` from one State; ``small_quota_cap`` below a size."""
    if spec.fraction is None or spec.small_quota_below is None or spec.small_quota_cap is None:
        return None
    if quota < spec.small_quota_below:
        return spec.small_quota_cap
    return max(math.floor(quota * spec.fraction + 1e-9), spec.small_quota_cap)


def above_limit_criteria(spec: LimitSpec, forces: Forces) -> bool | None:
    met, _ = criteria_met(spec.criteria, spec.comparison, forces)
    return met


def describe(spec: Any) -> str:
    """A short human statement of a spec's numbers (for tables and messages)."""
    kind = getattr(spec, "type", "")
    if isinstance(spec, ThresholdSpec | LimitSpec):
        parts = [
            f"{name.replace('_', ' ')} {spec.comparison} {'?' if v is None else f'{v:,}'}"
            for name, v in spec.criteria.items()
        ]
        text = " or ".join(parts)
        if isinstance(spec, LimitSpec):
            count = "?" if spec.max_count is None else spec.max_count
            window = {
                "calendar_year": "per calendar year",
                "three_calendar_years": "within three calendar years",
                "concurrent": "at the same time",
            }[spec.window]
            text = f"at most {count} with {text} {window}"
        return text
    if isinstance(spec, PeriodSpec):
        amount = "?" if spec.amount is None else f"{spec.amount:g}"
        return f"{amount} {spec.unit} {spec.direction} {spec.anchor.replace('_', ' ')}"
    if isinstance(spec, AnnualDateSpec):
        when = (
            "?"
            if spec.month is None or spec.day is None
            else f"{spec.day} {calendar.month_abbr[spec.month]}"
        )
        return f"by {when} (year {spec.year_offset:+d})"
    if isinstance(spec, DurationSpec):
        return f"lasting {spec.comparison} {spec.hours if spec.hours is not None else '?'} hours"
    if isinstance(spec, QuotaSpec):
        per = "at any given time" if spec.per == "at_any_given_time" else "per calendar year"
        return f"{_n(spec.count)} {per} ({spec.scope.replace('_', ' ')})"
    if isinstance(spec, MaximumSpec):
        return f"at most {_n(spec.count)} {spec.of}"
    if isinstance(spec, UnitQuotaSpec):
        return (
            f"1 per {_n(spec.units_per_visit)} units or part thereof, at most {_n(spec.max)}"
        )
    if isinstance(spec, ShareSpec):
        fraction = "?" if spec.fraction is None else f"{spec.fraction:g}"
        return (
            f"at most {fraction} of the quota from one State "
            f"({_n(spec.small_quota_cap)} if the quota is below {_n(spec.small_quota_below)})"
        )
    standing = getattr(spec, "text", None)
    return str(standing) if standing else str(kind)


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
