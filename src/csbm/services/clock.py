"""The clock of a use case: ``--at`` (or the API's ``at``) read in one place.

Source: DESIGN.md principle 3 (the clock is always passed in) and 4 (time is UTC). An
instant is read by :func:`csbm.domain.time.parse_instant`; the wall clock, when no instant
is given, is taken to the whole second so that every output shows one format
(``2026-03-01T09:00:00Z``, never ``.800000Z``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from csbm.domain.time import InstantError, now, parse_instant
from csbm.errors import InputError, Problem


def parse_clock(value: str | None, field: str = "at") -> datetime | None:
    """The instant ``value`` names; None when not given. A bad one is an InputError whose
    problem is at ``field`` (the CLI passes its option name, ``--at``)."""
    if value is None:
        return None
    try:
        return parse_instant(value).at
    except InstantError as exc:
        raise InputError(f"bad {field}", [Problem(field, str(exc), value)]) from None


def wall_clock(read: Callable[[], datetime] = now) -> datetime:
    """The wall clock to the whole second (shells only; the core takes the clock given)."""
    return read().replace(microsecond=0)


def clock_or_now(value: str | None, field: str = "at") -> datetime:
    """The instant given, else the wall clock to the second."""
    given = parse_clock(value, field)
    return given if given is not None else wall_clock()
