"""Passive quotas of Chapter IX (procedures._quota): numbers from the pack, decided in time
order, tallied per receiving State and calendar year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from csbm.procedures._quota import (
    QuotaKey,
    QuotaLimits,
    QuotaRequest,
    bilateral_limits,
    decide,
    evaluation_limits,
    evaluation_quota,
    evaluation_share_cap,
    has_bilateral_quota,
    inspection_limits,
    tallies,
)
from csbm.rules.loader import load_pack, parse_pack
from csbm.rules.pack import QuotaSpec, RulePack, UnitQuotaSpec

VD = load_pack("vd2011")


def t(day: int, hour: int = 9, month: int = 4, year: int = 2015) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def insp(case: str, frm: str, at: datetime, to: str = "RU", **kw: object) -> QuotaRequest:
    return QuotaRequest(case=case, measure="inspection", receiving=to, requesting=frm, at=at,
                        **kw)  # type: ignore[arg-type]


def evalreq(case: str, frm: str, at: datetime, unit: str, start: datetime,
            to: str = "BY", **kw: object) -> QuotaRequest:
    return QuotaRequest(case=case, measure="evaluation", receiving=to, requesting=frm, at=at,
                        unit=unit, visit_start=start, visit_end=start + timedelta(hours=12),
                        **kw)  # type: ignore[arg-type]


def vd_insp(_: QuotaRequest | QuotaKey) -> QuotaLimits:
    return inspection_limits(VD)


def vd_count(rule_id: str) -> int:
    spec = VD.rule(rule_id).spec
    assert isinstance(spec, QuotaSpec) and spec.count is not None
    return spec.count


def modified_pack(edit: dict[str, dict[str, object]]) -> RulePack:
    """vd2011 with some entries' spec fields replaced (e.g. a null count)."""
    from importlib import resources

    data = yaml.safe_load((resources.files("csbm.regimes") / "vd2011.yaml").read_text())
    for rule in data["rules"]:
        if rule["id"] in edit:
            rule["spec"].update(edit[rule["id"]])
    return parse_pack(yaml.safe_dump(data))


# ----------------------------------------------------------------------------- limits


def test_inspection_limits_come_from_the_pack() -> None:
    limits = inspection_limits(VD)
    assert limits.quota.rule == "INSP_QUOTA"
    assert limits.quota.count == vd_count("INSP_QUOTA") == 3  # digest IX-I3
    assert limits.per_state is not None
    assert limits.per_state.count == vd_count("INSP_PER_STATE") == 1  # digest IX-I4
    assert limits.quota.paragraph == VD.rule("INSP_QUOTA").citation
    assert "INSP_FORCE_MAJEURE" in limits.rules


def test_a_changed_pack_changes_the_quota_without_code() -> None:
    pack = modified_pack({"INSP_QUOTA": {"count": 5}})
    assert inspection_limits(pack).quota.count == 5


@pytest.mark.parametrize(
    ("units", "expected"),
    [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (120, 2), (121, 3), (899, 15), (900, 15),
     (901, 15), (5000, 15)],
)
def test_evaluation_quota_one_per_60_units_or_part_at_most_15(units: int, expected: int) -> None:
    assert evaluation_quota(VD, units) == expected


def test_evaluation_quota_formula_follows_the_pack() -> None:
    spec = VD.rule("EVAL_QUOTA").spec
    assert isinstance(spec, UnitQuotaSpec)
    assert spec.units_per_visit == 60 and spec.max == 15
    assert evaluation_quota(VD, None) is None


@pytest.mark.parametrize(
    ("quota", "cap"), [(0, 1), (1, 1), (4, 1), (5, 1), (7, 1), (10, 2), (14, 2), (15, 3)]
)
def test_evaluation_share_a_fifth_and_one_below_five(quota: int, cap: int) -> None:
    assert evaluation_share_cap(VD, quota) == cap


def test_evaluation_limits_unknown_without_units() -> None:
    limits = evaluation_limits(VD, None)
    assert limits.quota.count is None
    assert limits.per_state is not None and limits.per_state.count is None
    assert limits.per_unit is not None and limits.per_unit.count == 2
    assert limits.per_unit_same_state is not None and limits.per_unit_same_state.count == 1
    assert limits.concurrent is not None and limits.concurrent.count == 1


