"""Every entry of every bundled pack runs through its own cases (DESIGN.md principle 2)."""

from __future__ import annotations

import pytest

from csbm.rules import bundled_pack_ids, check_pack, check_rule, load_pack
from csbm.rules.pack import Case, StandingSpec

_ENTRIES = [
    pytest.param(pack_id, rule.id, id=f"{pack_id}:{rule.id}")
    for pack_id in bundled_pack_ids()
    for rule in load_pack(pack_id).rules
]


@pytest.mark.parametrize(("pack_id", "rule_id"), _ENTRIES)
def test_entry_passes_its_own_cases(pack_id: str, rule_id: str) -> None:
    pack = load_pack(pack_id)
    rule = pack.rule(rule_id)
    assert check_rule(rule, pack) == []
    if not isinstance(rule.spec, StandingSpec):
        assert rule.cases, f"{rule_id} has a number but no test case"


def test_vd2011_thresholds_have_cases_on_both_sides() -> None:
    pack = load_pack("vd2011")
    for rule in pack.rules:
        if rule.spec.type in ("threshold", "duration", "limit") and rule.known:
            answers = {c.expect for c in rule.cases}
            assert True in answers and False in answers, rule.id


def test_a_wrong_expectation_is_caught() -> None:
    pack = load_pack("vd2011")
    rule = pack.rule("NOTIF_LEAD")
    wrong = rule.model_copy(
        update={"cases": (Case(given={"anchor": "2017-09-14"}, expect="2017-08-04T00:00:00Z"),)}
    )
    problems = check_rule(wrong, pack)
    assert len(problems) == 1
    assert "NOTIF_LEAD.cases[0]" in problems[0].path
    assert "2017-08-03T00:00:00Z" in problems[0].reason


def test_a_changed_number_fails_the_pack_cases() -> None:
    pack = load_pack("vd2011")
    rule = pack.rule("OBS_INVITE")
    spec = rule.spec.model_copy(update={"criteria": {**rule.spec.criteria, "troops": 12000}})  # type: ignore[union-attr]
    changed = pack.model_copy(
        update={
            "rules": tuple(
                r if r.id != "OBS_INVITE" else rule.model_copy(update={"spec": spec})
                for r in pack.rules
            )
        }
    )
    paths = [p.path for p in check_pack(changed)]
    assert any(p.startswith("OBS_INVITE.cases") for p in paths)


def test_entries_without_a_number_say_unknown() -> None:
    pack = load_pack("vd2011")
    unknown = {r.id for r in pack.rules if not r.known}
    assert {"HAZ_REPORT", "VDPLUS_AIRBASE_LEN", "VDPLUS_SUBTHRESHOLD"} <= unknown
    for rule_id in unknown:
        assert all(c.expect == "unknown" for c in pack.rule(rule_id).cases)


def test_every_digest_rule_id_is_in_the_pack() -> None:
    ids = {r.id for r in load_pack("vd2011").rules}
    expected = {
        "NOTIF_LEAD",
        "NOTIF_LAND",
        "NOTIF_SNAP",
        "OBS_INVITE",
        "OBS_SNAP_72H",
        "CAL_DEADLINE",
        "CONSTR_40K",
        "CONSTR_13K_YEAR",
        "CONSTR_25K_YEAR",
        "CONSTR_SIMUL",
        "CONSTR_40K_ADVANCE",
        "CONSTR_40K_GATE",
        "CH3_REPLY",
        "INSP_QUOTA",
        "EVAL_QUOTA",
        "AEMI_DEADLINE",
    }
    assert expected <= ids


def test_provenance_follows_the_digest_tags() -> None:
    pack = load_pack("vd2011")
    assert pack.rule("CH3_REPLY").provenance.status == "C"
    assert pack.rule("CH3_REPLY").paragraph_verified is True
    assert pack.rule("NOTIF_LEAD").provenance.status == "U-H"
    assert pack.rule("NOTIF_LEAD").paragraph_verified is False
    assert pack.rule("NOTIF_LAND").provenance.parts["troops"] == "C"
    assert pack.rule("EVAL_QUOTA").provenance.status == "C-pred"
    assert pack.rule("CONSTR_40K").spec.comparison == ">"  # type: ignore[union-attr]
    assert pack.rule("NOTIF_LAND").spec.comparison == ">="  # type: ignore[union-attr]
