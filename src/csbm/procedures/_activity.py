"""An activity inside a message: the one activity form of ``csbm assess``, less what the
message itself establishes.

Source: issue 10, item 1 ("one vocabulary: an activity has one schema, used by assess
files, calendar entries, notifications and amendments"); VD 2011 ¶42–45 (the content of a
notification, digest §7.3) and ¶~63 (a calendar entry).

:class:`NotifiedActivity` *is* :class:`csbm.domain.activity.Activity` — derived from it,
never a copy of its fields — with the handling fields refused (``notified``,
``notified_at``, ``in_annual_calendar``, ``observers_invited``,
``communicated_two_years_ahead``, ``assumed``): that an activity was notified, and when,
is the notification message itself (its sender and sending time), that it was in the
calendar is the calendar message, and so on. Its instants are bounded as every message
instant is (``procedures.base.check_instant``), and its area is checked by the one area
reader (``csbm.geo.areas``), as ``csbm assess`` checks it. :class:`PlannedActivity` adds
the ``case`` label under which a calendar entry (or an advance communication) will be
notified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from csbm.domain.activity import Activity
from csbm.domain.time import InstantError
from csbm.errors import CsbmError
from csbm.procedures.base import EARLIEST, LATEST, check_instant

HANDLING_FIELDS: tuple[str, ...] = (
    "notified",
    "notified_at",
    "in_annual_calendar",
    "observers_invited",
    "communicated_two_years_ahead",
    "assumed",
)
"""The fields of an activity that the messages establish (refused inside a message)."""

_HANDLING = frozenset(HANDLING_FIELDS)

MAX_CASE = 200


def _drop_handling(schema: dict[str, Any]) -> None:
    properties = schema.get("properties", {})
    for name in HANDLING_FIELDS:
        properties.pop(name, None)


class NotifiedActivity(Activity):
    """An activity as a message carries it: the form of ``csbm assess`` without the
    handling fields (see the module docstring)."""

    model_config = ConfigDict(json_schema_extra=_drop_handling)

    @model_validator(mode="wrap")
    @classmethod
    def _no_handling(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        if (type(data) is dict or isinstance(data, Mapping)) and not _HANDLING.isdisjoint(data):
            errors = [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "set_by_message",
                        "set by the messages themselves ({field}: the notification, the "
                        "calendar, the invitation say it); leave it out",
                        {"field": name},
                    ),
                    loc=(name,),
                    input=data[name],
                )
                for name in HANDLING_FIELDS
                if name in data
            ]
            raise ValidationError.from_exception_data(cls.__name__, errors)
        done = handler(data)
        if isinstance(done, Activity) and done.assumed:
            # What the reader assumed (a bare date read as 00:00 UTC) is settled by the
            # message: its body carries the instant as read, so the activity is the one
            # its body gives when read again (no assumption left): one model, either way.
            done = done.model_copy(update={"assumed": ()})
        return done

    @field_validator("area")
    @classmethod
    def _readable_area(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from csbm.geo.areas import area_geometry

        try:
            area_geometry(value, "area")
        except CsbmError as exc:
            problem = exc.problems[0] if exc.problems else None
            raise ValueError(problem.reason if problem else exc.message) from None
        return value

    @model_validator(mode="after")
    def _instants_in_range(self) -> NotifiedActivity:
        start, end = self.start, self.end
        if (not self.phases and EARLIEST <= start <= LATEST
                and (end is None or EARLIEST <= end <= LATEST)):
            return self  # what the loop below finds, at once for most activities
        try:
            for instant in (self.start, self.end, *(p.start for p in self.phases),
                            *(p.end for p in self.phases)):
                if instant is not None:
                    check_instant(instant)
        except InstantError as exc:
            raise ValueError(str(exc)) from None
        return self


class PlannedActivity(NotifiedActivity):
    """A calendar entry (¶~63) or an activity communicated two years ahead (¶68): the
    activity and the case label its notification will carry."""

    case: str = Field(min_length=1, max_length=MAX_CASE,
                      description="the case label under which it will be notified")


def activity_data(activity: Activity, *, keep_case: bool = True) -> dict[str, Any]:
    """The activity as message data: JSON values, unknowns and handling fields left out.

    The handling fields (and ``case``) are taken out of the dump rather than excluded by
    it: the same data, and the dump without an ``exclude`` set is twice as fast."""
    data = activity.model_dump(mode="json", exclude_none=True)
    left_out = _LEFT_OUT[keep_case]
    # ``v != []`` (JSON data: only an empty list equals it), without a list made per value
    return {k: v for k, v in data.items() if (v or type(v) is not list) and k not in left_out}


_LEFT_OUT: dict[bool, frozenset[str]] = {
    True: frozenset(HANDLING_FIELDS),
    False: frozenset((*HANDLING_FIELDS, "case")),
}


def unique_cases(entries: tuple[PlannedActivity, ...]) -> tuple[PlannedActivity, ...]:
    """``entries`` when no case label is listed twice; ValueError naming it otherwise."""
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.case in seen:
            raise ValueError(f"activities[{i}].case {entry.case!r} is listed twice")
        seen.add(entry.case)
    return entries
