"""Chapter IX inspections through the runner: deadlines, refusals and the passive quota."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csbm.errors import InputError
from csbm.procedures.base import Context
from csbm.procedures.inspection import area_km2
from csbm.procedures.runner import Live, ReplayResult, replay, result_json
from csbm.procedures.scenario import Scenario, scenario_from_data

AREA: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [[[30.0, 50.0], [31.5, 50.0], [31.5, 51.0], [30.0, 51.0], [30.0, 50.0]]],
}


def request(at: str, frm: str, case: str, to: str = "RU", **body: Any) -> dict[str, Any]:
    b = {"receiving_state": to, "area": AREA, "reasons": "notifiable activity suspected"}
    b.update(body)
    return {"at": at, "type": "inspection.request", "from": frm, "to": "all", "case": case,
            "body": b}


def reply(at: str, frm: str, case: str, to: str, decision: str = "accept",
          **body: Any) -> dict[str, Any]:
    return {"at": at, "type": "inspection.reply", "from": frm, "to": to, "case": case,
            "body": {"decision": decision, **body}}


def event(at: str, kind: str, frm: str, case: str, to: str = "all",
          **body: Any) -> dict[str, Any]:
    return {"at": at, "type": kind, "from": frm, "to": to, "case": case, "body": body}


def scenario(events: list[dict[str, Any]], **top: Any) -> Scenario:
    return scenario_from_data({"regime": ["vd2011"], "events": events, **top})


def run(events: list[dict[str, Any]], at: str | None = None, **top: Any) -> ReplayResult:
    sc = scenario(events, **top)
    clock = None if at is None else datetime.fromisoformat(at.replace("Z", "+00:00"))
    return replay(sc.events, sc.context, clock)


def deadline(result: ReplayResult, case: str, rule: str) -> Any:
    [d] = [d for d in result.case(case).deadlines if d.rule == rule]
    return d


def kinds(result: ReplayResult, case: str) -> list[tuple[str, str | None]]:
    return [(f.kind, f.rule) for f in result.case(case).findings]


# ----------------------------------------------------------------------------- happy path


def test_happy_path_request_reply_entry_area_report() -> None:
    r = run([
        request("2015-04-12T09:00Z", "DE", "i1", inspectors=["A", "B", "C", "D"]),
        reply("2015-04-12T20:00Z", "RU", "i1", "DE"),
        event("2015-04-13T12:00Z", "inspection.arrival", "RU", "i1",
              arrival_in_area="2015-04-13T15:00Z"),
        event("2015-04-16T10:00Z", "inspection.report", "DE", "i1", summary="no findings",
              ended_at="2015-04-15T15:00Z"),
    ])
    case = r.case("i1")
    assert case.state == "reported"
    assert case.parties["inspecting"] == ("DE",) and case.parties["receiving"] == ("RU",)
    statuses = {d.rule: (d.status, d.due) for d in case.deadlines}
    assert statuses["INSP_REPLY"] == ("met", datetime(2015, 4, 13, 9, tzinfo=UTC))
    assert statuses["INSP_ENTRY"] == ("met", datetime(2015, 4, 13, 21, tzinfo=UTC))
    assert statuses["INSP_DURATION"] == ("met", datetime(2015, 4, 15, 15, tzinfo=UTC))
    assert statuses["INSP_REPORT"][0] == "unknown"  # "without delay": no number
    assert deadline(r, "i1", "INSP_REPORT").met_at == datetime(2015, 4, 16, 10, tzinfo=UTC)
    assert case.findings == ()
    assert 11_500 < case.details["area_km2"] < 12_200  # 1.5° x 1° at 50° N
    [quota, per_state] = r.quotas
    assert (quota.rule, quota.state, quota.year, quota.limit, quota.used, quota.remaining) == (
        "INSP_QUOTA", "RU", 2015, 3, 1, 2)
    assert (per_state.rule, per_state.counterpart, per_state.remaining) == (
        "INSP_PER_STATE", "DE", 0)


def test_states_along_the_way() -> None:
    events = [
        request("2015-04-12T09:00Z", "DE", "i1"),
        reply("2015-04-12T20:00Z", "RU", "i1", "DE"),
        event("2015-04-13T12:00Z", "inspection.arrival", "RU", "i1"),
        event("2015-04-13T15:00Z", "inspection.arrival", "RU", "i1",
              arrival_in_area="2015-04-13T15:00Z"),
    ]
    assert run(events, at="2015-04-12T10:00Z").case("i1").state == "requested"
    assert run(events, at="2015-04-12T21:00Z").case("i1").state == "accepted"
    assert run(events, at="2015-04-13T13:00Z").case("i1").state == "entered"
    assert run(events, at="2015-04-14T00:00Z").case("i1").state == "in_area"
    late = run(events, at="2015-04-16T00:00Z")
    assert late.case("i1").state == "ended"
    d = deadline(late, "i1", "INSP_DURATION")
    assert d.status == "met" and d.note == "ended by the time limit"
    assert deadline(late, "i1", "INSP_REPORT").status == "unknown"


# ----------------------------------------------------------------------------- what goes wrong


def test_late_reply_is_recorded_late() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-13T11:00Z", "RU", "i1", "DE")])
    d = deadline(r, "i1", "INSP_REPLY")
    assert d.status == "missed" and d.met_at == datetime(2015, 4, 13, 11, tzinfo=UTC)
    assert ("late", "INSP_REPLY") in kinds(r, "i1")


def test_missing_reply_and_entry_are_missed() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1")], at="2015-04-14T09:00Z")
    assert r.case("i1").state == "requested"
    assert deadline(r, "i1", "INSP_REPLY").status == "missed"
    assert deadline(r, "i1", "INSP_ENTRY").status == "missed"
    assert ("missed", "INSP_REPLY") in kinds(r, "i1")


def test_open_before_due() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1")], at="2015-04-12T10:00Z")
    assert deadline(r, "i1", "INSP_REPLY").status == "open"


def test_refusal_within_quota_is_a_finding_and_still_counts() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE", decision="refuse", reason="other",
                   explanation="no activity")], at="2015-04-14T00:00Z")
    assert r.case("i1").state == "refused"
    assert ("violation", "INSP_QUOTA") in kinds(r, "i1")
    assert deadline(r, "i1", "INSP_ENTRY").status == "missed"
    assert r.quotas[0].used == 1


def test_refusal_needs_a_reason() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE", decision="refuse")])
    assert r.case("i1").state == "requested"
    assert ("refused", None) in kinds(r, "i1")


def test_force_majeure_refusal_does_not_use_the_quota() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE", decision="refuse",
                   reason="force_majeure", explanation="floods")], at="2015-04-14T00:00Z")
    case = r.case("i1")
    assert case.state == "refused_force_majeure"
    assert deadline(r, "i1", "INSP_ENTRY").status == "waived"
    assert [f for f in case.findings if f.kind in ("violation", "missed")] == []
    quota = r.quotas[0]
    assert quota.used == 0 and quota.remaining == 3
    assert quota.details["not_counted"] == [{"case": "i1", "from": "DE",
                                             "reason": "force_majeure",
                                             "rule": "INSP_FORCE_MAJEURE"}]
    assert case.details["quota"]["not_counted"] == "INSP_FORCE_MAJEURE"


def test_force_majeure_cancellation_frees_the_place() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE"),
             event("2015-04-13T08:00Z", "inspection.cancellation", "DE", "i1",
                   reason="force_majeure"),
             request("2015-05-01T09:00Z", "DE", "i2")])
    assert r.case("i1").state == "cancelled_force_majeure"
    assert r.case("i2").details["quota"]["verdict"] == "within"


def test_duplicate_message_changes_nothing() -> None:
    rep = reply("2015-04-12T10:00Z", "RU", "i1", "DE")
    r = run([request("2015-04-12T09:00Z", "DE", "i1"), rep, dict(rep)])
    assert ("duplicate", None) in kinds(r, "i1")
    assert deadline(r, "i1", "INSP_REPLY").met_at == datetime(2015, 4, 12, 10, tzinfo=UTC)


def test_second_different_reply_is_refused() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE"),
             reply("2015-04-12T11:00Z", "RU", "i1", "DE", decision="refuse", reason="other")])
    assert r.case("i1").state == "accepted"
    assert ("duplicate", None) in kinds(r, "i1")


def test_reply_before_the_request_is_refused() -> None:
    r = run([reply("2015-04-12T08:00Z", "RU", "i1", "DE"),
             request("2015-04-12T09:00Z", "DE", "i1")])
    assert ("out_of_order", None) in kinds(r, "i1")
    assert deadline(r, "i1", "INSP_REPLY").status == "open"


def test_arrival_order_does_not_matter() -> None:
    events = [
        request("2015-04-12T09:00Z", "DE", "i1"),
        request("2015-04-20T09:00Z", "FR", "i2"),
        request("2015-05-20T09:00Z", "UA", "i3"),
        request("2015-06-20T09:00Z", "PL", "i4"),
        reply("2015-04-12T10:00Z", "RU", "i1", "DE"),
        reply("2015-04-21T10:00Z", "RU", "i2", "FR", decision="refuse",
              reason="force_majeure"),
        event("2015-04-13T10:00Z", "inspection.arrival", "RU", "i1",
              arrival_in_area="2015-04-13T12:00Z"),
    ]
    sc = scenario(events)
    expected = result_json(replay(sc.events, sc.context))
    shuffled = list(sc.events)
    random.Random(4).shuffle(shuffled)
    live = Live(sc.context)
    for ev in shuffled:
        live.receive(ev)
    assert result_json(live.view()) == expected
    assert expected["cases"][3]["state"] == "requested"  # i2 released by force majeure


def test_reply_from_a_state_not_party_is_refused() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "BY", "i1", "DE")])
    assert ("not_a_party", None) in kinds(r, "i1")
    assert r.case("i1").state == "requested"


def test_request_naming_another_inspecting_state_is_refused() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1", inspecting_state="FR")])
    assert r.case("i1").state == "empty"
    assert ("not_a_party", None) in kinds(r, "i1")


def test_report_only_from_the_inspecting_state() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE"),
             event("2015-04-16T10:00Z", "inspection.report", "RU", "i1")])
    assert ("not_a_party", None) in kinds(r, "i1")


def test_too_many_inspectors_is_a_finding() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1", inspectors=list("ABCDE"))])
    assert ("violation", "INSP_TEAM") in kinds(r, "i1")


# ----------------------------------------------------------------------------- quota


def four_requests() -> list[dict[str, Any]]:
    return [request("2015-03-01T09:00Z", "DE", "i1"), request("2015-04-01T09:00Z", "FR", "i2"),
            request("2015-05-01T09:00Z", "UA", "i3"), request("2015-06-01T09:00Z", "PL", "i4")]


def test_request_over_quota_is_not_a_missed_reply() -> None:
    events = four_requests()
    events += [reply(e["at"].replace("09:00", "10:00"), "RU", e["case"], e["from"])
               for e in events[:3]]
    r = run(events, at="2015-06-05T00:00Z")
    case = r.case("i4")
    assert case.state == "over_quota"
    assert deadline(r, "i4", "INSP_REPLY").status == "waived"
    assert deadline(r, "i4", "INSP_ENTRY").status == "waived"
    assert "over quota" in (deadline(r, "i4", "INSP_REPLY").note or "")
    assert kinds(r, "i4") == [("quota", "INSP_QUOTA")]
    assert not [f for f in r.findings if f.case == "i4" and f.kind in ("missed", "late")]
    quota = r.quotas[0]
    assert (quota.used, quota.remaining) == (3, 0)
    assert quota.details["over_quota"][0]["case"] == "i4"


def test_over_quota_request_may_still_be_accepted_without_counting() -> None:
    events = [*four_requests(), reply("2015-06-01T10:00Z", "RU", "i4", "PL")]
    r = run(events, at="2015-06-05T00:00Z")
    assert r.case("i4").state == "accepted"
    assert r.quotas[0].used == 3


def test_second_request_from_the_same_state_is_over_quota() -> None:
    r = run([request("2015-03-01T09:00Z", "DE", "i1"), request("2015-04-01T09:00Z", "DE", "i2")],
            at="2015-04-05T00:00Z")
    assert r.case("i2").state == "over_quota"
    assert kinds(r, "i2") == [("quota", "INSP_PER_STATE")]
    assert r.case("i1").state == "requested"


def test_year_boundary_resets_the_quota() -> None:
    events = [*four_requests()[:3], request("2016-01-01T00:30+02:00", "PL", "i4"),
              request("2016-01-01T00:30Z", "DE", "i5")]
    r = run(events)
    assert r.case("i4").state == "over_quota"  # still 2015 in UTC
    assert r.case("i5").details["quota"]["verdict"] == "within"
    assert [(q.year, q.used) for q in r.quotas if q.counterpart is None] == [(2015, 3), (2016, 1)]


def test_multinational_guests_do_not_use_their_own_allowance() -> None:
    r = run([request("2015-03-01T09:00Z", "DE", "i1", guests=["FR"]),
             request("2015-04-01T09:00Z", "FR", "i2")], at="2015-04-05T00:00Z")
    assert r.case("i2").details["quota"]["verdict"] == "within"
    assert r.case("i1").parties["guests"] == ("FR",)


# ----------------------------------------------------------------------------- bilateral

BILATERAL = """id: by-ua-test
title: test agreement
version: "1"
kind: bilateral
parties: [BY, UA]
in_force: 2001-06-01
rules:
  - id: BILAT_INSP_QUOTA
    title: additional inspections per year
    strength: commitment
    measure: inspection
    spec: {type: quota, count: 1, per: calendar_year, scope: from_same_state}
    provenance: {status: agreement}
