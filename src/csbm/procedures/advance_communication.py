"""Chapter VIII ¶68–69: the advance communication of the largest activities, two years ahead.

Source: VD 2011 ¶68 (official Hungarian translation, pack ``vd2011`` CONSTR_40K_ADVANCE):
by 15 November each year, a State communicates to all the activities above the ¶68
figures (troops, tanks, ACVs, artillery: the numbers are the pack's CONSTR_40K_GATE) that
it plans to carry out or host in the second subsequent calendar year; ¶69: a State that
plans none says so (``nil: true``, CONSTR_40K_NIL). Without it, ¶70 forbids the activity
(CONSTR_40K_GATE, assessed by ``procedures.prior_notification`` when it is notified).

Message ``advance_communication`` with body ``{year, nil, activities}``: ``year`` is the
year the activities are held (the communication is due by 15 November two years
before); ``activities`` in the one activity form with the ``case`` label under which each
will be notified. One submission per State and year, like the calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_serializer, field_validator, model_validator

from csbm.procedures._activity import PlannedActivity, activity_data, unique_cases
from csbm.procedures._bodies import Body
from csbm.procedures._cycle import YearlyCycle


class AdvanceCommunicationBody(Body):
    """``advance_communication``: the activities above the ¶68 figures planned for ``year``."""

    year: int = Field(ge=1990, le=2200, description="the year the activities are held")
    nil: bool = Field(default=False, description="a nil report: none planned (¶69)")
    activities: tuple[PlannedActivity, ...] = Field(
        default=(),
        description="the activities planned, each with the case label of its notification",
    )

    _unique = field_validator("activities")(unique_cases)

    @model_validator(mode="after")
    def _coherent(self) -> AdvanceCommunicationBody:
        if self.nil and self.activities:
            raise ValueError("a nil report lists no activities")
        if not self.nil and not self.activities:
            raise ValueError("list the activities, or send a nil report (nil: true)")
        for i, entry in enumerate(self.activities):
            if entry.start.year != self.year:
                raise ValueError(f"activities[{i}] starts in {entry.start.year}, not in "
                                 f"{self.year}, the year communicated")
        return self

    @field_serializer("activities")
    def _as_sent(self, value: tuple[PlannedActivity, ...]) -> list[dict[str, Any]]:
        return [activity_data(a) for a in value]

    def as_json(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` without a second pass over the activities' data."""
        return {"year": self.year, "nil": self.nil,
                "activities": [activity_data(a) for a in self.activities]}


class AdvanceCommunication(YearlyCycle):
    name = "advance_communication"
    kind = "advance_communication"
    rule_id = "CONSTR_40K_ADVANCE"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        "advance_communication": AdvanceCommunicationBody,
    }


MEASURE = AdvanceCommunication()
