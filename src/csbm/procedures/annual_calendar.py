"""Chapter VII: the annual calendar of next year's notifiable activities, by 15 November.

Source: VD 2011 ¶~61–63 as the pack ``vd2011`` encodes it (CAL_DEADLINE: by 15 November of
the year before; a nil return if nothing is planned, ¶~62). Message ``calendar`` with body
``{year, nil, activities}``: ``year`` is the year the calendar covers; ``activities`` the
planned activities (¶~63), each in the one activity form (``procedures._activity``) with
the ``case`` label under which it will be notified. Prior notification
(``procedures.prior_notification``) observes every entry: it opens the notice period of
its activity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_serializer, field_validator, model_validator

from csbm.procedures._activity import PlannedActivity, activity_data, unique_cases
from csbm.procedures._bodies import Body
from csbm.procedures._cycle import YearlyCycle


class CalendarBody(Body):
    """``calendar``: one State's annual calendar."""

    year: int = Field(ge=1990, le=2200, description="the year the calendar covers")
    nil: bool = Field(default=False, description="a nil return: nothing planned (¶~62)")
    activities: tuple[PlannedActivity, ...] = Field(
        default=(),
        description="the planned notifiable activities, each with the case label under "
        "which it will be notified (¶~63)",
    )

    _unique = field_validator("activities")(unique_cases)

    @model_validator(mode="after")
    def _nil_has_no_activities(self) -> CalendarBody:
        if self.nil and self.activities:
            raise ValueError("a nil return lists no activities")
        for i, entry in enumerate(self.activities):
            if entry.start.year != self.year:
                raise ValueError(f"activities[{i}] starts in {entry.start.year}, not in "
                                 f"{self.year}, the year the calendar covers")
        return self

    @field_serializer("activities")
    def _as_sent(self, value: tuple[PlannedActivity, ...]) -> list[dict[str, Any]]:
        return [activity_data(a) for a in value]

    def as_json(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` without a second pass over the activities' data."""
        return {"year": self.year, "nil": self.nil,
                "activities": [activity_data(a) for a in self.activities]}


class AnnualCalendar(YearlyCycle):
    name = "annual_calendar"
    kind = "calendar"
    rule_id = "CAL_DEADLINE"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {"calendar": CalendarBody}


MEASURE = AnnualCalendar()
