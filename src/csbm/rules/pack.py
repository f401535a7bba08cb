"""The rule-pack format (DESIGN.md principle 2: rules are data).

A pack is a YAML file: a regime (``vd2011``, a bilateral agreement) whose every threshold,
deadline, quota and limit is an entry with a stable id, its paragraph, its strength, its
provenance as the digest tags it, a typed ``spec`` holding the numbers, and its own test
cases. A number the sources do not give is ``null``: the engine then says "unknown".

Spec types (``spec.type``):

``threshold``   any-of criteria on peak forces, compared with ``>=`` or ``>``
``duration``    a length of the activity compared with a number of hours
``period``      a time limit: ``amount`` ``unit`` ``before``/``after`` an ``anchor`` event
``annual_date`` a day of the year, ``year_offset`` years from the year concerned
``quota``       how many a State must accept per calendar year (overall or per partner)
``maximum``     at most ``count`` of something (observers per State, inspectors per team)
``unit_quota``  one per ``units_per_visit`` reported units or part thereof, at most ``max``
``share``       at most a fraction of a quota from one State (with a floor for small quotas)
``limit``       a constraining provision: at most ``max_count`` activities over ``criteria``
                per ``window``
``standing``    a commitment without a number ("without delay", "expeditiously")
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from csbm.domain.activity import FORCE_FIELDS, ActivityKind

RULE_ID = r"^[A-Z][A-Z0-9_]*$"

Strength = Literal["commitment", "recommendation", "right"]
Comparison = Literal[">=", ">"]
ProvenanceStatus = Literal["C", "C-pred", "U-H", "U-M", "U-L", "U", "agreement", "analyst"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Strict):
    """How sure we are of the entry, as the digest tags it (digest §0)."""

    status: ProvenanceStatus
    sources: tuple[str, ...] = ()
    note: str | None = None
    parts: dict[str, ProvenanceStatus] = Field(
        default_factory=dict, description="status of single figures where they differ"
    )

    @property
    def confirmed(self) -> bool:
        return self.status in ("C", "agreement")


def _check_criteria(value: dict[str, int | None]) -> dict[str, int | None]:
    for name, number in value.items():
        if name not in FORCE_FIELDS:
            raise ValueError(f"unknown force {name!r}; one of {list(FORCE_FIELDS)}")
        if number is not None and number < 0:
            raise ValueError(f"{name}: must be ≥ 0")
    return value


class ThresholdSpec(_Strict):
    type: Literal["threshold"]
    comparison: Comparison
    criteria: dict[str, int | None] = Field(min_length=1)
    organisation_condition: bool = Field(
        default=False,
        description="subject to the divisional / two-brigade condition (¶40.1.1)",
    )
    when_given: tuple[str, ...] = Field(
        default=(),
        description="criteria tested only when the activity gives the figure: an activity "
        "that declares no amphibious or airborne troops has no landing or assault (¶40.2)",
    )

    @field_validator("criteria")
    @classmethod
    def _force_names(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        return _check_criteria(value)

    @model_validator(mode="after")
    def _when_given_in_criteria(self) -> ThresholdSpec:
        for name in self.when_given:
            if name not in self.criteria:
                raise ValueError(f"when_given names {name!r}, which is not a criterion")
        return self


class DurationSpec(_Strict):
    type: Literal["duration"]
    comparison: Comparison
    hours: float | None = Field(ge=0)


class PeriodSpec(_Strict):
    type: Literal["period"]
    amount: float | None = Field(ge=0)
    unit: Literal["hours", "days", "months"]
    direction: Literal["before", "after"]
    anchor: str = Field(min_length=1, description="the event the period counts from")


class AnnualDateSpec(_Strict):
    type: Literal["annual_date"]
    month: int | None = Field(ge=1, le=12)
    day: int | None = Field(ge=1, le=31)
    year_offset: int = Field(description="years from the year concerned (-1: the year before)")

    @model_validator(mode="after")
    def _real_day(self) -> AnnualDateSpec:
        if self.month is not None and self.day is not None:
            date(2001, self.month, self.day)  # raises on 31 April etc. (no 29 Feb either)
        return self


class QuotaSpec(_Strict):
    type: Literal["quota"]
    count: int | None = Field(ge=0)
    per: Literal["calendar_year"] = "calendar_year"
    scope: Literal[
        "receiving_state", "from_same_state", "per_unit", "per_unit_same_state", "concurrent"
    ]


class MaximumSpec(_Strict):
    type: Literal["maximum"]
    count: int | None = Field(ge=0)
    of: str = Field(min_length=1, description="what is counted (observers per State, inspectors)")


class UnitQuotaSpec(_Strict):
    type: Literal["unit_quota"]
    units_per_visit: int | None = Field(gt=0)
    max: int | None = Field(ge=0)


class ShareSpec(_Strict):
    type: Literal["share"]
    fraction: float | None = Field(gt=0, le=1)
    small_quota_below: int | None = Field(ge=0)
    small_quota_cap: int | None = Field(ge=0)


class LimitSpec(_Strict):
    type: Literal["limit"]
    max_count: int | None = Field(ge=0)
    window: Literal["calendar_year", "three_calendar_years", "concurrent"]
    comparison: Comparison
    criteria: dict[str, int | None] = Field(min_length=1)
    excluding: str | None = Field(
        default=None, description="id of a limit rule whose activities are counted there instead"
    )

    @field_validator("criteria")
    @classmethod
    def _force_names(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        return _check_criteria(value)


class StandingSpec(_Strict):
    type: Literal["standing"]
    text: str | None = None


Spec = Annotated[
    ThresholdSpec
    | DurationSpec
    | PeriodSpec
    | AnnualDateSpec
    | QuotaSpec
    | MaximumSpec
    | UnitQuotaSpec
    | ShareSpec
    | LimitSpec
    | StandingSpec,
    Field(discriminator="type"),
]


class Case(_Strict):
    """One test case of an entry: inputs for its spec type and the expected answer.

    ``expect`` is the answer: a bool for thresholds, durations and limits; an ISO instant
    for periods and annual dates; an int for quotas; ``"unknown"`` where the entry's number
    is null.
    """

    name: str | None = None
    given: dict[str, Any]
    expect: Any


class Rule(_Strict):
    """One entry of a pack."""

    id: str = Field(pattern=RULE_ID)
    title: str = Field(min_length=1)
    chapter: str | None = None
    paragraph: str | None = None
    paragraph_verified: bool = False
    strength: Strength
    measure: str = Field(min_length=1, description="which obligation or procedure it serves")
    applies_to: tuple[ActivityKind, ...] | None = None
    owed_by: str | None = None
    owed_to: str | None = None
    spec: Spec
    provenance: Provenance
    cases: tuple[Case, ...] = ()

    @property
    def known(self) -> bool:
        """False when the entry's number is null: the engine must say 'unknown'."""
        return not _has_null(self.spec.model_dump())

    @property
    def citation(self) -> str:
        para = self.paragraph or "?"
        return f"¶{para}" + ("" if self.paragraph_verified else " (U)")


