"""The bilateral packs (issue 5): confirmed values with their sources, every other value
null with a note of where the text is; the completion path; malformed packs refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from csbm.domain.activity import Activity
from csbm.errors import RulePackError
from csbm.rules import check_pack
from csbm.rules.engine import assess
from csbm.rules.loader import load_pack, parse_pack
from csbm.rules.pack import QuotaSpec, RulePack

ROOT = Path(__file__).resolve().parents[2]
REGIMES = ROOT / "src/csbm/regimes"
BILATERAL = ["by-ua-2001", "by-lt", "by-lv-2004", "by-pl", "ua-sk-2000"]
RULE_IDS = {
    "ZONE_NOTIF_THRESHOLD": ("prior_notification", "threshold"),
    "ZONE_NOTIF_LEAD": ("prior_notification", "period"),
    "ZONE_OBS_THRESHOLD": ("observation_invitation", "threshold"),
    "BILAT_INSP_QUOTA": ("inspection", "quota"),
    "BILAT_EVAL_QUOTA": ("evaluation", "quota"),
    "HOTLINE_ACK": ("hotline", "period"),
    "ATTACHE_VISIT_REPLY": ("attache_visit", "period"),
    "BILAT_INFO_EXCHANGE": ("aemi", "annual_date"),
}


@pytest.mark.parametrize("pack_id", BILATERAL)
def test_pack_shape(pack_id: str) -> None:
    pack = load_pack(pack_id)
    assert pack.id == pack_id == (REGIMES / f"{pack_id}.yaml").stem
    assert pack.kind == "bilateral"
    assert isinstance(pack.parties, tuple) and len(pack.parties) == 2
    assert pack.base is None, "stacks on vd2011 without copying it"
    assert pack.border_zone is not None and pack.border_zone.note
    assert check_pack(pack) == []


@pytest.mark.parametrize("pack_id", BILATERAL)
def test_every_unknown_says_where_the_text_is(pack_id: str) -> None:
    pack = load_pack(pack_id)
    for rule in pack.rules:
        if rule.id in RULE_IDS:
            assert (rule.measure, rule.spec.type) == RULE_IDS[rule.id], rule.id
        if rule.id == "BILAT_INSP_QUOTA" or rule.id == "BILAT_EVAL_QUOTA":
            assert isinstance(rule.spec, QuotaSpec) and rule.spec.scope == "from_same_state"
        if not rule.known:
            assert not rule.provenance.confirmed, f"{rule.id}: a null cannot be confirmed"
            assert rule.provenance.note, f"{rule.id}: say where the text is"
            assert all(c.expect == "unknown" for c in rule.cases), rule.id
        elif rule.provenance.confirmed:
            assert rule.provenance.sources, f"{rule.id}: a confirmed value needs its source"


def test_confirmed_dates() -> None:
    by_ua = load_pack("by-ua-2001")
    assert (by_ua.signed, by_ua.in_force, by_ua.terminated) == (
        date(2001, 10, 16), date(2002, 4, 26), date(2023, 1, 3),
    )  # fmt: skip
    assert by_ua.parties == ("BY", "UA")
    ua_sk = load_pack("ua-sk-2000")
    assert ua_sk.signed == date(2000, 8, 30) and ua_sk.in_force is None
    assert any("2001-03-14" in n for n in ua_sk.notes)
    assert any("2004" in n for n in load_pack("by-lv-2004").notes)
    for pack_id in ("by-lt", "by-pl"):
        pack = load_pack(pack_id)
        assert pack.signed is None and pack.in_force is None


def test_lithuania_one_evaluation_visit_each_way() -> None:
    rule = load_pack("by-lt").rule("BILAT_EVAL_QUOTA")
    assert isinstance(rule.spec, QuotaSpec) and rule.spec.count == 1
    assert rule.provenance.status == "C"
    assert "https://www.belvpo.com/58978.html/" in rule.provenance.sources
    info = load_pack("by-lt").rule("BILAT_INFO_FORMAT")
    assert info.provenance.confirmed and info.measure == "aemi"


def test_no_numbers_invented_for_belarus_ukraine() -> None:
    pack = load_pack("by-ua-2001")
    assert pack.border_zone is not None and pack.border_zone.width_km is None
    assert all(not r.known for r in pack.rules)
    screen = pack.options["unknown_zone_screen_km"]
    assert screen.provenance == "analyst" and "not a treaty number" in (screen.note or "")


# ------------------------------------------------------------------ completion path

_EXAMPLE_2021 = ROOT / "examples/by-ua-border-2021.yaml"
_AT = datetime(2021, 5, 1, tzinfo=UTC)

# TEST VALUES, not the agreement's: they only show that a filled-in pack changes the answer.
_COMPLETED = """
id: by-ua-2001-local
title: Belarus–Ukraine agreement, completed locally (TEST VALUES)
version: "2001.1-local"
base: by-ua-2001
border_zone: {width_km: 50, note: "TEST VALUE, not from the agreement"}
rules:
  - id: ZONE_NOTIF_THRESHOLD
    title: Prior notification in the border zone (TEST VALUES)
    strength: commitment
    measure: prior_notification
    applies_to: [exercise, alert_activity, transfer, concentration]
    spec: {type: threshold, comparison: ">=", criteria: {troops: %(troops)s}}
    provenance: {status: analyst, note: "TEST VALUE"}
    cases:
      - {given: {forces: {troops: 10000}}, expect: true}
      - {given: {forces: {troops: 1}}, expect: false}
  - id: ZONE_NOTIF_LEAD
    title: Notice period in the border zone (TEST VALUE)
    strength: commitment
    measure: prior_notification
    applies_to: [exercise, transfer, concentration]
    spec: {type: period, amount: 30, unit: days, direction: before, anchor: start}
    provenance: {status: analyst, note: "TEST VALUE"}
    cases:
      - {given: {anchor: "2021-06-07T00:00:00Z"}, expect: "2021-05-08T00:00:00Z"}
