"""Passive quotas of Chapter IX: inspections (¶~76–78) and evaluation visits (¶107–108).

Sources: digest §11.1 IX-I3..I5 (three inspections per receiving State and calendar year,
one from the same inspecting State, force majeure not counted), §11.2 IX-E3..E7 (one
evaluation visit per 60 reported units or part thereof, at most 15; at most a fifth from
one State, one if the quota is below five; a unit twice a year, once by the same State;
one visit at a time; announced to all when filled), §12 X-2 (bilateral quotas, kept apart
per pair of States) and §15.7 (quotas reset with the calendar year).

Pure functions: every number comes from a rule pack through ``csbm.rules.evaluate``; a
null number is "unknown", never a guess. The procedure modules turn messages into
:class:`QuotaRequest` values; :func:`decide` settles, in time order, whether each request
falls within the quotas; :func:`tallies` shows, for every receiving State and year, the
quota, what is used, what remains, by whom, and what was not counted.

Counting reading (documented in docs/procedures-verification.md): a request within the
quota counts from the moment it is made (a pending request holds its place, so two
requests cannot both take the last one); a force-majeure refusal or cancellation
(INSP_FORCE_MAJEURE) releases it from then on; a request over the quota is not counted.
The calendar year is the UTC year of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from csbm.domain.time import iso
from csbm.i18n import N_, phrase
from csbm.procedures.base import QuotaView, join_notes
from csbm.rules.evaluate import quota_remaining, share_cap, unit_quota
from csbm.rules.pack import MaximumSpec, QuotaSpec, RulePack, ShareSpec, UnitQuotaSpec

Measure = Literal["inspection", "evaluation"]
Verdict = Literal["within", "over_quota", "concurrent", "unknown"]

_VERDICT_WORDS: dict[str, str] = {
    "within": N_("within"),
    "over_quota": N_("over quota"),
    "concurrent": N_("concurrent"),
    "unknown": N_("unknown"),
}


_MEASURE_WORDS = (N_("inspection"), N_("evaluation"))
"""The measures as message ids (the quota reasons name them)."""


def verdict_word(verdict: str) -> str:
    """A verdict as words and a message id (``over_quota`` -> ``over quota``)."""
    return _VERDICT_WORDS.get(verdict, verdict.replace("_", " "))


# Rule ids (the pack's stable keys; their numbers live in the pack).
INSP_QUOTA = "INSP_QUOTA"
INSP_PER_STATE = "INSP_PER_STATE"
INSP_FORCE_MAJEURE = "INSP_FORCE_MAJEURE"
EVAL_QUOTA = "EVAL_QUOTA"
EVAL_PER_STATE = "EVAL_PER_STATE"
EVAL_PER_UNIT = "EVAL_PER_UNIT"
EVAL_PER_UNIT_SAME_STATE = "EVAL_PER_UNIT_SAME_STATE"
EVAL_CONCURRENT = "EVAL_CONCURRENT"
EVAL_QUOTA_FILLED = "EVAL_QUOTA_FILLED"
BILAT_INSP_QUOTA = "BILAT_INSP_QUOTA"
BILAT_EVAL_QUOTA = "BILAT_EVAL_QUOTA"

_BILATERAL_RULE: dict[Measure, str] = {
    "inspection": BILAT_INSP_QUOTA,
    "evaluation": BILAT_EVAL_QUOTA,
}


@dataclass(frozen=True)
class Limit:
    """One quota number and the rule it comes from; ``count`` None = unknown."""

    rule: str
    paragraph: str | None
    count: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "paragraph": self.paragraph, "count": self.count}


@dataclass(frozen=True)
class QuotaLimits:
    """The quota numbers for one regime, measure and receiving State (and its units)."""

    regime: str
    measure: Measure
    quota: Limit
    per_state: Limit | None = None
    per_unit: Limit | None = None
    per_unit_same_state: Limit | None = None
    concurrent: Limit | None = None
    units: int | None = None
    force_majeure_rule: str | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        limits = (self.quota, self.per_state, self.per_unit, self.per_unit_same_state,
                  self.concurrent)
        out = [lim.rule for lim in limits if lim is not None]
        if self.force_majeure_rule:
            out.append(self.force_majeure_rule)
        return tuple(out)


@dataclass(frozen=True)
class QuotaRequest:
    """A request as the quotas see it.

    ``released_at``: from this instant the request no longer counts (force majeure).
    ``closed_at``: from this instant it no longer occupies its visit window (refused,
    cancelled, or visit over) — for the one-at-a-time rule.
    """

    case: str
    measure: Measure
    receiving: str
    requesting: str
    at: datetime
    regime: str = "vd2011"
    unit: str | None = None
    visit_start: datetime | None = None
    visit_end: datetime | None = None
    released_at: datetime | None = None
    released_reason: str | None = None
    closed_at: datetime | None = None

    @property
    def year(self) -> int:
        return self.at.astimezone(UTC).year

    @property
    def key(self) -> QuotaKey:
        return QuotaKey(self.regime, self.measure, self.receiving, self.year)

    def counted_at(self, at: datetime) -> bool:
        """Still held against the quota at ``at`` (not released by then)."""
        return self.released_at is None or self.released_at > at

    def occupies(self, start: datetime, end: datetime, at: datetime) -> bool:
        """Its visit window overlaps [start, end) and it is still live at ``at``."""
        if self.visit_start is None or self.visit_end is None:
            return False
        if not self.counted_at(at) or (self.closed_at is not None and self.closed_at <= at):
            return False
        return self.visit_start < end and start < self.visit_end


@dataclass(frozen=True, order=True)
class QuotaKey:
    regime: str
    measure: str
    receiving: str
    year: int


@dataclass(frozen=True)
class QuotaDecision:
    """Whether one request fell within the quotas when it was made."""

    case: str
    verdict: Verdict
    rule: str | None
    paragraph: str | None
    reason: str
    quota: int | None = None
    used_before: int = 0

    @property
    def counts(self) -> bool:
        """Whether the request is held against the quota (within, or quota unknown)."""
        return self.verdict in ("within", "unknown")

    @property
    def not_obliged(self) -> bool:
        """The receiving State need not accept it: its reply deadline is waived."""
        return self.verdict in ("over_quota", "concurrent")


# ----------------------------------------------------------------------------- limits


def _limit(pack: RulePack, rule_id: str, value: int | None) -> Limit:
    rule = pack.get(rule_id)
    return Limit(rule_id, None if rule is None else rule.citation, value)


def _quota_count(pack: RulePack, rule_id: str) -> int | None:
    """The count of a ``quota`` (or ``maximum``) entry; None if absent or null."""
    rule = pack.get(rule_id)
    if rule is None:
        return None
    spec = rule.spec
    if isinstance(spec, QuotaSpec):
        return quota_remaining(spec, 0)
    if isinstance(spec, MaximumSpec):
        return spec.count
    return None


def inspection_limits(pack: RulePack) -> QuotaLimits:
    """INSP_QUOTA and INSP_PER_STATE of a multilateral pack (vd2011)."""
    return QuotaLimits(
        regime=pack.id,
        measure="inspection",
        quota=_limit(pack, INSP_QUOTA, _quota_count(pack, INSP_QUOTA)),
        per_state=_limit(pack, INSP_PER_STATE, _quota_count(pack, INSP_PER_STATE)),
        force_majeure_rule=INSP_FORCE_MAJEURE if pack.get(INSP_FORCE_MAJEURE) else None,
    )


def evaluation_quota(pack: RulePack, units: int | None) -> int | None:
    """EVAL_QUOTA: one per ``units_per_visit`` units or part thereof, at most ``max``."""
    rule = pack.get(EVAL_QUOTA)
    if units is None or rule is None or not isinstance(rule.spec, UnitQuotaSpec):
        return None
    return unit_quota(rule.spec, units)


def evaluation_share_cap(pack: RulePack, quota: int | None) -> int | None:
    """EVAL_PER_STATE: at most a fifth of ``quota`` from one State (one below five)."""
    rule = pack.get(EVAL_PER_STATE)
    if quota is None or rule is None or not isinstance(rule.spec, ShareSpec):
        return None
    return share_cap(rule.spec, quota)


def evaluation_limits(pack: RulePack, units: int | None) -> QuotaLimits:
    """The evaluation limits of a receiving State that reported ``units`` (None: unknown)."""
    quota = evaluation_quota(pack, units)
    return QuotaLimits(
        regime=pack.id,
        measure="evaluation",
        quota=_limit(pack, EVAL_QUOTA, quota),
        per_state=_limit(pack, EVAL_PER_STATE, evaluation_share_cap(pack, quota)),
        per_unit=_limit(pack, EVAL_PER_UNIT, _quota_count(pack, EVAL_PER_UNIT)),
        per_unit_same_state=_limit(
            pack, EVAL_PER_UNIT_SAME_STATE, _quota_count(pack, EVAL_PER_UNIT_SAME_STATE)
        ),
        concurrent=_limit(pack, EVAL_CONCURRENT, _quota_count(pack, EVAL_CONCURRENT)),
        units=units,
    )


def bilateral_limits(pack: RulePack, measure: Measure) -> QuotaLimits:
    """A bilateral pack's own quota (BILAT_INSP_QUOTA / BILAT_EVAL_QUOTA), outside VD's.

    Counted per receiving State and year, from the other party (digest §12: a separate
    quota per pair of States). An absent or null entry is "unknown".
    """
    rule_id = _BILATERAL_RULE[measure]
    return QuotaLimits(
        regime=pack.id,
        measure=measure,
        quota=_limit(pack, rule_id, _quota_count(pack, rule_id)),
    )


def has_bilateral_quota(pack: RulePack, measure: Measure) -> bool:
    return pack.kind == "bilateral" and pack.get(_BILATERAL_RULE[measure]) is not None


def memoised(
    limits_for: Callable[[QuotaRequest | QuotaKey], QuotaLimits],
) -> Callable[[QuotaRequest | QuotaKey], QuotaLimits]:
    """``limits_for`` computed once per quota key (regime, measure, receiving State, year)."""
    seen: dict[QuotaKey, QuotaLimits] = {}

    def cached(item: QuotaRequest | QuotaKey) -> QuotaLimits:
        key = item.key if isinstance(item, QuotaRequest) else item
        limits = seen.get(key)
        if limits is None:
            limits = seen[key] = limits_for(key)
        return limits

    return cached


# ----------------------------------------------------------------------------- decide


def _exceeded(limit: Limit | None, used: int) -> bool | None:
    if limit is None:
        return False
    if limit.count is None:
        return None
    return used >= limit.count


def decide(
    requests: Iterable[QuotaRequest],
    limits_for: Callable[[QuotaRequest], QuotaLimits],
) -> dict[str, QuotaDecision]:
    """Settle every request against the quotas, in time order (ties: by case label).

    A request is judged by what was held against the quota at its own instant: earlier
    requests that counted and were not released (force majeure) by then.
    """
    ordered = sorted(requests, key=lambda r: (r.at, r.case))
    decisions: dict[str, QuotaDecision] = {}
    held: dict[QuotaKey, list[QuotaRequest]] = {}
    live: dict[str, list[QuotaRequest]] = {}  # per receiving State: for EVAL_CONCURRENT
    for req in ordered:
        limits = limits_for(req)
        before = [r for r in held.get(req.key, []) if r.counted_at(req.at)]
        decision = _judge(req, limits, before, live.get(req.receiving, []))
        decisions[req.case] = decision
        if decision.counts:
            held.setdefault(req.key, []).append(req)
            if req.measure == "evaluation":
                live.setdefault(req.receiving, []).append(req)
    return decisions


def _judge(
    req: QuotaRequest,
    limits: QuotaLimits,
    before: Sequence[QuotaRequest],
    live: Sequence[QuotaRequest],
) -> QuotaDecision:
    used = len(before)
    unknown: list[str] = []

    def decision(verdict: Verdict, limit: Limit, reason: str) -> QuotaDecision:
        return QuotaDecision(req.case, verdict, limit.rule, limit.paragraph, reason,
                             quota=limits.quota.count, used_before=used)

    checks: list[tuple[Limit | None, int, str]] = [
        (limits.quota, used,
         phrase(N_("{state}'s {measure!t} quota for {year} is used up ({used} of {limit})"),
                state=req.receiving, measure=limits.measure, year=req.year, used=used,
                limit=limits.quota.count)),
    ]
    if limits.per_state is not None:
        same = sum(1 for r in before if r.requesting == req.requesting)
        checks.append((limits.per_state, same,
                       phrase(N_("{state} has already accepted {same} from {requesting} in "
                                 "{year} (at most {limit})"), state=req.receiving, same=same,
                              requesting=req.requesting, year=req.year,
                              limit=limits.per_state.count)))
    if req.unit is not None:
        unit = [r for r in before if r.unit == req.unit]
        if limits.per_unit is not None:
            checks.append((limits.per_unit, len(unit),
                           phrase(N_("unit {unit!r} already visited {n} times in {year} (at "
                                     "most {limit})"), unit=req.unit, n=len(unit),
                                  year=req.year, limit=limits.per_unit.count)))
        if limits.per_unit_same_state is not None:
            same_unit = sum(1 for r in unit if r.requesting == req.requesting)
            checks.append((limits.per_unit_same_state, same_unit,
                           phrase(N_("unit {unit!r} already visited by {requesting} in "
                                     "{year} (at most {limit})"), unit=req.unit,
                                  requesting=req.requesting, year=req.year,
                                  limit=limits.per_unit_same_state.count)))
    for limit, count, reason in checks:
        hit = _exceeded(limit, count)
        if hit is None and limit is not None:
            unknown.append(limit.rule)
        elif hit and limit is not None:
            return decision("over_quota", limit, reason)
    if (limits.concurrent is not None and req.visit_start is not None
            and req.visit_end is not None):
        overlapping = [
            r.case for r in live if r.occupies(req.visit_start, req.visit_end, req.at)
        ]
        hit = _exceeded(limits.concurrent, len(overlapping))
        if hit is None:
            unknown.append(limits.concurrent.rule)
        elif hit:
            return decision(
                "concurrent", limits.concurrent,
                phrase(N_("{state} already has a visit at that time ({cases}; at most "
                          "{limit} at a time)"), state=req.receiving,
                       cases=", ".join(overlapping), limit=limits.concurrent.count),
            )
    if unknown:
        return decision(
            "unknown", limits.quota,
            phrase(N_("not known whether within the quota: {rules} has no number"),
                   rules=", ".join(unknown)),
        )
    return decision(
        "within", limits.quota,
        phrase(N_("within {state}'s {measure!t} quota for {year} ({used} of {limit})"),
               state=req.receiving, measure=limits.measure, year=req.year, used=used + 1,
               limit=limits.quota.count),
    )


# ----------------------------------------------------------------------------- views


@dataclass(frozen=True)
class Tally:
    """One receiving State's quota for one regime, measure and year, as used at an instant."""

    key: QuotaKey
    limits: QuotaLimits
    used: int
    by_state: Mapping[str, int]
    counted: tuple[str, ...]
    not_counted: tuple[dict[str, Any], ...]
    over_quota: tuple[dict[str, Any], ...]
    filled_at: datetime | None = None
    announced_at: datetime | None = None

    @property
    def quota(self) -> int | None:
        return self.limits.quota.count

    @property
    def remaining(self) -> int | None:
        return None if self.quota is None else max(self.quota - self.used, 0)

    @property
    def filled(self) -> bool:
        return self.quota is not None and self.used >= self.quota

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "measure": self.key.measure,
            "by_state": dict(sorted(self.by_state.items())),
            "counted": list(self.counted),
            "not_counted": list(self.not_counted),
            "over_quota": list(self.over_quota),
            "rules": list(self.limits.rules),
        }
        if self.limits.per_state is not None:
            out["per_state_cap"] = self.limits.per_state.count
        if self.key.measure == "evaluation":
            out["units"] = self.limits.units
            out["filled"] = self.filled
            out["filled_at"] = None if self.filled_at is None else iso(self.filled_at)
            out["announced_at"] = None if self.announced_at is None else iso(self.announced_at)
        return out

    def views(self) -> list[QuotaView]:
        """The overall quota, then one view per requesting State against the per-State cap."""
        lim = self.limits
        out = [QuotaView(
            rule=lim.quota.rule, paragraph=lim.quota.paragraph, pack=self.key.regime,
            state=self.key.receiving, year=self.key.year, limit=self.quota, used=self.used,
            remaining=self.remaining, note=self._note(), details=self.details(),
        )]
        cap = lim.per_state
        if cap is not None:
            for state, used in sorted(self.by_state.items()):
                out.append(QuotaView(
                    rule=cap.rule, paragraph=cap.paragraph, pack=self.key.regime,
                    state=self.key.receiving, year=self.key.year, limit=cap.count, used=used,
                    remaining=None if cap.count is None else max(cap.count - used, 0),
                    counterpart=state, details={"measure": self.key.measure},
                ))
        return out

    def _note(self) -> str | None:
        parts: list[str] = []
        if self.quota is None:
            if self.key.measure == "evaluation" and self.limits.units is None:
                parts.append(phrase(N_("units reported in the annual exchange not known: "
                                       "quota unknown")))
            else:
                parts.append(phrase(N_("{regime} gives no number for {rule}"),
                                    regime=self.key.regime, rule=self.limits.quota.rule))
        if self.not_counted:
            parts.append(phrase(N_("{n} not counted (force majeure)"), n=len(self.not_counted)))
        for verdict in ("over_quota", "concurrent"):
            n = sum(1 for o in self.over_quota if o["verdict"] == verdict)
            if n:
                parts.append(phrase(N_("{n} {verdict!t}"), n=n, verdict=verdict_word(verdict)))
        if self.key.measure == "evaluation" and self.filled:
            if self.announced_at is not None:
                parts.append(phrase(N_("filled; announced to all {date} ({rule})"),
                                    date=iso(self.announced_at), rule=EVAL_QUOTA_FILLED))
            else:
                parts.append(phrase(N_("filled: to be announced to all ({rule})"),
                                    rule=EVAL_QUOTA_FILLED))
        return join_notes(*parts)


