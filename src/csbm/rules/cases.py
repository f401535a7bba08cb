"""Running a pack entry's own test cases through the engine's arithmetic.

Every entry with a number carries cases (``given`` and ``expect``); ``check_pack`` runs
them all, so a corrected or completed pack is validated by the same suite
(``csbm rules check PACK``). A case whose expectation disagrees with the entry is a
problem naming the entry, the case and both answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from csbm.domain.activity import Activity, Forces, Organisation
from csbm.domain.time import InstantError, iso, parse_instant
from csbm.errors import Problem
from csbm.rules.constraints import constraining_provisions
from csbm.rules.deadlines import date_limit_reading
from csbm.rules.evaluate import (
    annual_due,
    duration_exceeds,
    period_due,
    quota_remaining,
    share_cap,
    threshold_met,
    unit_quota,
    within_maximum,
)
from csbm.rules.pack import (
    AnnualDateSpec,
    Case,
    DurationSpec,
    LimitSpec,
    MaximumSpec,
    PeriodSpec,
    QuotaSpec,
    Rule,
    RulePack,
    ShareSpec,
    StandingSpec,
    ThresholdSpec,
    UnitQuotaSpec,
)

UNKNOWN = "unknown"


def _instant_text(value: datetime | None) -> str:
    return UNKNOWN if value is None else iso(value)


def _normal_expect(rule: Rule, expect: Any) -> Any:
    if isinstance(rule.spec, PeriodSpec | AnnualDateSpec) and expect not in (UNKNOWN, None):
        return iso(parse_instant(expect).at)
    return expect


def answer(rule: Rule, case: Case, pack: RulePack | None = None) -> Any:
    """What the engine answers for ``case`` of ``rule``: bool, int, ISO instant or 'unknown'."""
    spec, given = rule.spec, case.given
    result: Any
    if isinstance(spec, ThresholdSpec):
        organisation = given.get("organisation")
        reading = str((pack.option("divisional_condition") if pack else None) or "equipment_only")
        met, _ = threshold_met(
            spec,
            Forces(**given.get("forces", {})),
            Organisation(organisation) if organisation else None,
            reading,
        )
        result = met
    elif isinstance(spec, DurationSpec):
        result = duration_exceeds(spec, float(given["hours"]))
    elif isinstance(spec, PeriodSpec):
        return _instant_text(period_due(spec, parse_instant(given["anchor"]).at))
    elif isinstance(spec, AnnualDateSpec):
        return _instant_text(annual_due(spec, int(given["year"]), date_limit_reading(pack)))
    elif isinstance(spec, QuotaSpec):
        result = quota_remaining(spec, int(given["used"]))
    elif isinstance(spec, MaximumSpec):
        result = within_maximum(spec, int(given["n"]))
    elif isinstance(spec, UnitQuotaSpec):
        result = unit_quota(spec, int(given["units"]))
    elif isinstance(spec, ShareSpec):
        result = share_cap(spec, int(given["quota"]))
    elif isinstance(spec, LimitSpec):
        result = _limit_broken(rule, given, pack)
    else:
        raise ValueError("a standing entry has no cases")
    return UNKNOWN if result is None else result


def _limit_broken(rule: Rule, given: dict[str, Any], pack: RulePack | None) -> bool | None:
    activities = []
    for i, raw in enumerate(given.get("activities", [])):
        start = parse_instant(raw["start"]).at
        end = parse_instant(raw["end"]).at if "end" in raw else start
        forces = {k: v for k, v in raw.items() if k not in ("start", "end", "state")}
        activities.append(
            Activity(
                name=f"case activity {i}",
                conducting_states=(raw.get("state", "XX") if "state" in raw else "RU",),
                host_state=raw.get("state", "RU"),
                start=start,
                end=end,
                forces=Forces(**forces),
            )
        )
    holder = pack or RulePack(id="case", title="case", version="0", rules=(rule,))
    if pack is not None and pack.get(rule.id) is None:
        holder = pack.model_copy(update={"rules": (*pack.rules, rule)})
    results = [r for r in constraining_provisions(holder, activities) if r.rule == rule.id]
    if any(r.status == "unknown" for r in results):
        return None
    return any(r.status == "broken" for r in results)


def check_rule(rule: Rule, pack: RulePack | None = None) -> list[Problem]:
    """Problems with ``rule``'s cases: a missing case, a bad input, a wrong expectation."""
    problems: list[Problem] = []
    where = f"{rule.id}"
    if isinstance(rule.spec, StandingSpec):
        if rule.cases:
            problems.append(Problem(f"{where}.cases", "a standing entry has no number to test"))
        return problems
    if not rule.cases:
        problems.append(Problem(f"{where}.cases", "every entry with a number needs test cases"))
        return problems
    for i, case in enumerate(rule.cases):
        label = f"{where}.cases[{i}]" + (f" ({case.name})" if case.name else "")
        try:
            got = answer(rule, case, pack)
            want = _normal_expect(rule, case.expect)
        except (KeyError, TypeError, ValueError, InstantError, ValidationError) as exc:
            problems.append(Problem(label, f"case cannot be run: {exc}"))
            continue
        if got != want:
            problems.append(Problem(label, f"expected {want!r}, the engine answers {got!r}"))
    return problems


def check_pack(pack: RulePack) -> list[Problem]:
    """Run every entry's cases; an empty list means the pack agrees with its own cases."""
    problems: list[Problem] = []
    for rule in pack.rules:
        problems.extend(check_rule(rule, pack))
    return problems


__all__ = ["UNKNOWN", "answer", "check_pack", "check_rule"]
_ = UTC
