"""¶18 voluntary visits to dispel concerns (Ukraine, March 2014): no deadline."""

from __future__ import annotations

from tests.procedures._events import ev, run

INVITE = ev("2014-03-05T12:00Z", "visit.invitation", "UA", "all",
            body={"reasons": "military activities in Crimea", "area": "Crimea",
                  "starts": "2014-03-06", "ends": "2014-03-12"})


def test_happy_path() -> None:
    accept = ev("2014-03-05T18:00Z", "visit.acceptance", "DE", "UA", body={"visitors": 4})
    decline = ev("2014-03-05T19:00Z", "visit.acceptance", "RU", "UA", body={"accept": False})
    report = ev("2014-03-13T12:00Z", "visit.report", "DE", "all", body={"text": "turned back"})
    result = run([INVITE, accept, decline, report])
    case = result.cases[0]
    assert case.state == "reported" and case.deadlines == ()
    assert case.details["accepted"] == ["DE"] and case.details["declined"] == ["RU"]
    assert result.findings == ()


def test_wrong_ways() -> None:
    named = ev("2014-03-05T12:00Z", "visit.invitation", "UA", ["DE", "PL"], case="v2")
    uninvited = ev("2014-03-05T13:00Z", "visit.acceptance", "RU", "UA", case="v2")
    host = ev("2014-03-05T13:00Z", "visit.acceptance", "UA", "UA", case="v2")
    ok = ev("2014-03-05T14:00Z", "visit.acceptance", "DE", "UA", case="v2")
    twice = ev("2014-03-05T15:00Z", "visit.acceptance", "DE", "UA", case="v2",
               body={"visitors": 2})
    stranger_report = ev("2014-03-06T15:00Z", "visit.report", "PL", "all", case="v2")
    other_host = ev("2014-03-06T15:00Z", "visit.invitation", "RU", "all", case="v2")
    before = ev("2014-03-04T15:00Z", "visit.acceptance", "DE", "UA", case="v3")
    result = run([named, uninvited, host, ok, twice, stranger_report, other_host, before])
    kinds = [f.kind for f in result.findings]
    assert kinds == ["out_of_sequence", "not_a_party", "not_a_party", "duplicate",
                     "not_a_party", "not_a_party"]