def tallies(
    requests: Iterable[QuotaRequest],
    decisions: Mapping[str, QuotaDecision],
    limits_for_key: Callable[[QuotaKey], QuotaLimits],
    at: datetime,
    extra_keys: Iterable[QuotaKey] = (),
) -> list[Tally]:
    """Every quota touched by a request made by ``at`` (and ``extra_keys``), as of ``at``."""
    groups: dict[QuotaKey, list[QuotaRequest]] = {k: [] for k in extra_keys}
    for req in sorted(requests, key=lambda r: (r.at, r.case)):
        if req.at <= at and req.case in decisions:
            groups.setdefault(req.key, []).append(req)
    out: list[Tally] = []
    for key in sorted(groups):
        limits = limits_for_key(key)
        used = 0
        by_state: dict[str, int] = {}
        counted: list[str] = []
        not_counted: list[dict[str, Any]] = []
        over: list[dict[str, Any]] = []
        filled_at: datetime | None = None
        for req in groups[key]:
            decision = decisions[req.case]
            if not decision.counts:
                over.append({"case": req.case, "from": req.requesting, "rule": decision.rule,
                             "verdict": decision.verdict})
                continue
            if not req.counted_at(at):
                not_counted.append({
                    "case": req.case, "from": req.requesting,
                    "reason": req.released_reason or "released",
                    "rule": limits.force_majeure_rule,
                })
                continue
            used += 1
            counted.append(req.case)
            by_state[req.requesting] = by_state.get(req.requesting, 0) + 1
            if (filled_at is None and limits.quota.count is not None
                    and used >= limits.quota.count):
                filled_at = req.at
        out.append(Tally(
            key=key, limits=limits, used=used, by_state=by_state, counted=tuple(counted),
            not_counted=tuple(not_counted), over_quota=tuple(over), filled_at=filled_at,
        ))
    return out
