"""Chapter I and VII yearly cycles: the annual exchange by 15 December, the calendar by
15 November of the year before; nil returns; who is missing at the clock."""

from __future__ import annotations

from csbm.procedures.base import Context
from csbm.rules.loader import load_pack
from tests.procedures._events import ev, run, t

CTX = Context(packs=(load_pack("vd2011"),), participants=("BY", "LT", "LV", "UA"))


def test_aemi_deadline_per_state_with_nil_returns_and_late_ones() -> None:
    events = [
        ev("2021-12-01T09:00Z", "aemi", "LT", body={"year": 2021, "units": 70}),
        ev("2021-12-10T09:00Z", "aemi", "LV", body={"year": 2021, "nil": True}),
        ev("2021-12-20T09:00Z", "aemi", "BY", body={"year": 2021, "units": 61}),
    ]
    before = run(events, CTX, at="2021-12-14T00:00Z")
    case = before.case("aemi-2021")
    assert case.state == "open"
    assert case.details["missing"] == ["BY", "UA"]
    assert case.details["nil_returns"] == ["LV"]
    after = run(events, CTX, at="2021-12-31T00:00Z")
    case = after.case("aemi-2021")
    assert case.state == "overdue"
    status = {d.owed_by[0]: d.status for d in case.deadlines}
    assert status == {"BY": "missed", "LT": "met", "LV": "met", "UA": "missed"}
    assert case.details["late"] == ["BY"] and case.details["missing"] == ["UA"]
    assert all(d.due == t("2021-12-15T23:59:59.999999Z") for d in case.deadlines)
    assert sorted(f.kind for f in after.findings) == ["late", "missed"]


def test_calendar_is_due_the_year_before_and_complete_when_all_sent() -> None:
    events = [ev("2016-11-01T09:00Z", "calendar", code, body={"year": 2017, "nil": code == "LV"})
              for code in ("BY", "LT", "LV", "UA")]
    case = run(events, CTX).case("calendar-2017")
    assert case.state == "complete"
    assert {d.due for d in case.deadlines} == {t("2016-11-15T23:59:59.999999Z")}


def test_update_and_non_participant() -> None:
    events = [
        ev("2021-12-01T09:00Z", "aemi", "LT", body={"year": 2021, "units": 70}),
        ev("2021-12-02T09:00Z", "aemi", "LT", body={"year": 2021, "units": 71}),
        ev("2021-12-02T09:00Z", "aemi", "PL", body={"year": 2021, "units": 71}),
    ]
    result = run(events, CTX)
    case = result.case("aemi-2021")
    assert case.details["updates"] == {"LT": 1}
    met = next(d for d in case.deadlines if d.owed_by == ("LT",))
    assert met.met_at == t("2021-12-01T09:00Z")
    assert [f.kind for f in result.findings] == ["not_a_party"]


def test_years_are_separate_cases() -> None:
    events = [ev("2021-12-01T09:00Z", "aemi", "LT", body={"year": 2021}),
              ev("2022-12-01T09:00Z", "aemi", "LT", body={"year": 2022})]
    assert [c.case for c in run(events, CTX).cases] == ["aemi-2021", "aemi-2022"]
