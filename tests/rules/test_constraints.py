"""The constraining provisions (Chapter VIII) across activities."""

from __future__ import annotations

from typing import Any

from csbm.rules import assess
from csbm.rules.model import ConstraintResult
from tests.rules._helpers import activity, at, vd2011, with_option

NOW = at("2030-01-01T00:00:00Z")


def _big(name: str, start: str, end: str | None = None, state: str = "RU", **forces: int) -> Any:
    return activity(
        name=name,
        start=start,
        end=end or start.replace("T00", "T12"),
        conducting_states=[state],
        host_state=state,
        forces=forces or {"troops": 14000},
    )


def _results(acts: list[Any], rule: str, pack: Any = None) -> list[ConstraintResult]:
    result = assess(acts, [pack or vd2011()], NOW)
    return [c for c in result.constraints if c.rule == rule]


def test_two_largest_activities_within_three_years_break_the_limit() -> None:
    acts = [
        _big("A", "2017-09-01T00:00:00Z", troops=45000),
        _big("B", "2019-12-31T00:00:00Z", troops=41000),
    ]
    broken = [c for c in _results(acts, "CONSTR_40K") if c.status == "broken"]
    assert (
        len(broken) == 1 and broken[0].activities == ("A", "B") and broken[0].window == "2017–2019"
    )
    result = assess(acts, [vd2011()], NOW)
    assert any(f.rule == "CONSTR_40K" and f.kind == "violation" for f in result.findings)


def test_rolling_window_moves_on_after_three_years() -> None:
    acts = [
        _big("A", "2017-09-01T00:00:00Z", troops=45000),
        _big("B", "2020-01-01T00:00:00Z", troops=41000),
    ]
    assert all(c.status == "within" for c in _results(acts, "CONSTR_40K"))


def test_fixed_windows_need_an_anchor_and_then_use_blocks() -> None:
    acts = [
        _big("A", "2019-09-01T00:00:00Z", troops=45000),
        _big("B", "2020-03-01T00:00:00Z", troops=41000),
    ]
    fixed = with_option(vd2011(), "constraint_window", "fixed")
    assert {c.status for c in _results(acts, "CONSTR_40K", fixed)} == {"unknown"}
    anchored = with_option(fixed, "constraint_window_anchor_year", 2018)
    assert {c.status for c in _results(acts, "CONSTR_40K", anchored)} == {"broken"}
    other_blocks = with_option(fixed, "constraint_window_anchor_year", 2017)
    assert {c.status for c in _results(acts, "CONSTR_40K", other_blocks)} == {"within"}


def test_seven_above_13000_in_a_year_break_the_six() -> None:
    acts = [_big(f"E{m}", f"2018-{m:02d}-05T00:00:00Z") for m in range(1, 8)]
    results = _results(acts, "CONSTR_13K_YEAR")
    assert [(c.state, c.window, c.count, c.status) for c in results] == [
        ("RU", "2018", 7, "broken")
    ]
    assert _results(acts[:6], "CONSTR_13K_YEAR")[0].status == "within"


def test_activities_above_40000_count_there_not_among_the_six() -> None:
    acts = [_big(f"E{m}", f"2018-{m:02d}-05T00:00:00Z") for m in range(1, 7)]
    acts.append(_big("Huge", "2018-09-05T00:00:00Z", troops=50000))
    assert _results(acts, "CONSTR_13K_YEAR")[0].count == 6


def test_exactly_13000_is_not_more_than_13000() -> None:
    acts = [_big(f"E{m}", f"2018-{m:02d}-05T00:00:00Z", troops=13000) for m in range(1, 9)]
    assert _results(acts, "CONSTR_13K_YEAR") == []


def test_four_above_25000_break_the_three() -> None:
    acts = [_big(f"E{m}", f"2018-{m:02d}-05T00:00:00Z", troops=26000) for m in (1, 3, 5, 7)]
    assert _results(acts, "CONSTR_25K_YEAR")[0].status == "broken"


def test_four_at_the_same_time_break_the_three() -> None:
    acts = [
        _big("A", "2018-05-01T00:00:00Z", "2018-05-10T00:00:00Z"),
        _big("B", "2018-05-05T00:00:00Z", "2018-05-12T00:00:00Z"),
        _big("C", "2018-05-08T00:00:00Z", "2018-05-20T00:00:00Z"),
        _big("D", "2018-05-09T00:00:00Z", "2018-05-09T12:00:00Z"),
    ]
    broken = [c for c in _results(acts, "CONSTR_SIMUL") if c.status == "broken"]
    assert len(broken) == 1 and set(broken[0].activities) == {"A", "B", "C", "D"}


