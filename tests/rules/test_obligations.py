"""Obligations of single activities under vd2011 (Chapters V–VIII)."""

from __future__ import annotations

from csbm.domain.activity import Activity
from csbm.rules import Regime, assess_activity
from csbm.rules.model import Obligation
from csbm.rules.pack import RulePack
from tests.rules._helpers import activity, at, vd2011, with_option


def _obligations(
    act: Activity, when: str = "2030-01-01T00:00:00Z", pack: RulePack | None = None
) -> dict[str, Obligation]:
    regime = Regime([pack or vd2011()])
    result = assess_activity(regime, act, at(when))
    return {o.rule: o for o in result.obligations}


def test_notifiable_exercise_is_due_42_days_before_start() -> None:
    obs = _obligations(activity(forces={"troops": 9000}))
    ob = obs["NOTIF_LEAD"]
    assert ob.kind == "prior_notification"
    assert ob.due == at("2024-07-30T06:00:00Z")
    assert ob.triggered_by == ("NOTIF_LAND",)


def test_below_every_threshold_gives_no_notification() -> None:
    obs = _obligations(
        activity(forces={"troops": 8999, "battle_tanks": 249, "acv": 499, "artillery": 249})
    )
    assert "NOTIF_LEAD" not in obs and "OBS_INVITE_TIMING" not in obs and "CAL_DEADLINE" not in obs


def test_unknown_figures_make_the_obligation_unknown() -> None:
    obs = _obligations(activity(forces={"troops": 5000}))
    assert obs["NOTIF_LEAD"].status == "unknown"
    assert "not known" in (obs["NOTIF_LEAD"].note or "")


def test_notified_on_time_is_met_and_late_is_missed() -> None:
    on_time = _obligations(activity(notified_at="2024-07-30T06:00:00Z"))
    late = _obligations(activity(notified_at="2024-07-30T06:00:01Z"))
    assert on_time["NOTIF_LEAD"].status == "met"
    assert late["NOTIF_LEAD"].status == "missed"
    assert "late" in (late["NOTIF_LEAD"].note or "")


def test_open_before_the_deadline_missed_after_when_not_notified() -> None:
    assert (
        _obligations(activity(notified=False), "2024-07-30T05:59:59Z")["NOTIF_LEAD"].status
        == "open"
    )
    assert (
        _obligations(activity(notified=False), "2024-07-30T06:00:00Z")["NOTIF_LEAD"].status
        == "missed"
    )
    assert _obligations(activity(), "2024-08-30T00:00:00Z")["NOTIF_LEAD"].status == "unknown"


def test_alert_activity_is_notified_when_troops_begin() -> None:
    obs = _obligations(activity(kind="alert_activity", notified_at="2024-09-10T06:00:00Z"))
    assert "NOTIF_LEAD" not in obs
    assert obs["NOTIF_SNAP"].due == at("2024-09-10T06:00:00Z")
    assert obs["NOTIF_SNAP"].status == "met"
    assert obs["CAL_DEADLINE"].status == "not_applicable"


def test_alert_activity_notified_an_hour_late_is_missed() -> None:
    obs = _obligations(activity(kind="alert_activity", notified_at="2024-09-10T07:00:00Z"))
    assert obs["NOTIF_SNAP"].status == "missed"


def test_observation_threshold_and_timing() -> None:
    obs = _obligations(activity(forces={"troops": 13000}, observers_invited=True))
    assert obs["OBS_INVITE_TIMING"].due == at("2024-07-30T06:00:00Z")
    assert obs["OBS_INVITE_TIMING"].status == "met"
    assert obs["OBS_INVITE_TIMING"].owed_by == ("RU",)


def test_observation_not_due_below_13000_with_known_figures() -> None:
    obs = _obligations(
        activity(forces={"troops": 12999, "battle_tanks": 299, "acv": 499, "artillery": 249})
    )
    assert "OBS_INVITE_TIMING" not in obs


