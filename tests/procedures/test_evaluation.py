"""Chapter IX evaluation visits through the runner: notice, reply, quota from reported units."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csbm.errors import InputError
from csbm.procedures.runner import Live, ReplayResult, replay, result_json
from csbm.procedures.scenario import Scenario, scenario_from_data


def request(at: str, frm: str, case: str, unit: str, visit_at: str, to: str = "BY",
            **body: Any) -> dict[str, Any]:
    return {"at": at, "type": "evaluation.request", "from": frm, "to": to, "case": case,
            "body": {"receiving_state": to, "unit": unit, "visit_at": visit_at, **body}}


def reply(at: str, case: str, to: str, decision: str = "accept", frm: str = "BY",
          **body: Any) -> dict[str, Any]:
    return {"at": at, "type": "evaluation.reply", "from": frm, "to": to, "case": case,
            "body": {"decision": decision, **body}}


def scenario(events: list[dict[str, Any]], units: dict[str, dict[int, int]] | None = None
             ) -> Scenario:
    data: dict[str, Any] = {"regime": ["vd2011"], "events": events}
    if units is not None:
        data["units"] = units
    return scenario_from_data(data)


def run(events: list[dict[str, Any]], units: dict[str, dict[int, int]] | None = None,
        at: str | None = None) -> ReplayResult:
    sc = scenario(events, units)
    clock = None if at is None else datetime.fromisoformat(at.replace("Z", "+00:00"))
    return replay(sc.events, sc.context, clock)


def deadline(result: ReplayResult, case: str, rule: str) -> Any:
    [d] = [d for d in result.case(case).deadlines if d.rule == rule]
    return d


def kinds(result: ReplayResult, case: str) -> list[tuple[str, str | None]]:
    return [(f.kind, f.rule) for f in result.case(case).findings]


def main_quota(result: ReplayResult, state: str = "BY", year: int = 2016) -> Any:
    [q] = [q for q in result.quotas
           if q.counterpart is None and q.state == state and q.year == year]
    return q


UNITS = {"BY": {2016: 130}}  # quota 3, a fifth → 1 per State


def test_happy_path() -> None:
    r = run([
        request("2016-06-28T08:00Z", "DE", "e1", "120th Mechanised Brigade",
                "2016-07-05T08:00Z", team=["A", "B"]),
        reply("2016-06-29T08:00Z", "e1", "DE"),
        {"at": "2016-07-06T09:00Z", "type": "evaluation.report", "from": "DE", "to": "all",
         "case": "e1", "body": {"visit_start": "2016-07-05T08:00Z",
                                "visit_end": "2016-07-05T17:00Z"}},
    ], units=UNITS)
    case = r.case("e1")
    assert case.state == "reported"
    statuses = {d.rule: (d.status, d.due) for d in case.deadlines}
    assert statuses["EVAL_NOTICE"] == ("met", datetime(2016, 6, 30, 8, tzinfo=UTC))
    assert statuses["EVAL_REPLY"] == ("met", datetime(2016, 6, 30, 8, tzinfo=UTC))
    assert statuses["EVAL_DURATION"] == ("met", datetime(2016, 7, 5, 20, tzinfo=UTC))
    assert case.findings == ()
    q = main_quota(r)
    assert (q.rule, q.limit, q.used, q.remaining) == ("EVAL_QUOTA", 3, 1, 2)
    assert q.details["units"] == 130 and q.details["per_state_cap"] == 1


def test_states_along_the_way() -> None:
    events = [request("2016-06-28T08:00Z", "DE", "e1", "u1", "2016-07-05T08:00Z"),
              reply("2016-06-29T08:00Z", "e1", "DE")]
    assert run(events, UNITS, at="2016-06-28T09:00Z").case("e1").state == "requested"
    assert run(events, UNITS, at="2016-07-01T00:00Z").case("e1").state == "accepted"
    assert run(events, UNITS, at="2016-07-05T09:00Z").case("e1").state == "visiting"
    over = run(events, UNITS, at="2016-07-06T00:00Z")
    assert over.case("e1").state == "visit_over"
    assert deadline(over, "e1", "EVAL_DURATION").note == "ended by the time limit"


def test_short_notice_is_late() -> None:
    r = run([request("2016-07-02T08:00Z", "DE", "e1", "u1", "2016-07-05T08:00Z")], UNITS)
    d = deadline(r, "e1", "EVAL_NOTICE")
    assert d.status == "missed" and d.met_at is not None
    assert ("late", "EVAL_NOTICE") in kinds(r, "e1")


def test_late_and_missing_replies() -> None:
    late = run([request("2016-06-20T08:00Z", "DE", "e1", "u1", "2016-07-05T08:00Z"),
                reply("2016-06-23T08:00Z", "e1", "DE")], UNITS)
    assert ("late", "EVAL_REPLY") in kinds(late, "e1")
    missing = run([request("2016-06-20T08:00Z", "DE", "e1", "u1", "2016-07-05T08:00Z")],
                  UNITS, at="2016-06-23T00:00Z")
    assert ("missed", "EVAL_REPLY") in kinds(missing, "e1")


def test_refusal_within_quota_is_a_finding_unless_the_unit_is_away() -> None:
    events = [request("2016-06-20T08:00Z", "DE", "e1", "u1", "2016-07-05T08:00Z"),
              reply("2016-06-21T08:00Z", "e1", "DE", decision="refuse", reason="other"),
              request("2016-06-20T09:00Z", "FR", "e2", "u2", "2016-07-08T08:00Z"),
              reply("2016-06-21T08:00Z", "e2", "FR", decision="refuse", reason="unit_absent")]
    r = run(events, UNITS)
    assert r.case("e1").state == "refused"
    assert ("violation", "EVAL_QUOTA") in kinds(r, "e1")
    assert kinds(r, "e2") == []


def test_sender_not_party_duplicate_and_out_of_order() -> None:
    rep = reply("2016-06-21T08:00Z", "e1", "DE")
    r = run([reply("2016-06-19T08:00Z", "e1", "DE"),
             request("2016-06-20T08:00Z", "DE", "e1", "u1", "2016-07-05T08:00Z"),
             reply("2016-06-21T07:00Z", "e1", "DE", frm="RU"),
             rep, dict(rep)], UNITS)
    found = kinds(r, "e1")
    assert ("out_of_order", None) in found
    assert ("not_a_party", None) in found
    assert ("duplicate", None) in found
    assert r.case("e1").state == "accepted"


def test_quota_over_overall_and_from_the_same_state() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
             request("2016-03-02T08:00Z", "DE", "e2", "u2", "2016-03-20T08:00Z"),
             request("2016-03-03T08:00Z", "FR", "e3", "u3", "2016-03-21T08:00Z"),
             request("2016-03-04T08:00Z", "UA", "e4", "u4", "2016-03-22T08:00Z"),
             request("2016-03-05T08:00Z", "PL", "e5", "u5", "2016-03-23T08:00Z")],
            UNITS, at="2016-03-09T00:00Z")
    assert r.case("e2").state == "over_quota"
    assert kinds(r, "e2") == [("quota", "EVAL_PER_STATE")]
    assert r.case("e5").state == "over_quota"
    assert kinds(r, "e5") == [("quota", "EVAL_QUOTA")]
    assert deadline(r, "e5", "EVAL_REPLY").status == "waived"
    q = main_quota(r)
    assert (q.used, q.remaining, q.details["filled"]) == (3, 0, True)


def test_filled_quota_must_be_announced() -> None:
    events = [request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z")]
    r = run(events, {"BY": {2016: 59}})
    d = deadline(r, "e1", "EVAL_QUOTA_FILLED")
    assert d.status == "unknown" and d.owed_by == ("BY",) and d.owed_to == ("all",)
    assert [f.kind for f in r.findings if f.rule == "EVAL_QUOTA_FILLED"] == ["obligation"]
    announced = run([*events, {"at": "2016-03-02T08:00Z", "type": "evaluation.quota_filled",
                               "from": "BY", "to": "all", "case": "by-filled-2016",
                               "body": {"year": 2016}}], {"BY": {2016: 59}})
    assert deadline(announced, "e1", "EVAL_QUOTA_FILLED").met_at == datetime(
        2016, 3, 2, 8, tzinfo=UTC)
    assert not [f for f in announced.findings if f.rule == "EVAL_QUOTA_FILLED"]
    assert announced.case("by-filled-2016").state == "quota_filled_announced"


def test_announcing_an_unfilled_quota_is_inconsistent() -> None:
    r = run([{"at": "2016-03-02T08:00Z", "type": "evaluation.quota_filled", "from": "BY",
              "to": "all", "case": "a", "body": {"year": 2016}}], UNITS)
    assert kinds(r, "a") == [("inconsistency", "EVAL_QUOTA_FILLED")]


@pytest.mark.parametrize(("units", "quota"), [(59, 1), (60, 1), (61, 2), (900, 15),
                                              (901, 15), (5000, 15)])
def test_quota_formula_from_reported_units(units: int, quota: int) -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z")],
            {"BY": {2016: units}})
    assert main_quota(r).limit == quota


def test_units_from_the_annual_exchange_message() -> None:
    aemi = {"at": "2015-12-14T10:00Z", "type": "aemi", "from": "BY", "to": "all",
            "case": "aemi-BY-2015", "body": {"year": 2015, "units": 130}}
    r = run([aemi, request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z")])
    assert main_quota(r).limit == 3
    assert r.case("e1").details["units_reported"] == 130


def test_unknown_units_give_an_unknown_quota() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z")])
    q = main_quota(r)
    assert q.limit is None and q.remaining is None
    assert "not known" in (q.note or "")
    assert r.case("e1").details["quota"]["verdict"] == "unknown"
    assert deadline(r, "e1", "EVAL_REPLY").status != "waived"


def test_year_boundary_resets_the_quota() -> None:
    r = run([request("2016-12-31T22:00Z", "DE", "e1", "u1", "2017-01-10T08:00Z"),
             request("2017-01-01T01:00+02:00", "DE", "e2", "u2", "2017-01-20T08:00Z"),
             request("2017-01-01T08:00Z", "DE", "e3", "u3", "2017-01-30T08:00Z")],
            {"BY": {2016: 130, 2017: 130}})
    assert r.case("e2").state == "over_quota"  # 2016-12-31T23:00Z
    assert r.case("e3").details["quota"]["verdict"] == "within"


def test_per_unit_limits() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
             request("2016-03-02T08:00Z", "FR", "e2", "u1", "2016-04-10T08:00Z"),
             request("2016-03-03T08:00Z", "UA", "e3", "u1", "2016-05-10T08:00Z")],
            {"BY": {2016: 900}})
    assert kinds(r, "e3") == [("quota", "EVAL_PER_UNIT")]


def test_one_visit_at_a_time() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
             request("2016-03-02T08:00Z", "FR", "e2", "u2", "2016-03-10T12:00Z"),
             request("2016-03-03T08:00Z", "UA", "e3", "u3", "2016-03-10T20:00Z")],
            {"BY": {2016: 900}}, at="2016-03-05T00:00Z")
    assert r.case("e2").state == "concurrent"
    assert kinds(r, "e2") == [("quota", "EVAL_CONCURRENT")]
    assert deadline(r, "e2", "EVAL_REPLY").status == "waived"
    assert r.case("e3").state == "requested"


def test_a_refused_visit_frees_its_time() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
             reply("2016-03-01T12:00Z", "e1", "DE", decision="refuse", reason="unit_absent"),
             request("2016-03-02T08:00Z", "FR", "e2", "u2", "2016-03-10T12:00Z")],
            {"BY": {2016: 900}})
    assert r.case("e2").details["quota"]["verdict"] == "within"


def test_too_large_team() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z",
                     team=["A", "B", "C"], interpreter="I")], UNITS)
    assert ("violation", "EVAL_TEAM") in kinds(r, "e1")


def test_arrival_order_does_not_matter() -> None:
    sc = scenario([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
                   request("2016-03-02T08:00Z", "FR", "e2", "u2", "2016-03-10T12:00Z"),
                   reply("2016-03-01T09:00Z", "e1", "DE", decision="refuse",
                         reason="force_majeure"),
                   request("2016-03-03T08:00Z", "UA", "e3", "u3", "2016-03-20T08:00Z"),
                   request("2016-03-04T08:00Z", "PL", "e4", "u4", "2016-03-25T08:00Z")],
                  UNITS)
    expected = result_json(replay(sc.events, sc.context))
    for seed in range(3):
        shuffled = list(sc.events)
        random.Random(seed).shuffle(shuffled)
        live = Live(sc.context)
        for ev in shuffled:
            live.receive(ev)
        assert result_json(live.view()) == expected


def test_bad_bodies_are_refused_with_paths() -> None:
    with pytest.raises(InputError) as info:
        scenario([request("2016-03-01T08:00Z", "DE", "e1", "", "not a time"),
                  {"at": "2016-03-02T08:00Z", "type": "evaluation.quota_filled", "from": "BY",
                   "to": "all", "case": "a", "body": {}}])
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["events[0].body.unit", "events[0].body.visit_at", "events[1].body.year"]


# ----------------------------------------------------------------------------- example


def test_example_evaluation_quota_replay_json(repo_root: Path) -> None:
    import json

    from typer.testing import CliRunner

    from csbm.cli.main import app

    out = CliRunner().invoke(app, ["replay", str(repo_root / "examples/evaluation-quota.yaml"),
                                   "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    cases = {c["case"]: c for c in doc["cases"]}
    assert {k: c["state"] for k, c in cases.items()} == {
        "eval-de-2016": "reported", "eval-lt-2016": "visit_over",
        "eval-lv-2016": "concurrent", "eval-de-2016-2": "over_quota",
        "eval-pl-2016": "visit_over", "eval-by-filled-2016": "quota_filled_announced",
        "eval-se-2016": "over_quota"}
    assert [(f["case"], f["rule"]) for f in doc["findings"]] == [
        ("eval-lv-2016", "EVAL_CONCURRENT"), ("eval-de-2016-2", "EVAL_PER_STATE"),
        ("eval-se-2016", "EVAL_QUOTA")]
    filled = [d for d in cases["eval-pl-2016"]["deadlines"] if d["rule"] == "EVAL_QUOTA_FILLED"]
    assert filled[0]["met_at"] == "2016-06-02T09:00:00Z"
    [main] = [q for q in doc["quotas"] if q["counterpart"] is None]
    assert (main["rule"], main["limit"], main["used"], main["remaining"]) == (
        "EVAL_QUOTA", 3, 3, 0)
    assert main["details"]["units"] == 130 and main["details"]["per_state_cap"] == 1
    assert main["details"]["filled_at"] == "2016-06-01T08:00:00Z"


def test_bundled_bilateral_pack_quota_counts_apart() -> None:
    sc = scenario_from_data({"regime": ["vd2011", "by-lt"], "units": UNITS, "events": [
        request("2016-03-01T08:00Z", "LT", "b1", "6th Mechanised Brigade", "2016-03-10T08:00Z",
                regime="by-lt"),
        request("2016-04-01T08:00Z", "LT", "b2", "6th Mechanised Brigade", "2016-04-10T08:00Z",
                regime="by-lt"),
        request("2016-05-01T08:00Z", "LT", "v1", "11th Mechanised Brigade",
                "2016-05-10T08:00Z"),
        request("2016-05-02T08:00Z", "PL", "x", "11th Mechanised Brigade", "2016-05-20T08:00Z",
                regime="by-lt"),
    ]})
    r = replay(sc.events, sc.context)
    assert r.case("b1").details["quota"]["rule"] == "BILAT_EVAL_QUOTA"
    assert kinds(r, "b2") == [("quota", "BILAT_EVAL_QUOTA")]
    assert r.case("v1").details["quota"]["verdict"] == "within"
    assert ("refused", None) in kinds(r, "x")  # Poland is not a party of by-lt
    main = [(q.pack, q.limit, q.used) for q in r.quotas if q.counterpart is None]
    assert main == [("by-lt", 1, 1), ("vd2011", 3, 1)]


def test_cancellation_frees_the_time_but_still_counts() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
             reply("2016-03-01T12:00Z", "e1", "DE"),
             {"at": "2016-03-02T08:00Z", "type": "evaluation.cancellation", "from": "DE",
              "to": "BY", "case": "e1", "body": {"reason": "illness"}},
             request("2016-03-03T08:00Z", "FR", "e2", "u2", "2016-03-10T12:00Z")], UNITS)
    assert r.case("e1").state == "cancelled"
    assert r.case("e2").details["quota"]["verdict"] == "within"
    assert main_quota(r).used == 2  # no force-majeure rule for evaluation visits


def test_confirmed_time_in_the_reply_moves_the_visit() -> None:
    r = run([request("2016-03-01T08:00Z", "DE", "e1", "u1", "2016-03-10T08:00Z"),
             reply("2016-03-01T12:00Z", "e1", "DE", visit_at="2016-03-11T08:00 Europe/Minsk"),
             request("2016-03-02T08:00Z", "FR", "e2", "u2", "2016-03-10T12:00Z")],
            {"BY": {2016: 900}}, at="2016-03-11T06:00Z")
    assert r.case("e2").details["quota"]["verdict"] == "within"  # no longer overlapping
    assert r.case("e1").state == "visiting"  # 08:00 Minsk = 05:00 UTC