def test_touching_activities_are_not_simultaneous() -> None:
    acts = [
        _big("A", "2018-05-01T00:00:00Z", "2018-05-10T00:00:00Z"),
        _big("B", "2018-05-05T00:00:00Z", "2018-05-12T00:00:00Z"),
        _big("C", "2018-05-08T00:00:00Z", "2018-05-20T00:00:00Z"),
        _big("D", "2018-05-12T00:00:00Z", "2018-05-25T00:00:00Z"),
    ]
    results = _results(acts, "CONSTR_SIMUL")
    assert [c.status for c in results] == ["within"] and results[0].count == 3


def test_limits_are_counted_per_state() -> None:
    acts = [_big(f"R{m}", f"2018-{m:02d}-05T00:00:00Z") for m in range(1, 5)]
    acts += [_big(f"B{m}", f"2018-{m:02d}-05T00:00:00Z", state="BY") for m in range(1, 5)]
    results = _results(acts, "CONSTR_13K_YEAR")
    assert {(c.state, c.count) for c in results} == {("RU", 4), ("BY", 4)}


def test_multinational_attribution_option() -> None:
    joint = [
        activity(
            name=f"J{m}",
            start=f"2018-{m:02d}-05T00:00:00Z",
            end=f"2018-{m:02d}-06T00:00:00Z",
            conducting_states=["RU", "BY"],
            host_state="BY",
            forces={"troops": 14000},
        )
        for m in range(1, 8)
    ]
    each = _results(joint, "CONSTR_13K_YEAR")
    assert {c.state for c in each} == {"RU", "BY"} and all(c.status == "broken" for c in each)
    host = with_option(vd2011(), "multinational_attribution", "host_state")
    assert {c.state for c in _results(joint, "CONSTR_13K_YEAR", host)} == {"BY"}


def _concurrent_plain(rule: Any, code: str, items: list[Any]) -> list[ConstraintResult]:
    """The sweep of constraints._concurrent as first written: each broken group's members
    as items, its day the latest start among them (max by start), a phrase each time."""
    from csbm.i18n import N_, phrase
    from csbm.rules.constraints import _result

    events: list[tuple[Any, int, int]] = []
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
        if rule.spec.max_count is not None and len(active) > rule.spec.max_count:
            key = frozenset(active)
            if key not in seen:
                seen.add(key)
                broken.append(list(active))
    if broken:
        return [_result(rule, code, phrase(N_("at the same time from {day}"), day=items[
            max(g, key=lambda i: items[i].start)].start.date().isoformat()),
            [items[i] for i in g]) for g in broken]
    return [_result(rule, code, phrase(N_("at the same time (peak)")), [items[i] for i in peak])]


def test_concurrent_groups_as_the_plain_sweep_gives_them() -> None:
    """constraints._concurrent (names gathered once, one phrase per day) gives the results
    of the plain sweep, on dense random windows with equal starts and ends."""
    import random
    from datetime import UTC, datetime, timedelta

    from csbm.i18n import phrase_json
    from csbm.rules.constraints import _concurrent, _Item
    from csbm.rules.pack import LimitSpec

    pack = vd2011()
    rules = [r for r in pack.rules
             if isinstance(r.spec, LimitSpec) and r.spec.window not in ("calendar_year",
                                                                        "three_calendar_years")]
    assert rules
    rng = random.Random(4)
    base = datetime(2021, 1, 1, tzinfo=UTC)
    for n in (0, 1, 3, 8, 40, 300):
        items = []
        for i in range(n):
            start = base + timedelta(days=rng.randrange(60), hours=rng.choice([0, 12]))
            items.append(_Item(f"a{i}", start, start + timedelta(days=rng.randrange(1, 15))))
        items.sort(key=lambda i: (i.start, i.end, i.name))
        for rule in rules:
            quick, plain = _concurrent(rule, "BY", items), _concurrent_plain(rule, "BY", items)
            assert quick == plain
            assert [phrase_json(r.window) for r in quick] == [phrase_json(r.window)
                                                                for r in plain]
