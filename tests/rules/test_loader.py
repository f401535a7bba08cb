"""Loading packs: bundled, by path, corrected with ``base``; malformed packs refused."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from csbm.errors import NotFoundError, RulePackError
from csbm.rules import load_pack, parse_pack
from csbm.rules.loader import bundled_pack_ids

_GOOD_RULE = {
    "id": "NOTIF_LEAD",
    "title": "Lead time",
    "strength": "commitment",
    "measure": "prior_notification",
    "spec": {
        "type": "period",
        "amount": 42,
        "unit": "days",
        "direction": "before",
        "anchor": "start",
    },
    "provenance": {"status": "U-H"},
}


def _pack(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "test",
        "title": "t",
        "version": "1",
        "rules": [dict(_GOOD_RULE)],
    }
    data.update(overrides)
    return data


def _refused(data: object) -> list[str]:
    with pytest.raises(RulePackError) as info:
        parse_pack(yaml.safe_dump(data))
    return [p.line() for p in info.value.problems]


def test_bundled_packs_include_vd2011() -> None:
    assert "vd2011" in bundled_pack_ids()
    assert load_pack("vd2011").id == "vd2011"


def test_unknown_pack_id_is_refused() -> None:
    with pytest.raises(NotFoundError, match="no bundled rule pack 'vd2099'"):
        load_pack("vd2099")


def test_missing_pack_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_pack(tmp_path / "absent.yaml")


def test_negative_amount_names_entry_and_field() -> None:
    rule = dict(_GOOD_RULE, spec=dict(_GOOD_RULE["spec"], amount=-1))  # type: ignore[arg-type]
    lines = _refused(_pack(rules=[rule]))
    assert lines == ["rules[0] NOTIF_LEAD: spec.amount: must be ≥ 0 (got -1)"]


def test_unknown_spec_type_is_refused() -> None:
    rule = dict(_GOOD_RULE, spec={"type": "vibes"})
    lines = _refused(_pack(rules=[rule]))
    assert len(lines) == 1 and lines[0].startswith("rules[0] NOTIF_LEAD: spec")


def test_unknown_force_in_criteria_is_refused() -> None:
    rule = dict(
        _GOOD_RULE,
        spec={"type": "threshold", "comparison": ">=", "criteria": {"soldiers": 9000}},
    )
    lines = _refused(_pack(rules=[rule]))
    assert "unknown force 'soldiers'" in lines[0]
    assert lines[0].startswith("rules[0] NOTIF_LEAD: spec.criteria")


def test_bad_comparison_strength_and_id_are_all_named() -> None:
    rule = dict(_GOOD_RULE, id="lower_case", strength="maybe")
    lines = _refused(_pack(rules=[rule]))
    assert any(line.startswith("rules[0] lower_case: id") for line in lines)
    assert any(line.startswith("rules[0] lower_case: strength") for line in lines)


def test_duplicate_ids_are_refused() -> None:
    lines = _refused(_pack(rules=[copy.deepcopy(_GOOD_RULE), copy.deepcopy(_GOOD_RULE)]))
    assert any("appears twice" in line for line in lines)


def test_impossible_annual_date_is_refused() -> None:
    rule = dict(_GOOD_RULE, spec={"type": "annual_date", "month": 2, "day": 30, "year_offset": 0})
    lines = _refused(_pack(rules=[rule]))
    assert lines and lines[0].startswith("rules[0] NOTIF_LEAD: spec")


def test_option_value_must_be_a_choice() -> None:
    lines = _refused(
        _pack(options={"constraint_window": {"value": "sliding", "choices": ["rolling", "fixed"]}})
    )
    assert any("options.constraint_window" in line for line in lines)


def test_not_yaml_is_refused() -> None:
    with pytest.raises(RulePackError) as info:
        parse_pack("rules: [\n")
    assert "not valid YAML" in info.value.problems[0].reason


def test_a_list_is_not_a_pack() -> None:
    with pytest.raises(RulePackError):
        parse_pack("- 1\n- 2\n")


def test_corrected_pack_replaces_entries_of_its_base(tmp_path: Path) -> None:
    corrected = {
        "id": "vd2011",
        "title": "Vienna Document 2011, checked against FSC.DOC/1/11",
        "version": "2011.2",
        "base": "vd2011",
        "rules": [
            dict(
                _GOOD_RULE,
                paragraph="38",
                paragraph_verified=True,
                provenance={"status": "C", "sources": ["FSC.DOC/1/11"]},
                cases=[{"given": {"anchor": "2017-09-14"}, "expect": "2017-08-03T00:00:00Z"}],
            )
        ],
        "options": {"near_threshold_margin": {"value": 0.05, "provenance": "analyst"}},
    }
    path = tmp_path / "vd2011-checked.yaml"
    path.write_text(yaml.safe_dump(corrected), encoding="utf-8")
    pack = load_pack(path)
    base = load_pack("vd2011")
    assert len(pack.rules) == len(base.rules)
    assert pack.rule("NOTIF_LEAD").paragraph_verified is True
    assert pack.rule("NOTIF_LEAD").provenance.status == "C"
    assert pack.rule("OBS_INVITE") == base.rule("OBS_INVITE")
    assert pack.option("near_threshold_margin") == 0.05
    assert pack.option("constraint_window") == "rolling"
    assert pack.version == "2011.2"


def test_extending_pack_adds_entries(tmp_path: Path) -> None:
    extra = dict(_GOOD_RULE, id="NEW_ENTRY")
    path = tmp_path / "ext.yaml"
    path.write_text(
        yaml.safe_dump(
            {"id": "vd2011-ext", "title": "x", "version": "1", "base": "vd2011", "rules": [extra]}
        ),
        encoding="utf-8",
    )
    pack = load_pack(path)
    assert pack.get("NEW_ENTRY") is not None and pack.get("CH3_REPLY") is not None
