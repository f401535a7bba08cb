"""The engine's shortcuts say what the plain functions say: decisions made once per key
(applicability.Decisions), the near-threshold screen, the constraining provisions'
qualification, a pack's entries by id."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from csbm.domain.activity import FORCE_FIELDS, Activity, Forces
from csbm.rules import assess, assess_activity
from csbm.rules.applicability import Decisions, decide_packs
from csbm.rules.constraints import _candidates, _qualified, _qualifies
from csbm.rules.engine import Regime
from csbm.rules.findings import near_thresholds
from csbm.rules.loader import bundled_pack_ids, load_pack, parse_pack
from csbm.rules.obligations import (
    MEASURES_WITH_THRESHOLDS,
    gate_above,
    obligations_for,
)
from csbm.rules.obligations import (
    test_thresholds as threshold_test,
)
from csbm.rules.pack import LimitSpec, RulePack
from tests.rules._helpers import vd2011

ROOT = Path(__file__).resolve().parents[2]
PLACES = [[27.0, 51.51], [30.52, 50.45], [30.73, 46.48], [82.92, 55.03]]
"""20 km from the BY-UA border, Kyiv (~87 km), Odesa (~500 km), Novosibirsk (outside the
zone of application)"""


def _packs() -> list[RulePack]:
    packs = [load_pack(p) for p in bundled_pack_ids()]
    data = yaml.safe_load((ROOT / "src/csbm/regimes/by-ua-2001.yaml").read_text("utf-8"))
    data.update({"id": "by-ua-dated", "in_force": "2015-03-01", "terminated": "2022-02-24",
                 "signed": "2014-01-01"})  # fmt: skip
    packs.append(parse_pack(yaml.safe_dump(data), origin="test"))
    return packs


def _mixed(n: int, seed: int, areas: int = 0) -> list[Activity]:
    """n activities over 16 years by six States, the first ``areas`` with an area (the
    geography is slow to read: a few)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        host = rng.choice(["BY", "UA", "PL", "LT", "RU", "DE"])
        start = datetime(2009, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(16 * 365))
        fields: dict[str, Any] = {
            "name": f"m{i}",
            "conducting_states": [host],
            "host_state": host,
            "start": start,
            "end": start + timedelta(days=2),
            "forces": {"troops": rng.randrange(20000)},
        }
        if i < areas:  # the same start and host: only where they are differs
            where = PLACES[i % len(PLACES)]
            fields.update(host_state="UA", conducting_states=["UA"], start=datetime(
                2021, 6, 7, tzinfo=UTC), end=datetime(2021, 6, 9, tzinfo=UTC))  # fmt: skip
            fields["area"] = {"type": "Point", "coordinates": where}
        out.append(Activity.model_validate(fields))
    return out


@pytest.mark.parametrize("forced", [False, True])
def test_decisions_made_once_are_those_of_decide_packs(forced: bool) -> None:
    packs = _packs()
    decide = Decisions(packs, forced)
    activities = _mixed(300, 5, areas=8)
    activities += [a.model_copy(update={"area": None}) for a in activities[:4]]
    for activity in activities:
        assert list(decide(activity).decisions) == decide_packs(activity, packs, forced)


def test_the_regime_decides_as_decide_packs() -> None:
    packs = _packs()
    regime = Regime(packs)
    activity = _mixed(1, 2)[0]
    assert list(regime.decide(activity).decisions) == decide_packs(activity, regime.packs)


def _near_plain(
    regime: Regime, activity: Activity, margin: float
) -> list[tuple[str, str, int]]:
    """Every (rule, criterion, limit) a figure is near, by the module doc's words."""
    compiled = regime.compiled["vd2011"]
    out = []
    for measure in MEASURES_WITH_THRESHOLDS:
        test = threshold_test(compiled, measure, activity)
        if test.met:
            continue
        for rule in test.rules:
            for name, limit in rule.spec.criteria.items():  # type: ignore[union-attr]
                value = activity.forces.get(name)
                if not limit or value is None or value >= limit:
                    continue
                if limit - value <= limit * margin:
                    out.append((rule.id, name, limit))
    return out


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.25, 1.0, -0.1, math.inf, math.nan])
def test_near_thresholds_screen_misses_nothing(margin: float) -> None:
    regime = Regime([vd2011()])
    compiled = regime.compiled["vd2011"]
    rng = random.Random(9)
    limits = [250, 300, 500, 3000, 3500, 9000, 13000]
    for _ in range(3000):
        forces: dict[str, int] = {}
        for name in FORCE_FIELDS:
            if rng.random() < 0.7:
                limit = rng.choice(limits)
                forces[name] = max(0, limit - rng.randrange(-3, int(limit * 0.3) + 3))
        kind = rng.choice(["exercise", "alert_activity", "transfer"])
        activity = Activity.model_validate(
            {"name": "n", "conducting_states": ["RU"], "host_state": "RU", "kind": kind,
             "start": "2024-09-10T06:00:00Z", "forces": forces}
        )  # fmt: skip
        found = near_thresholds(compiled, activity, margin)
        assert [(f.rule, f.details["criterion"], f.details["threshold"]) for f in found] == (
            _near_plain(regime, activity, margin)
        )


