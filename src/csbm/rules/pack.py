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

Format version: a pack says ``schema: 1`` (``SCHEMA_VERSION``); a pack without it is read as
version 1, and a pack of any other version is refused with its reason (the loader cannot
know what a later format means). Sources: ``provenance.sources`` of an entry are URLs or
keys of the pack's ``sources`` table (each with its title and URL), so a pack cites public
sources and needs nothing outside itself.

Date limits: an ``annual_date`` entry ("not later than 15 November") is due at the end of
that day by default; the pack option ``date_limit`` (``end_of_day`` | ``start_of_day``)
chooses the reading (csbm.rules.deadlines).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from csbm.domain.activity import FORCE_FIELDS, ActivityKind

RULE_ID = r"^[A-Z][A-Z0-9_]*$"
SCHEMA_VERSION = 1
"""The rule-pack format this csbm reads (``schema:`` at the top of a pack)."""
DATE_LIMIT_READINGS = ("end_of_day", "start_of_day")
"""Readings of a date limit ("not later than 15 November"): see csbm.rules.deadlines."""

Strength = Literal["commitment", "recommendation", "right"]
Comparison = Literal[">=", ">"]
ProvenanceStatus = Literal[
    "C", "C-tr", "C-pred", "U-H", "U-M", "U-L", "U", "agreement", "analyst"
]
"""C confirmed; C-tr confirmed from an official translation; C-pred confirmed in a
predecessor text; U-H/U-M/U-L unverified (high/medium/low confidence); U unverified;
agreement (a bilateral text); analyst (a setting, not a treaty number)."""


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
        return self.status in ("C", "C-tr", "agreement")


class Source(_Strict):
    """A public source a pack cites: what it is and where to read it."""

    title: str = Field(min_length=1)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")


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
    """How many a State must accept: ``per: calendar_year``, or ``at_any_given_time`` for
    visits at the same time (``scope: concurrent``; the older text's ¶108)."""

    type: Literal["quota"]
    count: int | None = Field(ge=0)
    per: Literal["calendar_year", "at_any_given_time"] = "calendar_year"
    scope: Literal[
        "receiving_state", "from_same_state", "per_unit", "per_unit_same_state", "concurrent"
    ]

    @model_validator(mode="after")
    def _concurrent_at_any_time(self) -> QuotaSpec:
        if (self.scope == "concurrent") != (self.per == "at_any_given_time"):
            raise ValueError(
                "a concurrent quota counts visits at any given time "
                "(scope: concurrent with per: at_any_given_time), and only it does"
            )
        return self


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


_SOURCE_KEY = re.compile(r"^[A-Z]{1,4}[0-9]+$")


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


class RulePack(_Strict):
    """A regime as data."""

    schema_version: StrictInt = Field(
        default=SCHEMA_VERSION,
        validation_alias=AliasChoices("schema", "schema_version"),
        description="the pack format (``schema: 1``)",
    )
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
    sources: dict[str, Source] = Field(
        default_factory=dict, description="public sources cited by key in the provenances"
    )
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

    @model_validator(mode="after")
    def _known_version(self) -> RulePack:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"rule-pack schema {self.schema_version} is not supported: this csbm reads "
                f"schema {SCHEMA_VERSION}"
            )
        return self

    @model_validator(mode="after")
    def _sources_resolve(self) -> RulePack:
        if self.base is None:  # a pack with a base is checked once merged (the loader)
            self.check_sources()
        return self

    def check_sources(self) -> None:
        """Every source key an entry cites (``S29``, ``T1``) is in ``sources``; URLs and
        document symbols (``FSC.DOC/1/11``) are citations by themselves."""
        for rule in self.rules:
            for key in rule.provenance.sources:
                if _SOURCE_KEY.match(key) and key not in self.sources:
                    raise ValueError(
                        f"{rule.id}: source {key!r} is not in the pack's sources "
                        f"({', '.join(sorted(self.sources)) or 'none'})"
                    )

    @model_validator(mode="after")
    def _date_limit_reading(self) -> RulePack:
        option = self.options.get("date_limit")
        if option is not None and option.value not in DATE_LIMIT_READINGS:
            raise ValueError(
                f"option date_limit is {option.value!r}: one of {list(DATE_LIMIT_READINGS)}"
            )
        return self

    def source(self, key: str) -> Source:
        """The source ``key`` names: an entry of ``sources``, or a bare URL."""
        found = self.sources.get(key)
        if found is not None:
            return found
        return Source(title=key, url=key if _is_url(key) else None)

    def rule(self, rule_id: str) -> Rule:
        found = _rules_by_id(self).get(rule_id)
        if found is None:
            raise KeyError(rule_id)
        return found

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


_BY_ID: dict[int, tuple[RulePack, dict[str, Rule]]] = {}
"""Each pack's entries by id (the first of an id), made once per pack instead of a scan
per look-up (the engine looks up an entry for each missed obligation). Keyed by the pack's
id, checked by identity: the entry holds the pack, so the id is not reused while the entry
lives; a pack is frozen, its entries never change."""


def _rules_by_id(pack: RulePack) -> dict[str, Rule]:
    hit = _BY_ID.get(id(pack))
    if hit is not None and hit[0] is pack:
        return hit[1]
    index: dict[str, Rule] = {}
    for rule in pack.rules:
        index.setdefault(rule.id, rule)
    if len(_BY_ID) >= 256:
        _BY_ID.clear()
    _BY_ID[id(pack)] = (pack, index)
    return index
