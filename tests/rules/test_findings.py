"""Findings: violations, near thresholds, inconsistencies, possible splits."""

from __future__ import annotations

from csbm.domain.activity import Activity
from csbm.rules import assess
from csbm.rules.model import Finding
from csbm.rules.pack import RulePack
from tests.rules._helpers import activity, at, vd2011, with_option

NOW = at("2030-01-01T00:00:00Z")


def _findings(
    *acts: Activity, pack: RulePack | None = None, kind: str | None = None
) -> list[Finding]:
    result = assess(list(acts), [pack or vd2011()], NOW)
    found = [f for a in result.activities for f in a.findings] + list(result.findings)
    return [f for f in found if kind is None or f.kind == kind]


def test_missed_notification_is_a_violation() -> None:
    found = _findings(activity(notified=False), kind="violation")
    assert [f.rule for f in found] == ["NOTIF_LEAD"]
    assert found[0].severity == "high"
    assert "2024-07-30T06:00:00Z" in found[0].message


def test_met_obligations_give_no_violation() -> None:
    assert (
        _findings(
            activity(notified_at="2024-07-01T00:00:00Z", in_annual_calendar=True), kind="violation"
        )
        == []
    )


def test_gate_violation_for_largest_activity_not_in_calendar() -> None:
    found = _findings(
        activity(
            forces={"troops": 45000}, communicated_two_years_ahead=True, in_annual_calendar=False
        ),
        kind="violation",
    )
    assert "CONSTR_40K_GATE" in {f.rule for f in found}


def test_near_threshold_zapad() -> None:
    found = _findings(
        activity(forces={"troops": 12700, "battle_tanks": 250, "acv": 230, "artillery": 200}),
        kind="near_threshold",
    )
    assert [(f.rule, f.details["criterion"], f.details["below_by"]) for f in found] == [
        ("OBS_INVITE", "troops", 300)
    ]


def test_near_threshold_margin_edges() -> None:
    pack = vd2011()
    edge = activity(
        forces={"troops": 11700, "battle_tanks": 0, "acv": 0, "artillery": 0}
    )  # 10% below 13,000
    outside = activity(forces={"troops": 11699, "battle_tanks": 0, "acv": 0, "artillery": 0})
    at_threshold = activity(forces={"troops": 13000, "battle_tanks": 0, "acv": 0, "artillery": 0})
    assert len(_findings(edge, pack=pack, kind="near_threshold")) == 1
    assert _findings(outside, pack=pack, kind="near_threshold") == []
    assert _findings(at_threshold, pack=pack, kind="near_threshold") == []
    narrow = with_option(pack, "near_threshold_margin", 0.01)
    assert _findings(edge, pack=narrow, kind="near_threshold") == []


def test_near_notification_threshold() -> None:
    found = _findings(
        activity(forces={"troops": 8500, "battle_tanks": 0, "acv": 0, "artillery": 0}),
        kind="near_threshold",
    )
    assert [f.rule for f in found] == ["NOTIF_LAND"]


def test_contradicting_declaration_is_an_inconsistency() -> None:
    found = _findings(
        activity(declarations=[{"source": "Belarus MoD", "forces": {"troops": 10200}}]),
        kind="inconsistency",
    )
    assert len(found) == 1 and found[0].details["field"] == "troops"


def test_same_figures_are_consistent() -> None:
    assert (
        _findings(
            activity(declarations=[{"source": "b", "forces": {"troops": 10000}}]),
            kind="inconsistency",
        )
        == []
    )


def test_observed_above_threshold_is_an_inconsistency() -> None:
    found = _findings(
        activity(
            forces={"troops": 8000, "battle_tanks": 0, "acv": 0, "artillery": 0},
            declarations=[{"source": "observer", "kind": "observed", "forces": {"troops": 9500}}],
        ),
        kind="inconsistency",
    )
    assert [f.rule for f in found] == ["NOTIF_LAND"]


def test_observation_level_forces_without_invitation_before_the_deadline() -> None:
    act = activity(forces={"troops": 15000}, observers_invited=False)
    early = assess([act], [vd2011()], at("2024-06-01T00:00:00Z"))
    kinds = {f.kind for f in early.activities[0].findings}
    assert "inconsistency" in kinds and "violation" not in kinds
    late = assess([act], [vd2011()], at("2024-08-01T00:00:00Z"))
    assert "OBS_INVITE_TIMING" in {
        f.rule for f in late.activities[0].findings if f.kind == "violation"
    }


