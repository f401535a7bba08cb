"""The corrections of the official Hungarian translation of VD 2011 (Government Resolution
1686/2017) in the ``vd2011`` pack: Chapter VIII ¶67.3–70, Chapter III ¶16.3–17.2, ¶31 and
the evaluation paragraphs (pre-1999 numbering)."""

from __future__ import annotations

from typing import Any

import pytest

from csbm.rules import Regime, assess, assess_activity
from csbm.rules.evaluate import criteria_met
from csbm.rules.pack import LimitSpec, QuotaSpec, ThresholdSpec
from tests.rules._helpers import activity, at, vd2011

NOW = at("2030-01-01T00:00:00Z")


def _simul(*forces: dict[str, int]) -> list[Any]:
    return [
        activity(
            name=f"A{i}", start=f"2023-05-0{i + 1}T00:00:00Z", end="2023-05-10T00:00:00Z",
            forces=f,
        )
        for i, f in enumerate(forces)
    ]


def _simul_status(acts: list[Any]) -> set[str]:
    return {c.status for c in assess(acts, [vd2011()], NOW).constraints
            if c.rule == "CONSTR_SIMUL"}


def test_four_simultaneous_activities_of_600_acvs_break_constr_simul() -> None:
    acts = _simul(*[{"troops": 5000, "battle_tanks": 100, "acv": 600, "artillery": 100}] * 4)
    assert _simul_status(acts) == {"broken"}
    rule = vd2011().rule("CONSTR_SIMUL")
    assert rule.paragraph == "67.3" and rule.provenance.status == "C-tr"


def test_constr_simul_counts_artillery_above_300_and_not_at_300() -> None:
    small = {"troops": 5000, "battle_tanks": 100, "acv": 100}
    over = _simul(*[dict(small, artillery=301)] * 4)
    at_limit = _simul(*[dict(small, artillery=300)] * 4)
    assert _simul_status(over) == {"broken"}
    assert _simul_status(at_limit) == set()  # not "more than": no activity qualifies


def test_three_simultaneous_are_within() -> None:
    acts = _simul(*[{"acv": 600}] * 3)
    assert _simul_status(acts) == {"within"}


def test_activity_with_2500_acvs_owes_the_paragraph_68_communication() -> None:
    act = activity(
        forces={"troops": 20000, "battle_tanks": 200, "acv": 2500, "artillery": 100},
        conducting_states=["RU"], host_state="BY", communicated_two_years_ahead=False,
    )
    result = assess_activity(Regime([vd2011()]), act, NOW)
    adv = {o.rule: o for o in result.obligations}["CONSTR_40K_ADVANCE"]
    assert adv.paragraph == "68"
    assert adv.triggered_by == ("CONSTR_40K_GATE",)
    assert adv.owed_by == ("BY", "RU")  # the host State as well as the conducting State
    assert adv.due == at("2022-11-15T23:59:59.999999Z")
    assert adv.status == "missed"


@pytest.mark.parametrize(
    ("forces", "owed"),
    [
        ({"troops": 20000, "battle_tanks": 200, "acv": 2000, "artillery": 900}, False),
        ({"troops": 20000, "battle_tanks": 200, "acv": 100, "artillery": 901}, True),
        ({"troops": 40001, "battle_tanks": 0, "acv": 0, "artillery": 0}, True),
        ({"troops": 40000, "battle_tanks": 900, "acv": 0, "artillery": 0}, False),
    ],
)
def test_gate_thresholds_are_more_than(forces: dict[str, int], owed: bool) -> None:
    act = activity(forces=forces)
    result = assess_activity(Regime([vd2011()]), act, NOW)
    assert ("CONSTR_40K_ADVANCE" in {o.rule for o in result.obligations}) is owed


def test_every_chapter_viii_number_is_compared_strictly() -> None:
    """Chapter VIII says "more than" (T1): every limit and threshold of it uses ">", and
    the engine compares strictly where the pack says so."""
    chapter_viii = [r for r in vd2011().rules if r.chapter == "VIII"]
    compared = [r for r in chapter_viii if isinstance(r.spec, LimitSpec | ThresholdSpec)]
    assert len(compared) == 5
    for rule in compared:
        assert isinstance(rule.spec, LimitSpec | ThresholdSpec)
        assert rule.spec.comparison == ">", rule.id
    gate = vd2011().rule("CONSTR_40K_GATE").spec
    assert isinstance(gate, ThresholdSpec)
    from csbm.domain.activity import Forces

    assert criteria_met(gate.criteria, ">", Forces(troops=40000, battle_tanks=900,
                                                    acv=2000, artillery=900))[0] is False
    assert criteria_met(gate.criteria, ">=", Forces(troops=40000))[0] is True


def test_the_gate_and_the_advance_communication_have_the_paragraph_68_thresholds() -> None:
    gate = vd2011().rule("CONSTR_40K_GATE")
    assert isinstance(gate.spec, ThresholdSpec)
    assert gate.spec.criteria == {"troops": 40000, "battle_tanks": 900, "acv": 2000,
                                  "artillery": 900}
    assert gate.paragraph == "70"
    assert "U-H" in (gate.provenance.note or "")  # the conditions' wording was cut off


def test_nil_report_is_paragraph_69() -> None:
    nil = vd2011().rule("CONSTR_40K_NIL")
    assert (nil.paragraph, nil.measure, nil.provenance.status) == ("69", "advance_communication",
                                                                   "C-tr")


def test_one_meeting_of_all_participating_states() -> None:
    pack = vd2011()
    assert pack.get("CH3_MEET_JOINT") is None
    meet = pack.rule("CH3_MEET_ALL")
    assert meet.paragraph == "16.3" and meet.paragraph_verified
    assert "Chairperson-in-Office" in (meet.owed_by or "")
    assert "jointly" in meet.title and meet.provenance.status == "C-tr"
    assert pack.rule("CH3_MEET_BILAT").paragraph == "16.2.1"


def test_hazardous_incident_paragraphs() -> None:
    pack = vd2011()
    assert pack.rule("HAZ_POC").paragraph == "17.1"
    assert pack.rule("HAZ_POC").provenance.status == "C-tr"
    report = pack.rule("HAZ_REPORT")
    assert report.paragraph == "17.2" and report.provenance.status == "U-M"  # time word unseen
    assert not report.known  # "expeditiously": no number, never invented


def test_evaluation_paragraphs_say_pre_1999_numbering() -> None:
    evaluation = [r for r in vd2011().rules if r.measure == "evaluation" and r.paragraph]
    assert evaluation
    for rule in evaluation:
        assert "pre-1999 numbering" in (rule.paragraph or ""), rule.id
        assert rule.provenance.status == "C-pred"
        assert "pre-1999" in (rule.provenance.note or "")


def test_eval_concurrent_is_at_any_given_time() -> None:
    rule = vd2011().rule("EVAL_CONCURRENT")
    assert isinstance(rule.spec, QuotaSpec)
    assert (rule.spec.per, rule.spec.scope) == ("at_any_given_time", "concurrent")
    assert "at any given time" in rule.title


def test_a_concurrent_quota_per_calendar_year_is_refused() -> None:
    with pytest.raises(ValueError, match="at any given time"):
        QuotaSpec(type="quota", count=1, per="calendar_year", scope="concurrent")
    with pytest.raises(ValueError, match="at any given time"):
        QuotaSpec(type="quota", count=3, per="at_any_given_time", scope="receiving_state")