def test_null_quota_is_unknown_not_a_guess() -> None:
    pack = modified_pack({"INSP_QUOTA": {"count": None}})
    limits = inspection_limits(pack)
    assert limits.quota.count is None
    decisions = decide([insp(f"c{i}", s, t(1 + i)) for i, s in enumerate(["DE", "FR", "UA",
                                                                          "PL"])],
                       lambda _: limits)
    assert {d.verdict for d in decisions.values()} == {"unknown"}
    assert all(not d.not_obliged for d in decisions.values())


# ----------------------------------------------------------------------------- inspections


def test_three_inspections_from_three_states_are_within() -> None:
    reqs = [insp("a", "DE", t(1)), insp("b", "FR", t(2)), insp("c", "UA", t(3))]
    decisions = decide(reqs, vd_insp)
    assert [decisions[c].verdict for c in "abc"] == ["within"] * 3
    assert decisions["c"].used_before == 2


def test_fourth_inspection_is_over_quota() -> None:
    reqs = [insp("a", "DE", t(1)), insp("b", "FR", t(2)), insp("c", "UA", t(3)),
            insp("d", "PL", t(4))]
    d = decide(reqs, vd_insp)["d"]
    assert d.verdict == "over_quota" and d.rule == "INSP_QUOTA" and d.not_obliged
    assert "used up" in d.reason and d.used_before == 3


def test_second_inspection_from_the_same_state_is_over_quota() -> None:
    reqs = [insp("a", "DE", t(1)), insp("b", "DE", t(2))]
    d = decide(reqs, vd_insp)["b"]
    assert d.verdict == "over_quota" and d.rule == "INSP_PER_STATE"
    assert "from DE" in d.reason


def test_same_state_on_another_receiving_state_is_fine() -> None:
    reqs = [insp("a", "DE", t(1)), insp("b", "DE", t(2), to="BY")]
    assert decide(reqs, vd_insp)["b"].verdict == "within"


def test_decisions_follow_time_not_input_order() -> None:
    reqs = [insp("d", "PL", t(4)), insp("c", "UA", t(3)), insp("a", "DE", t(1)),
            insp("b", "FR", t(2))]
    decisions = decide(reqs, vd_insp)
    assert decisions["d"].verdict == "over_quota"
    assert decisions["a"].verdict == "within"


def test_force_majeure_frees_the_place_for_a_later_request() -> None:
    reqs = [insp("a", "DE", t(1), released_at=t(1, 20), released_reason="force_majeure"),
            insp("b", "FR", t(2)), insp("c", "UA", t(3)), insp("d", "PL", t(4))]
    decisions = decide(reqs, vd_insp)
    assert decisions["d"].verdict == "within"
    [tally] = tallies(reqs, decisions, vd_insp, at=t(30))
    assert tally.used == 3 and tally.remaining == 0
    assert tally.not_counted == ({"case": "a", "from": "DE", "reason": "force_majeure",
                                  "rule": "INSP_FORCE_MAJEURE"},)


def test_force_majeure_after_a_request_does_not_free_it_retroactively() -> None:
    reqs = [insp("a", "DE", t(1), released_at=t(5), released_reason="force_majeure"),
            insp("b", "FR", t(2)), insp("c", "UA", t(3)), insp("d", "PL", t(4))]
    decisions = decide(reqs, vd_insp)
    assert decisions["d"].verdict == "over_quota"
    [tally] = tallies(reqs, decisions, vd_insp, at=t(30))
    assert tally.used == 2 and tally.remaining == 1


def test_force_majeure_lets_the_same_state_ask_again() -> None:
    reqs = [insp("a", "DE", t(1), released_at=t(2), released_reason="force_majeure"),
            insp("b", "DE", t(3))]
    assert decide(reqs, vd_insp)["b"].verdict == "within"


def test_year_boundary_resets_the_quota_in_utc() -> None:
    late = datetime(2015, 12, 31, 23, 30, tzinfo=UTC)
    # 2016-01-01T01:30+02:00 is still 2015 in UTC
    kyiv_new_year = datetime.fromisoformat("2016-01-01T01:30:00+02:00")
    reqs = [insp("a", "DE", t(1)), insp("b", "FR", t(2)), insp("c", "UA", late),
            insp("d", "PL", kyiv_new_year), insp("e", "DE", datetime(2016, 1, 1, 0, 1,
                                                                      tzinfo=UTC))]
    decisions = decide(reqs, vd_insp)
    assert decisions["d"].verdict == "over_quota"
    assert decisions["e"].verdict == "within"
    views = tallies(reqs, decisions, vd_insp, at=datetime(2016, 2, 1, tzinfo=UTC))
    assert [(v.key.year, v.used) for v in views] == [(2015, 3), (2016, 1)]


