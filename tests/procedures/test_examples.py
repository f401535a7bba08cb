"""The bundled example scenarios (public cases of February 2022) and their expected outcomes."""

from __future__ import annotations

from pathlib import Path

from csbm.procedures.runner import replay, result_json
from csbm.procedures.scenario import load_scenario
from tests.procedures._events import t


def test_baltic_states_to_belarus(repo_root: Path) -> None:
    scenario = load_scenario(repo_root / "examples" / "baltic-belarus-2022.yaml")
    doc = result_json(replay(scenario.events, scenario.context))
    (case,) = doc["cases"]
    assert case["procedure"] == "chapter_iii"
    assert case["parties"] == {"requesting": ["LT", "LV", "EE"], "responding": ["BY"]}
    deadlines = {d["rule"]: d for d in case["deadlines"]}
    assert deadlines["CH3_REPLY"]["due"] == "2022-02-11T10:00:00Z"  # 48 h after the request
    assert deadlines["CH3_REPLY"]["status"] == "met"
    assert deadlines["CH3_REPLY"]["met_at"] == "2022-02-11T09:00:00Z"
    assert case["details"]["reply"]["on_time"] is True
    assert case["details"]["reply"]["assessment"] == "unsatisfactory"
    meeting = case["details"]["meetings"][0]
    assert deadlines["CH3_MEET_BILAT"]["status"] == "met"
    assert "BY" in meeting["attended"] and "RU" not in meeting["attended"]
    assert meeting["absent"] == [{"state": "RU", "reason": None}]
    assert meeting["statements"][0].startswith("BY: no activity requiring prior notification")
    assert deadlines["CH3_MEET_ALL"]["status"] == "met"  # ¶16.3, the 84th joint FSC–PC meeting
    assert case["state"] == "joint_meeting_held"
    assert doc["findings"] == []


def test_baltic_states_to_belarus_as_at_the_thirteenth(repo_root: Path) -> None:
    scenario = load_scenario(repo_root / "examples" / "baltic-belarus-2022.yaml")
    result = replay(scenario.events, scenario.context, t("2022-02-13T12:00Z"))
    case = result.cases[0]
    assert case.state == "meeting_requested"
    assert {d.rule: d.status for d in case.deadlines} == {"CH3_REPLY": "met",
                                                          "CH3_MEET_BILAT": "open"}


def test_ukraine_to_russia(repo_root: Path) -> None:
    scenario = load_scenario(repo_root / "examples" / "ukraine-russia-2022.yaml")
    result = replay(scenario.events, scenario.context)
    (case,) = result.cases
    deadlines = {d.rule: d for d in case.deadlines}
    reply = deadlines["CH3_REPLY"]
    assert (reply.due, reply.status, reply.met_at) == (t("2022-02-13T10:00Z"), "missed", None)
    meeting, joint = case.details["meetings"]
    assert meeting["scope"] == "bilateral" and meeting["held_at"] == t("2022-02-15T15:00Z")
    assert "RU" not in meeting["attended"]
    assert deadlines["CH3_MEET_BILAT"].status == "met"
    assert joint["scope"] == "all" and joint["held_at"].date().isoformat() == "2022-02-18"
    assert deadlines["CH3_MEET_ALL"].status == "met"  # ¶16.3, held by the PC and FSC jointly
    assert [f.kind for f in result.findings] == ["missed"]
    assert result.findings[0].states == ("RU",)


def test_every_example_scenario_loads(repo_root: Path) -> None:
    for path in sorted((repo_root / "examples").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "events:" not in text:
            continue  # activity files for csbm assess
        scenario = load_scenario(path)
        assert scenario.events, path


def test_nova_rudnia_clarification_without_a_report(repo_root: Path) -> None:
    scenario = load_scenario(repo_root / "examples" / "belarus-ukraine-2021.yaml")
    result = replay(scenario.events, scenario.context, t("2021-12-07T12:00Z"))
    (case,) = result.cases
    assert case.procedure == "hazardous_incident" and case.state == "clarification_requested"
    (report,) = case.deadlines
    assert report.rule == "HAZ_REPORT" and report.status == "unknown"
    assert report.owed_by == ("UA",)
    assert case.details["clarification_requests"][0]["elapsed_hours"] == 48.0


def test_hotline_drill_uses_the_bilateral_pack_only_for_its_parties(repo_root: Path) -> None:
    scenario = load_scenario(repo_root / "examples" / "hotline-drill.yaml")
    result = replay(scenario.events, scenario.context)
    ack = result.case("drill-hotline").deadlines[0]
    assert (ack.rule, ack.pack, ack.status) == ("HOTLINE_ACK", "by-ua-2001", "unknown")
    assert ack.met_at == t("2021-06-01T06:40Z")
    assert ack.note is not None and "fill in from the agreement" in ack.note
    replies = {d.owed_by[0]: d for d in result.case("drill-attache").deadlines}
    assert replies["UA"].pack == "by-ua-2001" and replies["PL"].pack is None
