"""Showing instants to people: UTC and the user's own zone (``--tz`` or the system's)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csbm.errors import InputError, Problem


def user_zone(name: str | None) -> tzinfo:
    """The zone named by ``--tz``, else $TZ, else the system's local zone. An empty
    ``--tz`` names no zone and is refused (it would silently mean the local one)."""
    if name is not None and not name.strip():
        raise InputError("empty time zone", [Problem("--tz", "names no IANA time zone", name)])
    chosen = name or os.environ.get("TZ")
    if chosen:
        try:
            return ZoneInfo(chosen)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                "unknown time zone", [Problem("--tz", "unknown IANA time zone", chosen)]
            ) from None
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def both(at: datetime | None, zone: tzinfo) -> str:
    """``2017-08-03 00:00 UTC (02:00 CEST)`` — the date is repeated when it differs."""
    if at is None:
        return "unknown"
    utc = at.astimezone(UTC)
    local = at.astimezone(zone)
    text = f"{utc:%Y-%m-%d %H:%M} UTC"
    if local.utcoffset() == utc.utcoffset():
        return text
    shown = f"{local:%H:%M}" if local.date() == utc.date() else f"{local:%Y-%m-%d %H:%M}"
    return f"{text} ({shown} {local.tzname()})"