_SMALL = {"troops": 5000, "battle_tanks": 100, "acv": 100, "artillery": 50}


def test_possible_split_of_concurrent_activities() -> None:
    a = activity(name="North", forces=_SMALL)
    b = activity(
        name="South", forces=_SMALL, start="2024-09-12T00:00:00Z", end="2024-09-18T00:00:00Z"
    )
    found = _findings(a, b, kind="possible_split")
    assert len(found) == 1
    assert set(found[0].activities) == {"North", "South"}
    assert found[0].rule == "NOTIF_LAND" and found[0].details["sums"]["troops"] == 10000


def test_adjacent_within_the_setting_is_summed_beyond_is_not() -> None:
    a = activity(
        name="First", forces=_SMALL, start="2024-09-01T00:00:00Z", end="2024-09-05T00:00:00Z"
    )
    near = activity(
        name="Second", forces=_SMALL, start="2024-09-07T00:00:00Z", end="2024-09-09T00:00:00Z"
    )
    far = activity(
        name="Second", forces=_SMALL, start="2024-09-07T00:00:01Z", end="2024-09-09T00:00:00Z"
    )
    assert len(_findings(a, near, kind="possible_split")) == 1
    assert _findings(a, far, kind="possible_split") == []


def test_different_states_not_acting_together_are_not_summed() -> None:
    a = activity(name="A", forces=_SMALL)
    b = activity(name="B", forces=_SMALL, conducting_states=["BY"], host_state="BY")
    assert _findings(a, b, kind="possible_split") == []


def _joint(start: str, end: str) -> Activity:
    return activity(
        name="Joint",
        forces={"troops": 100, "battle_tanks": 0, "acv": 0, "artillery": 0},
        conducting_states=["RU", "BY"],
        host_state="BY",
        start=start,
        end=end,
    )


def test_states_acting_together_are_summed() -> None:
    a = activity(name="A", forces=_SMALL)
    b = activity(name="B", forces=_SMALL, conducting_states=["BY"], host_state="BY")
    joint = _joint("2024-09-11T00:00:00Z", "2024-09-12T00:00:00Z")
    found = _findings(a, b, joint, kind="possible_split")
    assert {frozenset(f.activities) for f in found} == {frozenset({"A", "B", "Joint"})}


def test_a_joint_activity_in_another_year_does_not_tie_states() -> None:
    a = activity(name="A", forces=_SMALL)
    b = activity(name="B", forces=_SMALL, conducting_states=["BY"], host_state="BY")
    joint = _joint("2023-01-01T00:00:00Z", "2023-01-02T00:00:00Z")
    assert _findings(a, b, joint, kind="possible_split") == []


def test_no_split_when_one_member_crosses_alone() -> None:
    a = activity(name="Big", forces={"troops": 9500, "battle_tanks": 0, "acv": 0, "artillery": 0})
    b = activity(name="Small", forces=_SMALL)
    assert [f for f in _findings(a, b, kind="possible_split") if f.rule == "NOTIF_LAND"] == []


def test_command_group_is_tested_as_one_activity() -> None:
    a = activity(name="Part 1", forces=_SMALL, command_group="Op X", notified=False)
    b = activity(name="Part 2", forces=_SMALL, command_group="Op X", notified=False)
    result = assess([a, b], [vd2011()], NOW)
    assert len(result.activities) == 1
    combined = result.activities[0]
    assert combined.members == ("Part 1", "Part 2")
    assert {o.rule for o in combined.obligations} >= {"NOTIF_LEAD"}
    assert combined.activity.forces.troops == 10000


def test_progress_is_reported_in_steps_and_at_the_end() -> None:
    acts = [
        activity(name=f"A{i}", start=f"2024-0{1 + i % 9}-01T00:00:00Z", end=None)
        for i in range(2500)
    ]
    seen: list[int] = []
    result = assess(acts, [vd2011()], NOW, on_progress=seen.append)
    assert seen == [1000, 2000, 2500]
    assert len(result.activities) == 2500