def _has_null(spec: dict[str, Any]) -> bool:
    for key, value in spec.items():
        if key in ("excluding", "text"):
            continue
        if value is None:
            return True
        if isinstance(value, dict) and any(v is None for v in value.values()):
            return True
    return False


class Option(_Strict):
    """A reading of an ambiguity, or an analyst setting; ``value`` is the default."""

    value: Any
    choices: tuple[Any, ...] | None = None
    note: str | None = None
    provenance: Literal["reading", "analyst"] = "reading"

    @model_validator(mode="after")
    def _value_in_choices(self) -> Option:
        if self.choices is not None and self.value not in self.choices:
            raise ValueError(f"value {self.value!r} is not one of {list(self.choices)}")
        return self


class BorderZone(_Strict):
    """A zone along the parties' common border where the pack's measures apply."""

    width_km: float | None = Field(gt=0)
    note: str | None = None


class RulePack(_Strict):
    """A regime as data."""

    id: str = Field(pattern=r"^[a-z][a-z0-9\-]*$")
    title: str
    version: str
    document: str | None = None
    kind: Literal["multilateral", "bilateral"] = "multilateral"
    base: str | None = Field(default=None, description="pack id this one corrects or extends")
    parties: tuple[str, ...] | Literal["all"] = "all"
    signed: date | None = None
    in_force: date | None = None
    terminated: date | None = None
    border_zone: BorderZone | None = None
    notes: tuple[str, ...] = ()
    options: dict[str, Option] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> RulePack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} appears twice")
            seen.add(rule.id)
        return self

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def get(self, rule_id: str) -> Rule | None:
        try:
            return self.rule(rule_id)
        except KeyError:
            return None

    def by_measure(self, measure: str) -> list[Rule]:
        return [r for r in self.rules if r.measure == measure]

    def option(self, name: str) -> Any:
        opt = self.options.get(name)
        return None if opt is None else opt.value

    def in_force_on(self, day: date) -> bool:
        """Whether the pack applies on ``day`` (from entry into force, until termination)."""
        if self.in_force is not None and day < self.in_force:
            return False
        return not (self.terminated is not None and day >= self.terminated)