def test_alert_activity_of_72_hours_needs_no_invitation() -> None:
    obs = _obligations(
        activity(kind="alert_activity", forces={"troops": 20000}, end="2024-09-13T06:00:00Z")
    )
    assert obs["OBS_SNAP_72H"].status == "not_applicable"


def test_alert_activity_over_72_hours_needs_one_with_unknown_timing() -> None:
    obs = _obligations(
        activity(kind="alert_activity", forces={"troops": 20000}, end="2024-09-13T06:00:01Z")
    )
    inv = obs["OBS_INVITE"]
    assert inv.kind == "observation_invitation" and inv.due is None and inv.status == "unknown"
    missed = _obligations(
        activity(
            kind="alert_activity",
            forces={"troops": 20000},
            end="2024-09-13T07:00:00Z",
            observers_invited=False,
        )
    )
    assert missed["OBS_INVITE"].status == "missed"


def test_alert_activity_without_end_leaves_observation_unknown() -> None:
    obs = _obligations(activity(kind="alert_activity", forces={"troops": 38000}, end=None))
    assert obs["OBS_SNAP_72H"].status == "unknown"


def test_annual_calendar_due_15_november_before() -> None:
    obs = _obligations(activity(in_annual_calendar=False))
    # "by 15 November": the day itself is within the limit (date_limit: end_of_day)
    assert obs["CAL_DEADLINE"].due == at("2023-11-15T23:59:59.999999Z")
    assert obs["CAL_DEADLINE"].status == "missed"
    assert _obligations(activity(in_annual_calendar=True))["CAL_DEADLINE"].status == "met"


def test_transfer_uses_transfer_thresholds() -> None:
    obs = _obligations(activity(kind="transfer", forces={"acv": 500}))
    assert obs["NOTIF_LEAD"].triggered_by == ("NOTIF_TRANSFER",)


def test_amphibious_landing_of_3000_is_notifiable() -> None:
    obs = _obligations(
        activity(
            forces={
                "troops": 3000,
                "battle_tanks": 0,
                "acv": 0,
                "artillery": 0,
                "amphibious_troops": 3000,
            }
        )
    )
    assert obs["NOTIF_LEAD"].triggered_by == ("NOTIF_AMPH_PARA",)


def test_largest_activity_needs_communication_two_years_ahead() -> None:
    obs = _obligations(activity(forces={"troops": 40001}, communicated_two_years_ahead=False))
    adv = obs["CONSTR_40K_ADVANCE"]
    assert adv.kind == "advance_communication"
    assert adv.due == at("2022-11-15T23:59:59.999999Z")
    assert adv.status == "missed"
    assert "CONSTR_40K_ADVANCE" not in _obligations(
        activity(forces={"troops": 40000, "battle_tanks": 900, "acv": 2000, "artillery": 900})
    )


def test_divisional_condition_readings() -> None:
    below = activity(
        forces={"troops": 9500, "battle_tanks": 300}, organisation="below_two_brigades"
    )
    tanks_only = activity(
        forces={"troops": 2000, "battle_tanks": 300, "acv": 0, "artillery": 0},
        organisation="below_two_brigades",
    )
    pack = vd2011()
    assert "NOTIF_LEAD" in _obligations(below, pack=pack)
    assert "NOTIF_LEAD" not in _obligations(tanks_only, pack=pack)
    all_criteria = with_option(pack, "divisional_condition", "all_criteria")
    assert "NOTIF_LEAD" not in _obligations(below, pack=all_criteria)
    none = with_option(pack, "divisional_condition", "none")
    assert "NOTIF_LEAD" in _obligations(tanks_only, pack=none)


def test_activity_outside_the_pack_period_gets_nothing() -> None:
    obs = _obligations(
        activity(start="2011-06-01T00:00:00Z", end="2011-06-05T00:00:00Z", forces={"troops": 20000})
    )
    assert obs == {}
