"""Date limits ("not later than 15 November"): the day itself is within the limit by
default (``date_limit: end_of_day``); ``start_of_day`` is the other reading."""

from __future__ import annotations

import copy

import pytest
import yaml

from csbm.errors import RulePackError
from csbm.procedures.base import Context
from csbm.rules import Regime, assess_activity, check_pack, parse_pack
from csbm.rules.deadlines import (
    END_OF_DAY,
    START_OF_DAY,
    date_limit_due,
    date_limit_reading,
)
from csbm.rules.pack import AnnualDateSpec, RulePack
from tests.procedures._events import ev, run
from tests.rules._helpers import activity, at, vd2011, with_option

CAL = AnnualDateSpec(type="annual_date", month=11, day=15, year_offset=-1)


def _start_of_day() -> RulePack:
    return with_option(vd2011(), "date_limit", START_OF_DAY)


def test_due_at_the_end_of_the_day_by_default() -> None:
    assert date_limit_due(CAL, 2017) == at("2016-11-15T23:59:59.999999Z")
    assert date_limit_due(CAL, 2017, END_OF_DAY) == date_limit_due(CAL, 2017)
    assert date_limit_due(CAL, 2017, None) == date_limit_due(CAL, 2017)


def test_due_at_the_start_of_the_day_on_request() -> None:
    assert date_limit_due(CAL, 2017, START_OF_DAY) == at("2016-11-15T00:00:00Z")


def test_unknown_day_and_unknown_reading() -> None:
    unknown = AnnualDateSpec(type="annual_date", month=None, day=15, year_offset=0)
    assert date_limit_due(unknown, 2017) is None
    with pytest.raises(ValueError, match="date_limit"):
        date_limit_due(CAL, 2017, "noon")


def test_the_reading_comes_from_the_first_pack_that_sets_it() -> None:
    assert date_limit_reading(vd2011()) == END_OF_DAY
    assert date_limit_reading(_start_of_day()) == START_OF_DAY
    bare = RulePack(id="bare", title="t", version="1")
    assert date_limit_reading(bare, _start_of_day()) == START_OF_DAY
    assert date_limit_reading(bare, None) == END_OF_DAY


def _calendar_status(sent: str, ctx: Context) -> str:
    events = [ev(sent, "calendar", "LT", body={"year": 2017})]
    case = run(events, ctx, at="2017-01-01T00:00Z").case("calendar-2017")
    (deadline,) = [d for d in case.deadlines if d.owed_by == ("LT",)]
    return deadline.status


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        ("2016-11-15T00:00Z", "met"),
        ("2016-11-15T23:59Z", "met"),
        ("2016-11-15T23:59:59.999999Z", "met"),
        ("2016-11-16T00:00Z", "missed"),  # late
    ],
)
def test_calendar_sent_during_15_november_is_in_time(sent: str, status: str) -> None:
    ctx = Context(packs=(vd2011(),), participants=("LT",))
    assert _calendar_status(sent, ctx) == status


@pytest.mark.parametrize(
    ("sent", "status"),
    [("2016-11-14T23:59Z", "met"), ("2016-11-15T00:00Z", "met"),
     ("2016-11-15T00:01Z", "missed")],
)
def test_start_of_day_reading_makes_the_day_late(sent: str, status: str) -> None:
    ctx = Context(packs=(_start_of_day(),), participants=("LT",))
    assert _calendar_status(sent, ctx) == status


def test_aemi_by_15_december_includes_the_day() -> None:
    ctx = Context(packs=(vd2011(),), participants=("LT",))
    events = [ev("2021-12-15T23:59Z", "aemi", "LT", body={"year": 2021, "units": 70})]
    case = run(events, ctx, at="2022-01-01T00:00Z").case("aemi-2021")
    assert [d.status for d in case.deadlines] == ["met"]
    late = [ev("2021-12-16T00:00Z", "aemi", "LT", body={"year": 2021, "units": 70})]
    case = run(late, ctx, at="2022-01-01T00:00Z").case("aemi-2021")
    assert [d.status for d in case.deadlines] == ["missed"]


def test_engine_obligations_follow_the_reading() -> None:
    act = activity(in_annual_calendar=False)
    for pack, due in ((vd2011(), "2023-11-15T23:59:59.999999Z"),
                      (_start_of_day(), "2023-11-15T00:00:00Z")):
        result = assess_activity(Regime([pack]), act, at("2030-01-01T00:00:00Z"))
        obligations = {o.rule: o for o in result.obligations}
        assert obligations["CAL_DEADLINE"].due == at(due)


def test_pack_cases_run_under_the_packs_reading() -> None:
    assert check_pack(vd2011()) == []
    problems = check_pack(_start_of_day())
    # every annual-date case of vd2011 is written for the end of the day
    assert {p.path.split(".")[0] for p in problems} == {
        "AEMI_DEADLINE", "CAL_DEADLINE", "CONSTR_40K_ADVANCE"
    }


def test_a_bad_reading_in_a_pack_is_refused() -> None:
    data = yaml.safe_load(
        "id: x\ntitle: t\nversion: '1'\noptions:\n  date_limit: {value: noon}\n"
    )
    with pytest.raises(RulePackError) as info:
        parse_pack(yaml.safe_dump(copy.deepcopy(data)))
    assert "date_limit" in info.value.lines()[0]
