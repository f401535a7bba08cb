"""¶17 hazardous incidents: report, clarification; no number in vd2011, one in a bilateral pack."""

from __future__ import annotations

from pathlib import Path

from csbm.procedures.base import Context
from csbm.rules.loader import load_pack
from tests.procedures._events import bilateral_pack, ev, run, t

REPORT = ev("2021-12-04T18:00Z", "incident.report", "UA", "BY",
            body={"occurred_at": "2021-12-04T12:00Z", "description": "helicopter near the border"})


def test_report_deadline_unknown_in_vd2011_elapsed_time_tracked() -> None:
    ask = ev("2021-12-05T10:00Z", "incident.clarification_request", "BY", "UA",
             body={"questions": ["which unit?"]})
    result = run([REPORT, ask], at="2021-12-06T10:00Z")
    case = result.cases[0]
    assert case.state == "clarification_requested"
    (report,) = case.deadlines
    assert report.rule == "HAZ_REPORT" and report.status == "unknown"
    assert report.met_at == t("2021-12-04T18:00Z")
    assert case.details["hours_to_report"] == 6.0
    assert case.details["clarification_requests"][0]["elapsed_hours"] == 24.0
    assert result.findings == ()


def test_bilateral_pack_sets_a_clarification_deadline(tmp_path: Path) -> None:
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path, clarify="24")))
    ask = ev("2021-12-05T10:00Z", "incident.clarification_request", "BY", "UA")
    answer = ev("2021-12-06T12:00Z", "incident.clarification", "UA", "BY")
    result = run([REPORT, ask, answer], ctx)
    d = {d.rule: d for d in result.cases[0].deadlines}["HAZ_CLARIFY"]
    assert d.due == t("2021-12-06T10:00Z") and d.status == "missed"
    assert d.met_at == t("2021-12-06T12:00Z")
    assert result.cases[0].state == "clarified"
    assert [f.kind for f in result.findings] == ["late"]


def test_clarification_asked_without_a_report() -> None:
    ask = ev("2021-12-05T10:00Z", "incident.clarification_request", "BY", "UA",
             body={"occurred_at": "2021-12-04T12:00Z", "description": "Nova Rudnia"})
    result = run([ask], at="2021-12-05T12:00Z")
    case = result.cases[0]
    assert case.parties == {"reporting": ("UA",), "concerned": ("BY",)}
    assert case.deadlines[0].rule == "HAZ_REPORT" and case.deadlines[0].met_at is None


def test_wrong_ways() -> None:
    not_concerned = ev("2021-12-05T10:00Z", "incident.clarification_request", "PL", "UA")
    own = ev("2021-12-05T10:00Z", "incident.clarification_request", "UA", "BY")
    nothing_open = ev("2021-12-05T11:00Z", "incident.clarification", "UA", "BY")
    wrong_sender = ev("2021-12-05T12:00Z", "incident.clarification", "BY", "UA")
    again = ev("2021-12-05T13:00Z", "incident.report", "UA", "BY")
    result = run([REPORT, not_concerned, own, nothing_open, wrong_sender, again])
    assert [f.kind for f in result.findings] == [
        "not_a_party", "not_a_party", "out_of_sequence", "not_a_party", "duplicate"]


def test_clarification_before_anything() -> None:
    result = run([ev("2021-12-05T11:00Z", "incident.clarification", "UA", "BY")])
    assert [f.kind for f in result.findings] == ["out_of_sequence"]


def test_second_open_request_from_the_same_state() -> None:
    ask = ev("2021-12-05T10:00Z", "incident.clarification_request", "BY", "UA")
    ask2 = ev("2021-12-05T11:00Z", "incident.clarification_request", "BY", "UA",
              body={"questions": ["again"]})
    assert [f.kind for f in run([REPORT, ask, ask2]).findings] == ["duplicate"]
