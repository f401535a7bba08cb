"""Which packs apply to an activity: period, host State, border zone, zone of application.

Includes the issue-5 "done when": 4,000 troops 20 km from the Belarus–Ukraine border in
2021 get the bilateral pack (provisionally: its zone width is unknown) and the Vienna
Document; the same activity in 2023 gets only the Vienna Document.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from csbm.domain.activity import Activity
from csbm.rules.applicability import applicable_packs, decide_packs
from csbm.rules.loader import bundled_pack_ids, load_pack, parse_pack
from csbm.rules.pack import RulePack

ROOT = Path(__file__).resolve().parents[2]
NEAR_BY_UA = (27.0, 51.51)  # 20.0 km from the BY-UA border in the vendored data (UA side)
KYIV = (30.52, 50.45)  # ~87 km from the BY-UA border
ODESA = (30.73, 46.48)  # ~500 km from it
NOVOSIBIRSK = (82.92, 55.03)  # Russia east of the Urals


def _activity(
    host: str = "UA", year: int = 2021, where: tuple[float, float] | None = NEAR_BY_UA,
    **extra: Any,
) -> Activity:  # fmt: skip
    data: dict[str, Any] = {
        "name": f"test {host} {year}",
        "conducting_states": [host],
        "host_state": host,
        "start": f"{year}-06-07T00:00:00Z",
        "end": f"{year}-06-11T00:00:00Z",
        "forces": {"troops": 4000},
        **extra,
    }
    if where is not None:
        data["area"] = {"type": "Point", "coordinates": list(where)}
    return Activity.model_validate(data)


def _all() -> list[RulePack]:
    return [load_pack(p) for p in bundled_pack_ids()]


def _ids(
    activity: Activity, packs: list[RulePack] | None = None, forced: bool = False
) -> list[str]:
    return [a.pack.id for a in applicable_packs(activity, packs or _all(), forced)]


def _with_width(width: float | None, **changes: Any) -> RulePack:
    data = yaml.safe_load((ROOT / "src/csbm/regimes/by-ua-2001.yaml").read_text("utf-8"))
    data["border_zone"]["width_km"] = width
    data.update(changes)
    return parse_pack(yaml.safe_dump(data), origin="test")


# ------------------------------------------------------------------ done when (issue 5)


@pytest.mark.parametrize(
    ("year", "expected"), [(2021, ["by-ua-2001", "vd2011"]), (2023, ["vd2011"])]
)
def test_done_when_examples(year: int, expected: list[str]) -> None:
    activity = Activity.model_validate(
        yaml.safe_load((ROOT / f"examples/by-ua-border-{year}.yaml").read_text("utf-8"))
    )
    apps = applicable_packs(activity, _all())
    assert sorted(a.pack.id for a in apps) == expected
    if year == 2021:
        bilateral = next(a for a in apps if a.pack.id == "by-ua-2001")
        assert bilateral.provisional
        assert "width unknown" in bilateral.reason
        (distance,) = bilateral.distances
        assert distance.states == ("UA", "BY")
        assert distance.km == pytest.approx(20.0, abs=0.1)
        assert distance.tolerance_km == pytest.approx(5.08)


def test_after_termination_the_pack_is_ignored_and_says_why() -> None:
    decisions = {d.pack.id: d for d in decide_packs(_activity(year=2023), _all())}
    assert not decisions["by-ua-2001"].applies
    assert "terminated on 2023-01-03" in decisions["by-ua-2001"].reason
    # even when forced: --regime does not stretch a pack's period
    assert _ids(_activity(year=2023), [load_pack("by-ua-2001")], forced=True) == []
    # the day before it ceased it still applied
    day_before = _activity(year=2023).model_copy(
        update={"start": _activity(year=2023).start.replace(month=1, day=2)}
    )
    assert "by-ua-2001" in _ids(day_before)


def test_before_entry_into_force_the_pack_is_ignored() -> None:
    assert "by-ua-2001" not in _ids(_activity(year=2001))


# ------------------------------------------------------------------ border zone


@pytest.mark.parametrize(
    ("where", "applies", "provisional"),
    [
        (NEAR_BY_UA, True, False),  # 20.0 km ≤ 25 km
        ((27.0, 51.41), True, True),  # ~27.1 km: beyond 25, within the 5.08 km tolerance
        (KYIV, False, False),  # ~87 km: outside
    ],
)
def test_same_activity_in_and_out_of_a_known_zone(
    where: tuple[float, float], applies: bool, provisional: bool
) -> None:
    pack = _with_width(25.0)
    (decision,) = decide_packs(_activity(where=where), [pack])
    assert decision.applies is applies, decision.reason
    assert decision.provisional is provisional
    assert decision.distances and decision.distances[0].states == ("UA", "BY")


def test_unknown_width_screens_by_the_analyst_distance() -> None:
    pack = load_pack("by-ua-2001")
    near = decide_packs(_activity(where=KYIV), [pack])[0]
    far = decide_packs(_activity(where=ODESA), [pack])[0]
    assert near.applies and near.provisional
    assert not far.applies and "screening distance" in far.reason
    assert far.distances[0].km > 400


def test_unknown_width_without_a_screen_needs_forcing() -> None:
    pack = _with_width(None, options={})
    (decision,) = decide_packs(_activity(), [pack])
    assert not decision.applies and "force with --regime" in decision.reason
    (forced,) = decide_packs(_activity(), [pack], forced=True)
    assert forced.applies and forced.distances


def test_forced_applies_regardless_of_distance() -> None:
    pack = _with_width(25.0)
    (decision,) = decide_packs(_activity(where=ODESA), [pack], forced=True)
    assert decision.applies and "forced" in decision.reason
    assert decision.distances[0].km > 400


def test_without_an_area_a_border_zone_pack_does_not_apply_and_says_why() -> None:
    (decision,) = decide_packs(_activity(where=None), [load_pack("by-ua-2001")])
    assert not decision.applies
    assert "area not given" in decision.reason
    assert decision.distances == ()
    assert _ids(_activity(where=None), [load_pack("by-ua-2001")], forced=True) == ["by-ua-2001"]


def test_host_not_a_party() -> None:
    (decision,) = decide_packs(_activity(host="PL", where=(21.0, 52.2)), [load_pack("by-ua-2001")])
    assert not decision.applies and "not a party" in decision.reason


def test_belarusian_host_measures_to_its_partner() -> None:
    # Brest: ~1 km from Poland, ~49 km from Ukraine
    decisions = {
        d.pack.id: d
        for d in decide_packs(_activity(host="BY", where=(23.654, 52.083)), _all())
    }
    assert decisions["by-pl"].applies and decisions["by-pl"].distances[0].km < 5.08
    assert decisions["by-ua-2001"].applies
    assert decisions["by-ua-2001"].distances[0].km == pytest.approx(48.9, abs=1.0)
    assert not decisions["by-lt"].applies  # ~250 km from Lithuania
    assert not decisions["ua-sk-2000"].applies


# ------------------------------------------------------------------ unknown dates


def test_unknown_entry_into_force_applies_from_signature_provisionally() -> None:
    uzhhorod = (22.29, 48.62)
    pack = load_pack("ua-sk-2000")
    (before,) = decide_packs(_activity(year=2000, where=uzhhorod).model_copy(
        update={"start": _activity(year=2000).start.replace(month=1)}
    ), [pack])  # fmt: skip
    assert not before.applies and "not yet signed" in before.reason
    (after,) = decide_packs(_activity(year=2021, where=uzhhorod), [pack])
    assert after.applies and after.provisional
    assert "entry into force unknown" in after.reason


def test_no_dates_at_all_is_provisional_throughout() -> None:
    (decision,) = decide_packs(_activity(host="BY", where=(25.6, 54.3)), [load_pack("by-lt")])
    assert decision.applies and decision.provisional
    assert "dates of signature and entry into force unknown" in decision.reason


# ------------------------------------------------------------------ zone of application


def test_vienna_document_outside_the_zone_of_application() -> None:
    east = _activity(host="RU", where=NOVOSIBIRSK)
    (decision,) = decide_packs(east, [load_pack("vd2011")])
    assert not decision.applies and "outside the zone of application" in decision.reason
    west = _activity(host="RU", where=(37.62, 55.76))
    assert _ids(west, [load_pack("vd2011")]) == ["vd2011"]
    # forced: the user says it applies
    assert _ids(east, [load_pack("vd2011")], forced=True) == ["vd2011"]


def test_vienna_document_where_the_zone_is_open_is_provisional() -> None:
    ankara = _activity(host="TR", where=(32.85, 39.93))
    (app,) = applicable_packs(ankara, [load_pack("vd2011")])
    assert app.provisional and "open" in app.reason


def test_vienna_document_without_an_area_applies_as_before() -> None:
    (app,) = applicable_packs(_activity(where=None), [load_pack("vd2011")])
    assert not app.provisional and "not checked" in app.reason


# ------------------------------------------------------------------ made once (performance)


def test_decisions_that_depend_only_on_the_pack_are_made_once_and_say_the_same() -> None:
    """Forced, or without an area, a multilateral pack's decision depends only on which
    part of its period the activity starts in: one decision (and one phrase) per pack and
    part, the same text and template as made afresh."""
    vd = load_pack("vd2011")
    one, two = (_activity(host="AT", year=y, where=None) for y in (2021, 2022))
    first, second = (decide_packs(a, [vd], forced=True)[0] for a in (one, two))
    assert first is second
    assert first.application() is second.application()
    assert first.reason == "forced with --regime; in force on the start date"
    assert first.reason.template == "{head}; {period}"  # type: ignore[attr-defined]
    unforced = decide_packs(one, [vd])[0]
    assert unforced is not first and unforced.reason.startswith("multilateral; ")
    # another pack object (a copy with other dates) has decisions of its own
    later = vd.model_copy(update={"in_force": date(2022, 1, 1)})
    early = decide_packs(one, [later], forced=True)[0]
    assert not early.applies and "not yet in force" in early.reason
    assert decide_packs(two, [later], forced=True)[0].applies


def test_not_a_party_is_said_per_host_state() -> None:
    by_ua = load_pack("by-ua-2001")
    pl, de = (_activity(host=h, where=None) for h in ("PL", "DE"))
    reasons = [decide_packs(a, [by_ua])[0].reason for a in (pl, de, pl)]
    assert reasons[0].startswith("host State PL is not a party; ")
    assert reasons[1].startswith("host State DE is not a party; ")
    assert reasons[2] is reasons[0]
