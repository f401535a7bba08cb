"""Every rule id the procedures name is in the packs; measures without a consumer."""

from __future__ import annotations

from csbm.procedures.registry import measures
from csbm.rules import bundled_pack_ids, load_pack
from csbm.rules.coverage import (
    ENGINE_MEASURES,
    coverage,
    procedure_rule_ids,
    procedure_sources,
    rule_ids_in_source,
)

SOURCE = '''
"""A docstring naming CH3_REPLY in prose is not a constant of the id shape."""
RULE = "HOTLINE_ACK"
def f(ctx, x):
    ctx.period_deadline("CH3_REPLY", x)
    raise Refusal("late", rule="INSP_REPLY")
    return {"all": "CH3_MEET_ALL", "x": "ALL", "y": "WGS84", "z": f"{x}_QUOTA"}
'''


def test_the_scan_finds_rule_ids_wherever_they_are_written() -> None:
    assert rule_ids_in_source(SOURCE) == {"HOTLINE_ACK", "CH3_REPLY", "INSP_REPLY",
                                          "CH3_MEET_ALL"}


def test_every_rule_id_the_procedures_name_is_in_a_bundled_pack() -> None:
    packs = [load_pack(p) for p in bundled_pack_ids()]
    used = procedure_rule_ids()
    assert len(procedure_sources()) >= 10
    assert {"CH3_REPLY", "CH3_MEET_ALL", "CAL_DEADLINE", "HOTLINE_ACK"} <= set(used)
    assert "CH3_MEET_JOINT" not in used
    found = coverage(packs, used, [m.name for m in measures()])
    assert found.ok, dict(found.missing)


def test_a_rule_id_no_pack_has_is_reported_with_its_modules() -> None:
    found = coverage([load_pack("vd2011")], {"CH3_REPLY": {"a"}, "NO_SUCH_RULE": {"b", "c"}},
                     [])
    assert not found.ok and dict(found.missing) == {"NO_SUCH_RULE": frozenset({"b", "c"})}


def test_measures_without_a_procedure_yet() -> None:
    packs = [load_pack(p) for p in bundled_pack_ids()]
    found = coverage(packs, {}, [m.name for m in measures()])
    assert set(found.without_consumer) == {
        "aiam", "communications", "consultation", "contacts", "defence_planning",
        "notification_content", "subthreshold_notification",
    }
    assert found.without_consumer["contacts"] == ("AIRBASE_VISIT", "DEMO_NEWTYPE",
                                                  "VDPLUS_AIRBASE_LEN")
    # every other measure has a consumer: the engine or a procedure
    named = {r.measure for p in packs for r in p.rules} - set(found.without_consumer)
    assert named <= ENGINE_MEASURES | {m.name for m in measures()}
