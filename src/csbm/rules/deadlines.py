"""Date limits: when "not later than 15 November" is due (VD 2011 ¶10, ¶~61, ¶68).

A date limit names a day, not an instant. The plain reading (``end_of_day``, the
default) includes the day itself: the duty is met by anything sent before 00:00 UTC of
the next day, so the due instant is the last microsecond of the day (23:59:59.999999 UTC)
and every consumer's ``done_at <= due`` test keeps its meaning. The other reading
(``start_of_day``) makes the limit 00:00 UTC of the day, so anything sent during it is
late. A pack chooses with its option ``date_limit``; a pack without the option (or a
bilateral pack stacked on ``vd2011``) gets the default.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from csbm.rules.pack import DATE_LIMIT_READINGS, AnnualDateSpec, RulePack

DateLimit = Literal["end_of_day", "start_of_day"]
END_OF_DAY: DateLimit = "end_of_day"
START_OF_DAY: DateLimit = "start_of_day"
OPTION = "date_limit"

_LAST_INSTANT = timedelta(days=1) - timedelta(microseconds=1)


def date_limit_reading(*packs: RulePack | None) -> DateLimit:
    """The reading the first pack that sets ``date_limit`` chooses; else end of day."""
    for pack in packs:
        value = None if pack is None else pack.option(OPTION)
        if value is not None:
            if value not in DATE_LIMIT_READINGS:
                raise ValueError(f"{OPTION}: {value!r} is not one of {list(DATE_LIMIT_READINGS)}")
            return START_OF_DAY if value == START_OF_DAY else END_OF_DAY
    return END_OF_DAY


def date_limit_due(
    spec: AnnualDateSpec, year: int, reading: str | None = END_OF_DAY
) -> datetime | None:
    """The due instant of ``spec`` for the year concerned; None when the day is unknown.

    ``reading`` ``end_of_day`` (default, also for None): 23:59:59.999999 UTC of the day;
    ``start_of_day``: 00:00 UTC of the day.
    """
    if spec.month is None or spec.day is None:
        return None
    day = datetime(year + spec.year_offset, spec.month, spec.day, tzinfo=UTC)
    if reading is None or reading == END_OF_DAY:
        return day + _LAST_INSTANT
    if reading == START_OF_DAY:
        return day
    raise ValueError(f"{OPTION}: {reading!r} is not one of {list(DATE_LIMIT_READINGS)}")


__all__ = [
    "END_OF_DAY",
    "OPTION",
    "START_OF_DAY",
    "DateLimit",
    "date_limit_due",
    "date_limit_reading",
]
