"""Chapter VII: the annual calendar of next year's notifiable activities, by 15 November.

Source: VD 2011 ¶~61 as the pack ``vd2011`` encodes it (CAL_DEADLINE: by 15 November of the
year before; a nil return if nothing is planned). Message ``calendar`` with body
``{year, nil, activities}``: ``year`` is the year the calendar covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, Field, model_validator

from csbm.procedures._bodies import Body
from csbm.procedures._cycle import YearlyCycle


class CalendarBody(Body):
    """``calendar``: one State's annual calendar."""

    year: int = Field(ge=1990, le=2200, description="the year the calendar covers")
    nil: bool = Field(default=False, description="a nil return: nothing planned")
    activities: int | None = Field(default=None, ge=0, description="how many activities it lists")

    @model_validator(mode="after")
    def _nil_has_no_activities(self) -> CalendarBody:
        if self.nil and self.activities:
            raise ValueError("a nil return lists no activities")
        return self


class AnnualCalendar(YearlyCycle):
    name = "annual_calendar"
    kind = "calendar"
    rule_id = "CAL_DEADLINE"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {"calendar": CalendarBody}


MEASURE = AnnualCalendar()