def test_constraints_qualify_as_each_entry_says() -> None:
    pack = vd2011()
    limits = [r for r in pack.rules if isinstance(r.spec, LimitSpec)]
    assert any(isinstance(r.spec, LimitSpec) and r.spec.excluding for r in limits)
    rng = random.Random(4)
    activities = []
    for i in range(2000):
        forces = {n: rng.choice([None, rng.randrange(60000)]) for n in FORCE_FIELDS[:4]}
        activities.append(
            Activity.model_validate(
                {"name": f"c{i}", "conducting_states": ["RU"], "host_state": "RU",
                 "start": "2024-09-10T06:00:00Z", "forces": forces}
            )
        )  # fmt: skip
    candidates = _candidates(limits, activities)
    qualified = {id(a): q for a, _, q in _qualified(limits, pack, candidates)}
    for activity in candidates:
        expected = [_qualifies(rule, pack, activity) for rule in limits]
        assert qualified.get(id(activity), [False] * len(limits)) == expected


def test_obligations_skipped_only_when_there_are_none() -> None:
    """The engine does not ask obligations_for when no threshold is met nor unknown and
    the gate is not passed; obligations_for gives none then."""
    compiled = Regime([vd2011()]).compiled["vd2011"]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(1)
    for _ in range(500):
        forces = {n: rng.choice([None, 0, rng.randrange(20000)]) for n in FORCE_FIELDS}
        activity = Activity.model_validate(
            {"name": "o", "conducting_states": ["RU"], "host_state": "RU",
             "kind": rng.choice(["exercise", "alert_activity", "transfer", "concentration"]),
             "start": "2024-09-10T06:00:00Z", "forces": forces}
        )  # fmt: skip
        tests = {m: threshold_test(compiled, m, activity) for m in MEASURES_WITH_THRESHOLDS}
        quiet = not gate_above(compiled, activity.forces) and all(
            t.met is False or not t.rules for t in tests.values()
        )
        if quiet:
            assert obligations_for(compiled, activity, at, tests) == []
        result = assess_activity(Regime([vd2011()]), activity, at)
        assert list(result.obligations) == obligations_for(compiled, activity, at, tests)


def test_entries_by_id() -> None:
    pack = vd2011()
    assert all(pack.rule(r.id) is r for r in pack.rules)
    assert pack.get("NO_SUCH_ENTRY") is None
    with pytest.raises(KeyError):
        pack.rule("NO_SUCH_ENTRY")
    first = pack.rules[0]
    doubled = RulePack.model_construct(**{**dict(pack), "rules": (first, *pack.rules)})
    assert doubled.rule(first.id) is first


def test_gate_above_as_criteria_met() -> None:
    compiled = Regime([vd2011()]).compiled["vd2011"]
    from csbm.rules.evaluate import criteria_met

    gate = compiled.gate
    assert gate is not None
    rng = random.Random(3)
    for _ in range(500):
        forces = Forces(**{n: rng.choice([None, rng.randrange(50000)]) for n in FORCE_FIELDS})
        spec = gate.spec
        expected = criteria_met(spec.criteria, spec.comparison, forces)[0]  # type: ignore[union-attr]
        assert gate_above(compiled, forces) is expected


def test_assess_is_the_same_twice() -> None:
    """Shared decisions and phrases do not leak from one assessment into the next."""
    activities = _mixed(200, 7)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    packs = _packs()
    assert assess(activities, packs, at) == assess(activities, packs, at)


def test_shared_phrases_are_those_phrase_makes() -> None:
    from csbm.i18n import N_, phrase
    from csbm.rules.findings import shared_phrase

    template = N_("{criterion!t} {value:,}")
    for value in (1, 1.0, True, 0.0, -0.0, 12345):
        made = shared_phrase(template, criterion="troops", value=value)
        expected = phrase(template, criterion="troops", value=value)
        assert (str(made), made.params) == (str(expected), expected.params)
        assert type(made.params["value"]) is type(value)
    assert shared_phrase(template, criterion="troops", value=-0.0) != shared_phrase(
        template, criterion="troops", value=0.0
    )
    once = shared_phrase(template, criterion="acv", value=5)
    assert shared_phrase(template, criterion="acv", value=5) is once
    inner = phrase(N_("troops"))
    assert shared_phrase(template, criterion=inner, value=5) is not shared_phrase(
        template, criterion=inner, value=5
    )  # a phrase as a parameter: not shared (its text may read the same as another's)


