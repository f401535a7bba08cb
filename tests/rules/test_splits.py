"""Possible splits: the same findings as the plain search (tests/rules/_splits_reference.py),
on crafted sets with ties, repeats, joint activities and unknown figures; and no blow-up
beyond the size of what is reported when many activities overlap."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bench.bench_assess import overlapping

from csbm.domain.activity import Activity
from csbm.rules import assess
from csbm.rules.engine import Regime
from csbm.rules.obligations import test_thresholds as threshold_test
from csbm.rules.splits import possible_splits
from tests.rules import _splits_reference as reference
from tests.rules._helpers import vd2011

_STATES = ["PL", "DE", "LT", "BY", "RU"]


def _crafted(n: int, seed: int, days: int = 120) -> list[Activity]:
    rng = random.Random(seed)
    origin = datetime(2021, 5, 1, tzinfo=UTC)
    out: list[Activity] = []
    for _ in range(n):
        host = rng.choice(_STATES)
        states = [host] if rng.random() < 0.7 else [host, *rng.sample(_STATES, 2)]
        start = origin + timedelta(hours=rng.randrange(days * 24))  # many equal starts
        troops = rng.randrange(100, 5000) if rng.random() < 0.95 else rng.randrange(9000, 20000)
        forces: dict[str, Any] = {"troops": troops, "battle_tanks": troops // 50}
        if rng.random() < 0.97:  # else unknown: then the activity is not below alone
            forces["acv"] = troops // rng.randrange(12, 40)
        forces["artillery"] = 0 if rng.random() < 0.5 else troops // 100
        if rng.random() < 0.1:
            forces["airborne_troops"] = rng.randrange(0, 2000)
        fields: dict[str, Any] = {
            "name": f"A{rng.randrange(n // 2 + 1)}",  # repeated names
            "conducting_states": list(dict.fromkeys(states)),
            "host_state": host,
            "kind": rng.choice(["exercise", "exercise", "alert_activity", "transfer"]),
            "start": start,
            "forces": forces,
        }
        if rng.random() < 0.9:
            fields["end"] = start + timedelta(hours=rng.randrange(0, 24 * 6))
        if rng.random() < 0.1:
            fields["organisation"] = "below_two_brigades"
        out.append(Activity.model_validate(fields))
    for twin in rng.sample(out, n // 10):  # another with the same start and name
        end = twin.start + timedelta(hours=rng.randrange(0, 24 * 6))
        out.append(twin.model_copy(update={"end": end, "conducting_states": ("PL", "DE")}))
    out.extend(rng.sample(out, n // 20))  # the same activity twice in the list
    return out


@pytest.mark.parametrize(("seed", "adjacency"), [(1, 2.0), (2, 0.0), (3, 5.0), (4, 2.0)])
def test_the_same_findings_as_the_plain_search(seed: int, adjacency: float) -> None:
    activities = _crafted(400, seed)
    compiled = Regime([vd2011()]).compiled["vd2011"]
    expected = reference.possible_splits(compiled, activities, adjacency)
    assert len(expected) > 5  # the set is crafted to have some
    assert possible_splits(compiled, activities, adjacency) == expected
    free = {
        m: [threshold_test(compiled, m, a).met is False for a in activities]
        for m in ("prior_notification", "observation_invitation")
    }
    assert possible_splits(compiled, activities, adjacency, free=free) == expected


def test_ties_keep_the_order_of_the_plain_search() -> None:
    """Two activities with the same start and name in one joint window: the first of the
    group (whose kind and organisation the sum is tested by) is the plain search's."""
    small = {"troops": 3000, "battle_tanks": 100, "acv": 100, "artillery": 10}

    def one(states: list[str], start: str, end: str, **more: Any) -> Activity:
        fields = {"name": "T", "conducting_states": states, "host_state": states[0],
                  "start": start, "end": end, "forces": small, **more}  # fmt: skip
        return Activity.model_validate(fields)

    x = one(["PL"], "2021-05-01T00:00:00Z", "2021-05-02T00:00:00Z")
    x_below = one(["PL"], "2021-05-01T00:00:00Z", "2021-05-03T00:00:00Z",
                  organisation="below_two_brigades")  # fmt: skip
    joint = one(["PL", "DE"], "2021-05-01T12:00:00Z", "2021-05-01T18:00:00Z", name="J")
    other = one(["DE"], "2021-05-01T13:00:00Z", "2021-05-01T14:00:00Z", name="Y")
    compiled = Regime([vd2011()]).compiled["vd2011"]
    for activities in ([x, x_below, joint, other], [x_below, x, joint, other]):
        expected = reference.possible_splits(compiled, activities, 0.0)
        assert possible_splits(compiled, activities, 0.0) == expected


def test_a_lone_activity_and_none_give_nothing() -> None:
    compiled = Regime([vd2011()]).compiled["vd2011"]
    assert possible_splits(compiled, [], 2.0) == []
    assert possible_splits(compiled, _crafted(1, 5)[:1], 2.0) == []


def _dense(n: int) -> list[Activity]:
    """n small activities of one State in one week, a tenth of them joint with another (the
    benchmark's worst case of the search, :func:`bench.bench_assess.overlapping`)."""
    return [Activity.model_validate(raw) for raw in overlapping(n)]


def test_many_overlaps_the_same_findings_as_the_plain_search() -> None:
    # large windows: sorted by the ranks of (start, name) once many have been sorted
    activities = _dense(600)
    compiled = Regime([vd2011()]).compiled["vd2011"]
    expected = reference.possible_splits(compiled, activities, 2.0)
    assert sum(len(f.activities) for f in expected) > 10 * len(activities)
    assert possible_splits(compiled, activities, 2.0) == expected


def test_many_overlaps_cost_what_is_reported() -> None:
    """2,000 activities of one State in one week: ~200 joint windows of ~1,000 members each,
    every one reported with its members (the report is that large); the search costs a
    small multiple of the report's size, not more (well under a second of CPU here; the
    bound is loose for shared machines)."""
    activities = _dense(2000)
    started = time.process_time()
    result = assess(activities, [vd2011()], datetime(2026, 1, 1, tzinfo=UTC))
    spent = time.process_time() - started
    listed = sum(len(f.activities) for f in result.findings)
    assert listed > 200_000
    assert spent < 10.0, f"{spent:.1f} s CPU for {listed:,} members reported"


def test_groups_of_one_hash_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """The groups checked are remembered by hash; two of the same hash are compared."""
    from csbm.rules import splits

    activities = _crafted(400, 2)
    compiled = Regime([vd2011()]).compiled["vd2011"]
    expected = reference.possible_splits(compiled, activities, 0.0)
    monkeypatch.setattr(splits, "hash", lambda _: 0, raising=False)
    assert possible_splits(compiled, activities, 0.0) == expected