def test_tally_views_by_inspecting_state() -> None:
    reqs = [insp("a", "DE", t(1)), insp("b", "DE", t(2)), insp("c", "UA", t(3))]
    decisions = decide(reqs, vd_insp)
    [tally] = tallies(reqs, decisions, vd_insp, at=t(30))
    main, *per_state = tally.views()
    assert (main.rule, main.state, main.year, main.limit, main.used, main.remaining) == (
        "INSP_QUOTA", "RU", 2015, 3, 2, 1)
    assert main.details["by_state"] == {"DE": 1, "UA": 1}
    assert main.details["over_quota"] == [{"case": "b", "from": "DE",
                                           "rule": "INSP_PER_STATE", "verdict": "over_quota"}]
    assert main.details["rules"] == ["INSP_QUOTA", "INSP_PER_STATE", "INSP_FORCE_MAJEURE"]
    assert [(v.rule, v.counterpart, v.used, v.remaining) for v in per_state] == [
        ("INSP_PER_STATE", "DE", 1, 0), ("INSP_PER_STATE", "UA", 1, 0)]


def test_tally_at_an_earlier_clock_ignores_later_requests() -> None:
    reqs = [insp("a", "DE", t(1)), insp("b", "FR", t(5))]
    decisions = decide(reqs, vd_insp)
    [tally] = tallies(reqs, decisions, vd_insp, at=t(3))
    assert tally.used == 1 and tally.counted == ("a",)


# ----------------------------------------------------------------------------- evaluation


def test_evaluation_quota_fills_and_says_when() -> None:
    lim = evaluation_limits(VD, 59)  # quota 1
    reqs = [evalreq("a", "DE", t(1), "u1", t(10)), evalreq("b", "FR", t(2), "u2", t(20))]
    decisions = decide(reqs, lambda _: lim)
    assert decisions["a"].verdict == "within"
    assert decisions["b"].verdict == "over_quota" and decisions["b"].rule == "EVAL_QUOTA"
    [tally] = tallies(reqs, decisions, lambda _: lim, at=t(30))
    assert tally.filled and tally.filled_at == t(1)
    assert tally.details()["filled_at"] == "2015-04-01T09:00:00Z"
    assert "EVAL_QUOTA_FILLED" in (tally.views()[0].note or "")


def test_evaluation_per_state_cap_a_fifth() -> None:
    lim = evaluation_limits(VD, 600)  # quota 10, a fifth = 2
    reqs = [evalreq(f"c{i}", "DE", t(1 + i), f"u{i}", t(10 + i)) for i in range(3)]
    decisions = decide(reqs, lambda _: lim)
    assert [decisions[f"c{i}"].verdict for i in range(3)] == ["within", "within", "over_quota"]
    assert decisions["c2"].rule == "EVAL_PER_STATE"


def test_evaluation_per_unit_twice_and_once_by_the_same_state() -> None:
    lim = evaluation_limits(VD, 900)
    reqs = [evalreq("a", "DE", t(1), "u1", t(10)), evalreq("b", "DE", t(2), "u1", t(11)),
            evalreq("c", "FR", t(3), "u1", t(12)), evalreq("d", "UA", t(4), "u1", t(13))]
    decisions = decide(reqs, lambda _: lim)
    assert decisions["b"].rule == "EVAL_PER_UNIT_SAME_STATE"
    assert decisions["c"].verdict == "within"
    assert decisions["d"].verdict == "over_quota" and decisions["d"].rule == "EVAL_PER_UNIT"


def test_evaluation_one_visit_at_a_time() -> None:
    lim = evaluation_limits(VD, 900)
    reqs = [evalreq("a", "DE", t(1), "u1", t(10, 8)),
            evalreq("b", "FR", t(2), "u2", t(10, 14)),   # overlaps a (08:00–20:00)
            evalreq("c", "UA", t(3), "u3", t(10, 20))]   # starts when a ends
    decisions = decide(reqs, lambda _: lim)
    assert decisions["b"].verdict == "concurrent" and decisions["b"].rule == "EVAL_CONCURRENT"
    assert decisions["b"].not_obliged
    assert decisions["c"].verdict == "within"


