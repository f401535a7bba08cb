"""A military activity as a Chapter V notification describes it (VD 2011 ¶38–45, digest §7).

Forces are peak figures at any time during the activity (digest §15.2). A figure that is
not known is ``None``, never 0. Handling fields (``notified_at``, ``in_annual_calendar``,
...) say what is known about how the activity was handled; ``None`` means not known.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from csbm.domain.states import STATES_BY_CODE, is_participating_state
from csbm.domain.time import InstantError, parse_instant
from csbm.i18n import N_, Phrase, phrase


class ActivityKind(StrEnum):
    """The kinds of notifiable activity (¶40.1–40.3, ¶41)."""

    EXERCISE = "exercise"
    ALERT = "alert_activity"  # without advance notice to the troops ("snap")
    TRANSFER = "transfer"  # into or within the zone of application
    CONCENTRATION = "concentration"


class Organisation(StrEnum):
    """How the forces are organised, for the divisional / two-brigade condition (¶40.1.1)."""

    DIVISIONAL = "divisional"
    TWO_BRIGADES = "two_or_more_brigades"
    BELOW = "below_two_brigades"


FORCE_FIELDS: tuple[str, ...] = (
    "troops",
    "battle_tanks",
    "acv",
    "artillery",
    "fixed_wing_sorties",
    "helicopters",
    "amphibious_troops",
    "airborne_troops",
)


Count = Annotated[int, Strict(), Field(ge=0)]
"""A whole number ≥ 0, given as a number: ``true`` is not 1 and ``"12"`` is not 12."""

Flag = Annotated[bool, Strict()]
"""``true`` or ``false``: ``"yes"``, ``1`` and ``"true"`` are refused."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Forces(_Strict):
    """Peak figures; ``artillery`` counts guns, mortars and MRLs of 100 mm calibre and above."""

    troops: Count | None = None
    battle_tanks: Count | None = None
    acv: Count | None = None
    artillery: Count | None = None
    fixed_wing_sorties: Count | None = None
    helicopters: Count | None = None
    amphibious_troops: Count | None = None
    airborne_troops: Count | None = None

    def get(self, name: str) -> int | None:
        value: int | None = getattr(self, name)
        return value

    def plus(self, other: Forces) -> Forces:
        """Field-wise sum; a field unknown on both sides stays unknown."""
        out: dict[str, int | None] = {}
        for name in FORCE_FIELDS:
            a, b = self.get(name), other.get(name)
            out[name] = None if a is None and b is None else (a or 0) + (b or 0)
        return Forces(**out)


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # read already (Activity._read_instants): parse_instant gives it back
    at = _utc_text(value)
    if at is not None:
        return at
    try:
        return parse_instant(value).at
    except InstantError as exc:
        raise ValueError(str(exc)) from None


class Phase(_Strict):
    """A phase of the activity (transfer, deployment, concentration, active, recovery)."""

    name: str = Field(min_length=1)
    start: datetime
    end: datetime
    purpose: str | None = Field(default=None, description="tactical purpose")
    description: str | None = Field(default=None, description="a short description (C)")

    _instants = field_validator("start", "end", mode="before")(_instant)


ASSUMED = N_("{field}: {assumption}")
"""What was assumed reading a field (``start: bare date 2017-09-14 read as 00:00 UTC``)."""


