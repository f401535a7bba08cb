"""Instants: timezone-aware UTC datetimes, parsed at the edges (DESIGN.md, principle 4).

Accepted spellings of an instant:

* ISO 8601 with an offset: ``2022-02-09T10:00Z``, ``2022-02-09T12:00+02:00``;
* a local time with a named IANA zone: ``2022-02-15T16:00 Europe/Vienna`` (daylight saving
  applied; a time that does not exist or exists twice on that day is refused);
* a bare date ``2017-09-14``: 00:00 UTC that day, and the caller is told so.

A date-time without an offset or a zone is refused: it would be a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csbm.domain.records import quick_init
from csbm.i18n import N_, phrase

_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONED = re.compile(
    r"^(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"\s+(?P<zone>[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*)$"
)


class InstantError(ValueError):
    """The text is not an instant csbm accepts; the message says why."""


@quick_init
@dataclass(frozen=True, slots=True)
class ParsedInstant:
    """An instant and how it was read: ``assumed`` says what was assumed, if anything."""

    at: datetime
    assumed: str | None = None


def parse_instant(value: object) -> ParsedInstant:
    """Read ``value`` (str, date or aware datetime) as a UTC instant."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InstantError("a date-time needs an offset (Z, +02:00) or a named zone")
        return ParsedInstant(value.astimezone(UTC))
    if isinstance(value, date):
        at = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return ParsedInstant(
            at, phrase(N_("bare date {date} read as 00:00 UTC"), date=value.isoformat())
        )
    if not isinstance(value, str):
        raise InstantError("an instant must be an ISO 8601 string")
    if len(value) > 16 and value[10] == "T" and value[-1] == "Z" and value[-2].isdigit():
        # the form csbm writes (2022-02-09T10:00:00Z): read at once; anything else that
        # ends so, and every other spelling, takes the checks below
        try:
            return ParsedInstant(datetime.fromisoformat(value).astimezone(UTC))
        except ValueError:
            pass
    text = value.strip()
    if _BARE_DATE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError as exc:
            raise InstantError(f"not a valid date: {exc}") from None
        return parse_instant(d)
    zoned = _ZONED.match(text)
    if zoned:
        return ParsedInstant(_from_zone(zoned.group("local"), zoned.group("zone")))
    try:
        at = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InstantError(
            "not an ISO 8601 instant (examples: 2022-02-09T10:00Z, "
            "2022-02-15T16:00 Europe/Vienna, 2017-09-14)"
        ) from None
    if at.tzinfo is None:
        raise InstantError("a date-time needs an offset (Z, +02:00) or a named zone")
    return ParsedInstant(at.astimezone(UTC))


def _from_zone(local_text: str, zone_name: str) -> datetime:
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InstantError(f"unknown time zone {zone_name!r}") from None
    try:
        naive = datetime.fromisoformat(local_text.replace(" ", "T"))
    except ValueError as exc:
        raise InstantError(f"not a valid date and time: {exc}") from None
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    # A non-existent local time (spring forward) does not survive a round trip.
    roundtrip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if roundtrip != naive:
        raise InstantError(
            f"{local_text} does not exist in {zone_name} (clocks skip it for daylight saving)"
        )
    if first.utcoffset() != second.utcoffset():
        raise InstantError(
            f"{local_text} happens twice in {zone_name} (daylight saving ends); "
            "give an offset instead"
        )
    return first.astimezone(UTC)


def iso(at: datetime) -> str:
    """An instant as ISO 8601 in UTC with a ``Z``, to the second: ``2017-08-03T00:00:00Z``
    (the one format of every output). Fractions of a second are cut, not rounded: the end
    of a day that a date limit allows (23:59:59.999999) shows as ``23:59:59Z``."""
    if at.tzinfo is UTC:  # the instants csbm holds: no conversion, no fraction to cut
        return at.isoformat(timespec="seconds")[:19] + "Z"
    text = at.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A value as JSON data: instants by :func:`iso`, mappings and sequences recursively
    (the one conversion of the procedures' JSON and the services' documents)."""
    kind = type(value)
    if kind in _SCALARS:  # most values of a body: returned as they are, at once
        return value
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def now() -> datetime:
    """The wall clock, for the shells only: the core always takes the clock as an argument."""
    return datetime.now(UTC)


def start_of_year(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)