def test_a_refused_visit_no_longer_blocks_its_slot() -> None:
    lim = evaluation_limits(VD, 900)
    reqs = [evalreq("a", "DE", t(1), "u1", t(10, 8), closed_at=t(2)),
            evalreq("b", "FR", t(3), "u2", t(10, 14))]
    assert decide(reqs, lambda _: lim)["b"].verdict == "within"


def test_evaluation_unknown_units_is_unknown() -> None:
    lim = evaluation_limits(VD, None)
    d = decide([evalreq("a", "DE", t(1), "u1", t(10))], lambda _: lim)["a"]
    assert d.verdict == "unknown" and not d.not_obliged
    assert "EVAL_QUOTA" in d.reason


# ----------------------------------------------------------------------------- bilateral

BILATERAL = """
id: by-ua-test
title: test agreement
version: "1"
kind: bilateral
parties: [BY, UA]
rules:
  - id: BILAT_INSP_QUOTA
    title: additional inspections
    strength: commitment
    measure: inspection
    spec: {type: quota, count: 2, per: calendar_year, scope: from_same_state}
    provenance: {status: agreement}
  - id: BILAT_EVAL_QUOTA
    title: additional evaluation visits
    strength: commitment
    measure: evaluation
    spec: {type: quota, count: null, per: calendar_year, scope: from_same_state}
    provenance: {status: agreement}
"""


def test_bilateral_quota_is_separate() -> None:
    pack = parse_pack(BILATERAL)
    assert has_bilateral_quota(pack, "inspection") and not has_bilateral_quota(VD, "inspection")
    lim = bilateral_limits(pack, "inspection")
    assert lim.quota.rule == "BILAT_INSP_QUOTA" and lim.quota.count == 2
    assert lim.per_state is None
    assert bilateral_limits(pack, "evaluation").quota.count is None

    def limits_for(r: QuotaRequest | QuotaKey) -> QuotaLimits:
        return lim if r.regime == pack.id else inspection_limits(VD)

    reqs = [insp("v", "UA", t(1), to="BY"),
            insp("b1", "UA", t(2), to="BY", regime=pack.id),
            insp("b2", "UA", t(3), to="BY", regime=pack.id),
            insp("b3", "UA", t(4), to="BY", regime=pack.id)]
    decisions = decide(reqs, limits_for)
    assert [decisions[c].verdict for c in ("v", "b1", "b2", "b3")] == [
        "within", "within", "within", "over_quota"]
    assert decisions["b3"].rule == "BILAT_INSP_QUOTA"
    views = tallies(reqs, decisions, limits_for, at=t(30))
    assert [(v.key.regime, v.used, v.remaining) for v in views] == [
        ("by-ua-test", 2, 0), ("vd2011", 1, 2)]


# ----------------------------------------------------------------------------- properties

_STATES = ("DE", "FR", "UA", "PL", "SE")


@st.composite
def _requests(draw: st.DrawFn) -> list[QuotaRequest]:
    n = draw(st.integers(min_value=0, max_value=12))
    out: list[QuotaRequest] = []
    for i in range(n):
        at = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(
            hours=draw(st.integers(min_value=0, max_value=24 * 500)))
        released = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=200)))
        out.append(insp(
            f"c{i:02d}", draw(st.sampled_from(_STATES)), at,
            to=draw(st.sampled_from(("RU", "BY"))),
            released_at=None if released is None else at + timedelta(hours=released),
            released_reason=None if released is None else "force_majeure"))
    return out


@settings(max_examples=80, deadline=None)
@given(_requests(), st.randoms(use_true_random=False))
def test_quota_never_exceeded_and_order_free(reqs: list[QuotaRequest], rnd: object) -> None:
    decisions = decide(reqs, vd_insp)
    shuffled = list(reqs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert decide(shuffled, vd_insp) == decisions
    for r in reqs:
        # at every request's instant the counted requests respect both limits
        held = [o for o in reqs if decisions[o.case].counts and o.key == r.key
                and o.at <= r.at and o.counted_at(r.at)]
        assert len(held) <= vd_count("INSP_QUOTA")
        for state in _STATES:
            assert sum(1 for o in held if o.requesting == state) <= vd_count("INSP_PER_STATE")
    for tally in tallies(reqs, decisions, vd_insp, at=datetime(2030, 1, 1, tzinfo=UTC)):
        assert 0 <= tally.used <= vd_count("INSP_QUOTA")
        assert tally.used + len(tally.not_counted) + len(tally.over_quota) == sum(
            1 for r in reqs if r.key == tally.key)