"""


def test_bilateral_request_counts_apart(tmp_path: Path) -> None:
    (tmp_path / "by-ua.yaml").write_text(BILATERAL)
    sc = scenario_from_data({"regime": ["vd2011", "by-ua.yaml"], "events": [
        request("2015-03-01T09:00Z", "UA", "v1", to="BY"),
        request("2015-03-10T09:00Z", "UA", "b1", to="BY", regime="by-ua-test"),
        request("2015-03-20T09:00Z", "UA", "b2", to="BY", regime="by-ua-test"),
        request("2015-03-21T09:00Z", "DE", "x", to="BY", regime="by-ua-test"),
    ]}, base_dir=tmp_path)
    r = replay(sc.events, sc.context)
    assert r.case("v1").details["quota"]["verdict"] == "within"
    assert r.case("b1").details["quota"]["rule"] == "BILAT_INSP_QUOTA"
    assert r.case("b1").state == "requested"
    assert r.case("b2").state == "over_quota"
    assert kinds(r, "b2") == [("quota", "BILAT_INSP_QUOTA")]
    assert ("refused", None) in kinds(r, "x")  # DE is not a party of the agreement
    main = [(q.pack, q.rule, q.used, q.remaining) for q in r.quotas if q.counterpart is None]
    assert main == [("by-ua-test", "BILAT_INSP_QUOTA", 1, 0), ("vd2011", "INSP_QUOTA", 1, 2)]


def test_unknown_regime_is_refused() -> None:
    r = run([request("2015-03-01T09:00Z", "UA", "b1", to="BY", regime="nope")])
    assert r.case("b1").state == "empty"
    assert ("refused", None) in kinds(r, "b1")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("area", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51], [30, 51]]]},
         "not closed"),
        ({"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [30, 50]]]}, "at least 4"),
        ({"type": "Polygon", "coordinates": [[[190, 50], [31, 50], [31, 51], [190, 50]]]},
         "coordinates[0][0]: longitude must be within -180..180 (got 190.0)"),
        ({"type": "Polygon", "coordinates": [[[30, 95], [31, 50], [31, 51], [30, 95]]]},
         "coordinates[0][0]: latitude must be within -90..90 (got 95.0)"),
        ({"type": "Point", "coordinates": [30, 50]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[["a", 50], [31, 50], [31, 51], ["a", 50]]]},
         "coordinates[0][0]: the longitude must be a number, not text (got 'a')"),
        ({"type": "Feature", "geometry": None}, "needs a geometry"),
    ],
)
def test_bad_area_is_refused_with_its_path(area: dict[str, Any], reason: str) -> None:
    with pytest.raises(InputError) as info:
        scenario([request("2015-03-01T09:00Z", "DE", "i1", area=area)])
    [problem] = info.value.problems
    assert problem.path == "events[0].body.area"
    assert reason in problem.reason


def test_request_without_reasons_is_refused() -> None:
    ev = request("2015-03-01T09:00Z", "DE", "i1")
    del ev["body"]["reasons"]
    with pytest.raises(InputError) as info:
        scenario([ev])
    assert [p.path for p in info.value.problems] == ["events[0].body.reasons"]


def test_bad_receiving_state_and_reply_reason() -> None:
    with pytest.raises(InputError) as info:
        scenario([request("2015-03-01T09:00Z", "DE", "i1", to="XX"),
                  reply("2015-03-01T10:00Z", "RU", "i1", "DE", decision="maybe")])
    paths = [p.path for p in info.value.problems]
    assert "events[0].body.receiving_state" in paths
    assert "events[1].body.decision" in paths


def test_feature_and_multipolygon_areas_are_accepted() -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": AREA}
    multi = {"type": "MultiPolygon", "coordinates": [AREA["coordinates"]]}
    assert area_km2(feature) == area_km2(multi) == area_km2(AREA)
    r = run([request("2015-03-01T09:00Z", "DE", "i1", area=feature)])
    assert r.case("i1").state == "requested"


def test_every_deadline_number_comes_from_the_pack(tmp_path: Path) -> None:
    from importlib import resources

    text = (resources.files("csbm.regimes") / "vd2011.yaml").read_text()
    text = text.replace("spec: {type: period, amount: 24, unit: hours, direction: after, "
                        "anchor: request}", "spec: {type: period, amount: 12, unit: hours, "
                        "direction: after, anchor: request}")
    text = text.replace("id: vd2011", "id: vd2011-test")
    (tmp_path / "vd.yaml").write_text(text)
    sc = scenario_from_data({"regime": ["vd.yaml"], "events": [
        request("2015-04-12T09:00Z", "DE", "i1")]}, base_dir=tmp_path)
    r = replay(sc.events, Context(packs=sc.context.packs))
    assert deadline(r, "i1", "INSP_REPLY").due == datetime(2015, 4, 12, 21, tzinfo=UTC)


# ----------------------------------------------------------------------------- example


def test_example_inspection_quota_replay_json(repo_root: Path) -> None:
    import json

    from typer.testing import CliRunner

    from csbm.cli.main import app

    out = CliRunner().invoke(app, ["replay", str(repo_root / "examples/inspection-quota.yaml"),
                                   "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    cases = {c["case"]: c for c in doc["cases"]}
    assert {k: c["state"] for k, c in cases.items()} == {
        "insp-de-2015": "reported", "insp-fr-2015": "refused_force_majeure",
        "insp-ua-2015": "reported", "insp-pl-2015": "reported",
        "insp-de-2015-2": "over_quota", "insp-se-2016": "accepted"}
    over = cases["insp-de-2015-2"]
    assert {d["rule"]: d["status"] for d in over["deadlines"]} == {
        "INSP_REPLY": "waived", "INSP_ENTRY": "waived"}
    assert [(f["kind"], f["rule"]) for f in over["findings"]] == [("quota", "INSP_QUOTA")]
    assert [(f["kind"], f["case"]) for f in doc["findings"]] == [("quota", "insp-de-2015-2")]
    main = [(q["rule"], q["state"], q["year"], q["limit"], q["used"], q["remaining"])
            for q in doc["quotas"] if q["counterpart"] is None]
    assert main == [("INSP_QUOTA", "RU", 2015, 3, 3, 0), ("INSP_QUOTA", "RU", 2016, 3, 1, 2)]
    q2015 = doc["quotas"][0]
    assert q2015["details"]["by_state"] == {"DE": 1, "PL": 1, "UA": 1}
    assert q2015["details"]["not_counted"] == [{"case": "insp-fr-2015", "from": "FR",
                                                "reason": "force_majeure",
                                                "rule": "INSP_FORCE_MAJEURE"}]
    de = cases["insp-de-2015"]
    assert {d["rule"]: d["status"] for d in de["deadlines"]} == {
        "INSP_REPLY": "met", "INSP_ENTRY": "met", "INSP_DURATION": "met",
        "INSP_REPORT": "unknown"}
    # already used up in July, before Germany asked again
    early = CliRunner().invoke(app, ["replay", str(repo_root / "examples/inspection-quota.yaml"),
                                     "--json", "--at", "2015-07-01T00:00Z"])
    assert json.loads(early.stdout)["quotas"][0]["remaining"] == 0
    text = CliRunner().invoke(app, ["replay", str(repo_root / "examples/inspection-quota.yaml")])
    assert text.exit_code == 0 and "over_quota" in text.stdout


def test_bundled_bilateral_pack_without_a_number_is_unknown() -> None:
    sc = scenario_from_data({"regime": ["vd2011", "by-lv-2004"], "events": [
        request("2015-03-01T09:00Z", "LV", "b1", to="BY", regime="by-lv-2004"),
        request("2015-03-02T09:00Z", "LV", "b2", to="BY", regime="by-lv-2004")]})
    r = replay(sc.events, sc.context)
    assert r.case("b2").details["quota"]["verdict"] == "unknown"
    assert r.case("b2").state == "requested"
    [q] = [q for q in r.quotas if q.pack == "by-lv-2004"]
    assert q.limit is None and q.remaining is None and q.used == 2
    assert "gives no number" in (q.note or "")


def test_local_times_with_daylight_saving() -> None:
    # 02:30 on 29 March 2015 does not exist in Berlin (clocks jump from 02:00 to 03:00)
    with pytest.raises(InputError) as info:
        scenario([request("2015-03-28T09:00Z", "DE", "i1"),
                  event("2015-03-29T09:00Z", "inspection.arrival", "RU", "i1",
                        arrival_in_area="2015-03-29T02:30 Europe/Berlin")])
    assert [p.path for p in info.value.problems] == ["events[1].body.arrival_in_area"]
    # 03:30 Berlin summer time is 01:30 UTC: the 48 h run from there
    r = run([request("2015-03-28T09:00Z", "DE", "i1"),
             reply("2015-03-28T10:00Z", "RU", "i1", "DE"),
             event("2015-03-29T09:00Z", "inspection.arrival", "RU", "i1",
                   arrival_in_area="2015-03-29T03:30 Europe/Berlin")])
    assert deadline(r, "i1", "INSP_DURATION").due == datetime(2015, 3, 31, 1, 30, tzinfo=UTC)


def test_arrival_from_a_third_state_and_after_a_refusal_are_refused() -> None:
    r = run([request("2015-04-12T09:00Z", "DE", "i1"),
             event("2015-04-12T09:30Z", "inspection.arrival", "PL", "i1"),
             reply("2015-04-12T10:00Z", "RU", "i1", "DE", decision="refuse",
                   reason="force_majeure"),
             event("2015-04-12T11:00Z", "inspection.arrival", "RU", "i1")])
    assert [k for k, _ in kinds(r, "i1")] == ["not_a_party", "refused"]
    assert r.case("i1").details["entered_at"] is None