def _plain_assess_one(regime: Regime, activity: Activity, at: datetime) -> tuple[Any, ...]:
    """The engine's per-activity step as the plain functions give it (the engine before
    its screens and shortcuts)."""
    from csbm.rules.applicability import decide_packs
    from csbm.rules.findings import gate_violation, inconsistencies, violations
    from csbm.rules.obligations import threshold_tests

    applications, not_applied, obligations, findings, all_tests = [], [], [], [], {}
    for decision in decide_packs(activity, regime.packs, regime.forced):
        if not decision.applies:
            not_applied.append(decision)
            continue
        applications.append(decision.application())
        compiled = regime.compiled[decision.pack.id]
        tests = threshold_tests(compiled, activity)
        all_tests[decision.pack.id] = tests
        obs = obligations_for(compiled, activity, at, tests)
        obligations.extend(obs)
        findings.extend(violations(decision.pack, obs, activity))
        findings.extend(gate_violation(compiled, activity))
        findings.extend(near_thresholds(compiled, activity, regime.margin, tests))
        findings.extend(inconsistencies(compiled, activity, obs, tests))
    return tuple(applications), tuple(not_applied), tuple(obligations), tuple(findings), all_tests


@pytest.mark.parametrize("margin", [0.1, 0.0, 0.3])
def test_the_quiet_screen_gives_what_the_plain_functions_give(margin: float) -> None:
    from csbm.rules.engine import _assess_one
    from tests.rules._helpers import with_option

    packs = [with_option(vd2011(), "near_threshold_margin", margin)]
    packs += [load_pack(p) for p in bundled_pack_ids() if p != "vd2011"]  # unknown numbers
    regime = Regime(packs, forced=True)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(11)
    edges = [0, 1, 249, 250, 251, 299, 300, 301, 499, 500, 501, 899, 900, 901, 1999, 2000,
             2001, 2699, 2700, 3000, 3149, 3150, 3500, 8099, 8100, 9000, 11699, 11700,
             13000, 39999, 40000, 40001]  # fmt: skip
    for i in range(3000):
        forces: dict[str, Any] = {}
        for name in FORCE_FIELDS:
            roll = rng.random()
            if roll < 0.15:
                continue
            forces[name] = rng.choice(edges) if roll < 0.6 else rng.randrange(0, 5000)
        fields: dict[str, Any] = {
            "name": f"q{i}", "conducting_states": ["BY"], "host_state": "BY",
            "kind": rng.choice(["exercise", "alert_activity", "transfer", "concentration"]),
            "start": "2024-09-10T06:00:00Z", "end": "2024-09-14T06:00:00Z", "forces": forces,
        }  # fmt: skip
        if rng.random() < 0.3:
            fields["organisation"] = rng.choice(["below_two_brigades", "divisional"])
        if rng.random() < 0.1:
            fields["declarations"] = [{"source": "press", "kind": rng.choice(
                ["declared", "observed"]), "forces": {"troops": rng.choice(edges)}}]  # fmt: skip
        activity = Activity.model_validate(fields)
        item, tests = _assess_one(regime, activity, at, ())
        plain = _plain_assess_one(regime, activity, at)
        got = (item.packs, item.not_applied, item.obligations, item.findings, tests)
        assert got == plain, activity.forces


def test_missed_violations_left_out_are_only_those_of_violations() -> None:
    """``assess(..., missed_violations=False)``: each activity's findings are those of the
    full assessment less what ``findings.violations`` says of its obligations; nothing
    else differs."""
    from csbm.rules.findings import violations

    packs = _packs()
    activities = [a.model_copy(update={"notified_at": a.start - timedelta(days=d % 60)})
                  for a, d in zip(_mixed(400, 11), range(400), strict=True)]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    full = assess(activities, packs, at)
    lean = assess(activities, packs, at, missed_violations=False)
    assert lean.constraints == full.constraints and lean.findings == full.findings
    dropped = 0
    for one, other in zip(full.activities, lean.activities, strict=True):
        assert one.obligations == other.obligations and one.packs == other.packs
        said: list[Any] = []
        for application in one.packs:
            obs = [ob for ob in one.obligations if ob.pack == application.pack.id]
            said.extend(violations(application.pack, obs, one.activity))
        expected = list(one.findings)
        for f in said:
            expected.remove(f)
        dropped += len(said)
        assert list(other.findings) == expected
    assert dropped > 50
