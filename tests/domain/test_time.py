"""Instants: offsets, named zones with daylight saving, bare dates, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from csbm.domain.time import InstantError, iso, parse_instant


def test_offset_is_converted_to_utc() -> None:
    assert iso(parse_instant("2022-02-11T12:00+02:00").at) == "2022-02-11T10:00:00Z"
    assert parse_instant("2022-02-11T12:00+02:00").assumed is None


def test_named_zone_winter_and_summer() -> None:
    assert iso(parse_instant("2022-02-15T16:00 Europe/Vienna").at) == "2022-02-15T15:00:00Z"
    assert iso(parse_instant("2021-04-15T16:00 Europe/Vienna").at) == "2021-04-15T14:00:00Z"
    assert iso(parse_instant("2022-02-11T10:00 Europe/Kyiv").at) == "2022-02-11T08:00:00Z"


def test_bare_date_is_midnight_utc_and_says_so() -> None:
    parsed = parse_instant("2017-09-14")
    assert parsed.at == datetime(2017, 9, 14, tzinfo=UTC)
    assert parsed.assumed == "bare date 2017-09-14 read as 00:00 UTC"
    assert parse_instant(date(2017, 9, 14)).assumed is not None


def test_spring_forward_gap_is_refused() -> None:
    with pytest.raises(InstantError, match="does not exist"):
        parse_instant("2022-03-27T02:30 Europe/Vienna")


def test_autumn_overlap_is_refused() -> None:
    with pytest.raises(InstantError, match="happens twice"):
        parse_instant("2022-10-30T02:30 Europe/Vienna")


def test_just_around_the_gap_is_accepted() -> None:
    assert iso(parse_instant("2022-03-27T01:59 Europe/Vienna").at) == "2022-03-27T00:59:00Z"
    assert iso(parse_instant("2022-03-27T03:00 Europe/Vienna").at) == "2022-03-27T01:00:00Z"


@pytest.mark.parametrize(
    "text",
    [
        "2022-02-11T10:00",
        "yesterday",
        "2022-13-01",
        "2022-02-11T10:00 Mars/Olympus",
        "",
        "2022-02-30",
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(InstantError):
        parse_instant(text)


def test_naive_datetime_object_is_refused() -> None:
    with pytest.raises(InstantError):
        parse_instant(datetime(2022, 2, 11, 10, 0))


def test_non_string_is_refused() -> None:
    with pytest.raises(InstantError):
        parse_instant(20220211)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2022-02-09T10:00:00Z", "2022-02-09T10:00:00+00:00"),
        ("2022-02-09T10:00Z", "2022-02-09T10:00:00+00:00"),
        ("2022-02-09T10:00:00.250Z", "2022-02-09T10:00:00.250000+00:00"),
        ("2022-02-09T10:00:00z", "2022-02-09T10:00:00+00:00"),  # not the quick form: read below
        (" 2022-02-09T10:00Z", "2022-02-09T10:00:00+00:00"),
    ],
)
def test_utc_spellings_read_quickly_or_not_give_the_same_instant(text: str, utc: str) -> None:
    parsed = parse_instant(text)
    assert parsed.at.isoformat() == utc and parsed.at.tzinfo is UTC and parsed.assumed is None


@pytest.mark.parametrize(
    "text",
    ["2022-02-30T10:00Z", "2022-02-09T25:00Z", "2022-02-09T10:00 Z", "2022-02-09T10:00:00 Z",
     "2022-02-09T10:00:00+01:00Z"],
)
def test_what_ends_like_the_quick_form_but_is_not_an_instant_is_refused(text: str) -> None:
    with pytest.raises(InstantError):
        parse_instant(text)
