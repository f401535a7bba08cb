"""Chapter I: the annual exchange of military information (AEMI), by 15 December.

Source: VD 2011 ¶9–10 as the pack ``vd2011`` encodes them (AEMI_DEADLINE ¶10: by
15 December, data valid from 1 January; AEMI_NIL ¶9: a State with nothing to report sends
a nil return). Message ``aemi`` with body ``{year, nil, units}``: ``year`` is the year of
the exchange (due 15 December of that year), ``units`` the number of units reported — the
runner passes it to the evaluation quota of the following year (¶107).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, Field, model_validator

from csbm.procedures._bodies import Body
from csbm.procedures._cycle import YearlyCycle


class AemiBody(Body):
    """``aemi``: one State's annual exchange."""

    year: int = Field(ge=1990, le=2200, description="the year of the exchange (due 15 Dec)")
    nil: bool = Field(default=False, description="a nil return: nothing to report")
    units: int | None = Field(default=None, ge=0,
                              description="units reported (the evaluation quota counts them)")

    @model_validator(mode="after")
    def _nil_has_no_units(self) -> AemiBody:
        if self.nil and self.units:
            raise ValueError("a nil return reports no units")
        return self


class AnnualExchange(YearlyCycle):
    name = "aemi"
    kind = "aemi"
    rule_id = "AEMI_DEADLINE"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {"aemi": AemiBody}


MEASURE = AnnualExchange()