"""


def _obligations(pack: RulePack) -> dict[str, tuple[str, datetime | None]]:
    activity = Activity.model_validate(yaml.safe_load(_EXAMPLE_2021.read_text("utf-8")))
    result = assess([activity], [load_pack("vd2011"), pack], _AT)
    (item,) = result.activities
    return {o.rule: (o.status, o.due) for o in item.obligations if o.pack == pack.id}


def test_completed_pack_changes_unknown_to_a_value(tmp_path: Path) -> None:
    before = _obligations(load_pack("by-ua-2001"))
    assert before["ZONE_NOTIF_LEAD"] == ("unknown", None)

    path = tmp_path / "by-ua-2001-local.yaml"
    path.write_text(_COMPLETED % {"troops": 3000}, encoding="utf-8")
    completed = load_pack(path)  # what --regime PATH does
    assert completed.id == "by-ua-2001-local"
    assert completed.parties == ("BY", "UA") and completed.terminated == date(2023, 1, 3)
    assert completed.rule("ZONE_NOTIF_THRESHOLD").known
    assert not completed.rule("ZONE_OBS_THRESHOLD").known  # the rest still from the base
    assert check_pack(completed) == []  # its own cases pass

    after = _obligations(completed)
    status, due = after["ZONE_NOTIF_LEAD"]
    assert due == datetime(2021, 5, 8, tzinfo=UTC)
    assert status != "unknown"


def test_completed_pack_below_its_threshold_owes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(_COMPLETED % {"troops": 5000}, encoding="utf-8")
    after = _obligations(load_pack(path))
    assert "ZONE_NOTIF_LEAD" not in after or after["ZONE_NOTIF_LEAD"][0] == "not_applicable"


def test_copied_and_edited_pack_loads_by_path(tmp_path: Path) -> None:
    data = yaml.safe_load((REGIMES / "by-lt.yaml").read_text("utf-8"))
    data["signed"] = "2001-04-20"  # TEST VALUE
    data["in_force"] = "2001-12-01"  # TEST VALUE
    path = tmp_path / "by-lt-local.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pack = load_pack(path)
    assert pack.in_force == date(2001, 12, 1)
    assert pack.in_force_on(date(2021, 1, 1)) and not pack.in_force_on(date(2001, 1, 1))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"border_zone": {"width_km": -5}}, "border_zone.width_km"),
        ({"in_force": "2002-13-01"}, "in_force"),
        ({"parties": "BY and UA"}, "parties"),
        ({"kind": "trilateral"}, "kind"),
    ],
)
def test_a_bad_field_is_refused_with_the_field_named(change: dict[str, object], path: str) -> None:
    data = yaml.safe_load((REGIMES / "by-ua-2001.yaml").read_text("utf-8"))
    data.update(change)
    with pytest.raises(RulePackError) as err:
        parse_pack(yaml.safe_dump(data), origin="edited.yaml")
    paths = [p.path for p in err.value.problems]
    assert any(p == path or p.startswith(path) for p in paths), paths


def test_a_bad_rule_field_names_the_entry() -> None:
    data = yaml.safe_load((REGIMES / "by-ua-2001.yaml").read_text("utf-8"))
    data["rules"][0]["spec"]["criteria"] = {"soldiers": 3000}
    data["rules"][1]["spec"]["amount"] = -1
    with pytest.raises(RulePackError) as err:
        parse_pack(yaml.safe_dump(data), origin="edited.yaml")
    lines = [p.line() for p in err.value.problems]
    assert any("rules[0] ZONE_NOTIF_THRESHOLD: spec.criteria" in line for line in lines), lines
    assert any("rules[1] ZONE_NOTIF_LEAD: spec.amount" in line for line in lines), lines