def _kept_phrase(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Text checked as any text is; a phrase csbm wrote stays one (shown translated)."""
    checked = handler(value)
    return value if isinstance(value, Phrase) else checked


class Declaration(_Strict):
    """Another statement of the activity's figures: a second declaration, or observers' counts."""

    source: str = Field(min_length=1)
    kind: Literal["declared", "observed"] = "declared"
    forces: Forces

    _source = field_validator("source", mode="wrap")(_kept_phrase)  # a calendar's, say


_INSTANT_FIELDS = ("start", "end", "notified_at")


def _is_utc_text(raw: Any) -> bool:
    """Whether ``raw`` has the shape of ``2024-12-22T01:21:00Z`` or, to the microsecond,
    ``2024-12-22T01:21:00.250000Z`` (:func:`_utc_text` reads it, or leaves it to
    parse_instant, which refuses it if need be)."""
    return (type(raw) is str and (len(raw) == 20 or (len(raw) == 27 and raw[19] == "."))
            and raw[-1] == "Z" and raw[10] == "T")


def _utc_text(raw: Any) -> datetime | None:
    """``parse_instant(raw).at`` for the spellings of 10⁵-activity files and of csbm's
    own messages, ``2024-12-22T01:21:00Z`` (UTC to the second) and
    ``2024-12-22T01:21:00.250000Z`` (to the microsecond), of a year of 1900-2199, by
    ``datetime.fromisoformat`` alone -- what parse_instant does with them, without its
    other readings; None for anything else (parse_instant reads it, and refuses it if
    need be)."""
    if not _is_utc_text(raw):
        return None
    if not ("1900" <= raw[:4] <= "2199"):
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at if at.tzinfo is UTC else None


_STATE_LISTS: dict[tuple[str, ...], tuple[str, ...]] = {}
"""Lists of conducting States found good, as given → as kept (upper case): 10⁵ activities
name a few hundred lists; at most :data:`_STATE_LISTS_KEPT` are kept."""

_STATE_LISTS_KEPT = 4096


class Activity(_Strict):
    """One military activity, as notified or as known."""

    name: str = Field(min_length=1, description="designation")
    purpose: str | None = Field(default=None, description="general purpose")
    kind: ActivityKind = ActivityKind.EXERCISE
    conducting_states: tuple[str, ...] = Field(min_length=1)
    host_state: str
    level_of_command: str | None = None
    single_operational_command: Flag | None = None
    command_group: str | None = Field(
        default=None,
        description="analyst label: activities with the same label are under one command "
        "and are tested against thresholds as one (¶40.1)",
    )
    organisation: Organisation | None = None
    start: datetime
    end: datetime | None = Field(default=None, description="None: the end is not known")
    phases: tuple[Phase, ...] = ()
    forces: Forces = Forces()
    area: dict[str, Any] | None = Field(default=None, description="GeoJSON geometry or feature")
    notified: Flag | None = None
    notified_at: datetime | None = None
    in_annual_calendar: Flag | None = None
    observers_invited: Flag | None = None
    communicated_two_years_ahead: Flag | None = None
    # Notification content the blocks of ¶42-45 list (digest §7.3) beyond the figures
    # above; all optional, as sent (block B: forces; C: area and timetable; D: other).
    forces_by_state: dict[str, Forces] | None = Field(
        default=None, description="B: forces per participating State, if more than one"
    )
    divisions: str | None = Field(default=None, description="B: number and type of divisions")
    atgm_launchers: Count | None = Field(
        default=None, description="B: ATGM launchers mounted on armoured vehicles"
    )
    helicopters_by_category: dict[str, Count] | None = Field(
        default=None, description="B: helicopters by category"
    )
    air_purpose: str | None = Field(default=None, description="B: purpose of air missions")
    aircraft_categories: tuple[str, ...] = Field(
        default=(), description="B: categories of aircraft involved"
    )
    air_command_level: str | None = Field(
        default=None, description="B: level of command of the air component"
    )
    naval_support: str | None = Field(
        default=None, description="B: naval ship-to-shore gunfire and other ship-to-shore support"
    )
    naval_command_level: str | None = Field(
        default=None, description="B: level of command of the naval component"
    )
    embarkation_points: tuple[str, ...] = Field(
        default=(), description="B: points of embarkation of an amphibious or airborne activity"
    )
    arrival_points: tuple[str, ...] = Field(
        default=(), description="B: points of arrival and concentration of a transfer"
    )
    calendar_changes: str | None = Field(
        default=None, description="D: changes from the annual calendar entry"
    )
    related_activities: tuple[str, ...] = Field(
        default=(), description="D: relationship to other notifiable activities"
    )
    declarations: tuple[Declaration, ...] = ()
    sources: tuple[str, ...] = ()
    assumed: tuple[Annotated[str, WrapValidator(_kept_phrase)], ...] = Field(
        default=(), description="what was assumed while reading the input (filled by csbm)"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_instants(cls, data: Any) -> Any:
        """Instants read as :func:`parse_instant` reads them, with what it assumed (a bare
        date read as 00:00 UTC) noted in ``assumed``. The one plain spelling
        (``2024-12-22T01:21:00Z``: :func:`_is_utc_text`) assumes nothing: the field
        validator reads it, and the data is not copied."""
        if not isinstance(data, dict):
            return data
        copied: dict[str, Any] | None = None
        assumed: list[Any] = []
        for name in _INSTANT_FIELDS:
            raw = data.get(name)
            if raw is None or type(raw) is datetime or _is_utc_text(raw):
                continue
            try:
                parsed = parse_instant(raw)
            except InstantError:
                continue  # the field validator reports it with its path
            if copied is None:
                copied = dict(data)
            copied[name] = parsed.at
            if parsed.assumed:
                assumed.append(phrase(ASSUMED, field=name, assumption=parsed.assumed))
        if copied is None:
            return data
        if assumed:
            copied["assumed"] = (*copied.get("assumed", ()), *assumed)
        return copied

    _instants = field_validator("start", "end", "notified_at", mode="before")(_instant)

    @field_validator("conducting_states", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("conducting_states")
    @classmethod
    def _known_states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = _STATE_LISTS.get(value)
        if known is not None:
            return known
        out = tuple(v.upper() for v in value)
        for code in out:
            if not is_participating_state(code):
                raise ValueError(f"{code!r} is not an OSCE participating State (ISO 3166-1)")
        if len(set(out)) != len(out):
            raise ValueError("a State is listed twice")
        if len(_STATE_LISTS) < _STATE_LISTS_KEPT:
            _STATE_LISTS[value] = out
        return out

    @field_validator("forces_by_state")
    @classmethod
    def _forces_states(cls, value: dict[str, Forces] | None) -> dict[str, Forces] | None:
        if value is None:
            return None
        out: dict[str, Forces] = {}
        for code, forces in value.items():
            if not is_participating_state(code):
                raise ValueError(f"{code!r} is not an OSCE participating State (ISO 3166-1)")
            if code.upper() in out:
                raise ValueError(f"{code!r} is listed twice")
            out[code.upper()] = forces
        return out

    @field_validator("host_state")
    @classmethod
    def _known_host(cls, value: str) -> str:
        code = value.upper()
        if code not in STATES_BY_CODE:
            raise ValueError(f"{value!r} is not an OSCE participating State (ISO 3166-1)")
        return code

    @field_validator("area")
    @classmethod
    def _geojson(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        kind = value.get("type")
        allowed = {
            "Point",
            "MultiPoint",
            "LineString",
            "MultiLineString",
            "Polygon",
            "MultiPolygon",
            "GeometryCollection",
            "Feature",
            "FeatureCollection",
        }
        if kind not in allowed:
            raise ValueError(f"GeoJSON 'type' must be one of {sorted(allowed)}")
        if kind not in {"Feature", "FeatureCollection", "GeometryCollection"} and (
            "coordinates" not in value
        ):
            raise ValueError("a GeoJSON geometry needs 'coordinates'")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Activity:
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        if self.notified is False and self.notified_at is not None:
            raise ValueError("notified is false but notified_at is given")
        for i, phase in enumerate(self.phases):
            if phase.end < phase.start:
                raise ValueError(f"phases[{i}]: end is before start")
        return self

    @property
    def was_notified(self) -> bool | None:
        if self.notified_at is not None:
            return True
        return self.notified

    @property
    def duration_hours(self) -> float | None:
        """Hours from start to end; None when the end is not known."""
        if self.end is None:
            return None
        return (self.end - self.start).total_seconds() / 3600.0

    @property
    def last_instant(self) -> datetime:
        """The end if known, else the start (for ordering and overlap tests)."""
        return self.end if self.end is not None else self.start
