"""The notification of a military activity as its official form (VD 2011 Chapter V, ¶38–45).

Source: Vienna Document 2011 (FSC.DOC/1/11), Chapter V "Prior notification of certain
military activities": a notification is given in writing in an agreed form of four blocks —
A general information, B information on the different types of notifiable activity (land
forces under a single operational command; amphibious landings and parachute assaults;
transfers and concentrations), C the envisaged area and timeframe, D other information.
The fields and their order follow that form; the item numbers within each block (``A.1``,
``B.1.3``) count its items in order. The wording of the labels is the form's, shortened
where the paragraph repeats itself; it was written from secondary sources and should be
checked against the official text (see docs/render.md).

A notification arrives as a message (``csbm.message``): ``{type: notification, to, case,
body: {activity}}`` — in a scenario or a message file also with ``at`` (when it was sent)
and ``from`` (the notifying State). ``body.activity`` is an activity in the one form
``csbm assess`` reads (:class:`csbm.domain.activity.Activity`), without the handling fields
that the message itself establishes.

Pure: the caller reads the file (``csbm.reader``) and hands the data in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from csbm.domain.activity import Activity, ActivityKind, Phase
from csbm.domain.states import is_participating_state
from csbm.domain.time import InstantError, parse_instant
from csbm.errors import InputError, Problem, problems_from_pydantic
from csbm.forms.model import (
    N_,
    Area,
    Block,
    Codes,
    Field,
    Figure,
    Form,
    Group,
    Instant,
    NotStated,
    Period,
    Table,
    Text,
    Value,
    Vocabulary,
)
from csbm.message import MessageError, validate_message

__all__ = [
    "KIND",
    "Notice",
    "notice_from_data",
    "notification_form",
]

KIND = "notification"
"""The message kind of a Chapter V notification."""

_EVENT_KEYS = ("at", "from", "note")
"""What a scenario event (or a message file in that form) adds to the message form."""

_ALL = "all"

_KIND_WORDS: dict[str, str] = {
    ActivityKind.EXERCISE.value: N_("exercise"),
    ActivityKind.ALERT.value: N_("alert activity"),
    ActivityKind.TRANSFER.value: N_("transfer"),
    ActivityKind.CONCENTRATION.value: N_("concentration"),
}


@dataclass(frozen=True)
class Notice:
    """One notification as read: its activity and what the message says around it."""

    activity: Activity
    case: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = (_ALL,)
    sent_at: datetime | None = None


# -- reading


def _shown(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else None


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def notice_from_data(data: Any, origin: str = "input", *, case: str | None = None) -> Notice:
    """The notification that ``data`` holds: a message in the scenario-event form, or a
    scenario whose events include notifications (``case`` picks one; it may be left out
    when there is only one). InputError names each problem's path."""
    if isinstance(data, Mapping) and "events" in data and "type" not in data:
        return _from_scenario(data, origin, case)
    notice = _from_message(data, "")
    if case is not None and notice.case != case:
        raise InputError(
            f"{origin}: no such case",
            [Problem("--case", "the notification in the file has another case label", case)],
        )
    return notice


def _from_scenario(data: Mapping[str, Any], origin: str, case: str | None) -> Notice:
    events = data["events"]
    if not isinstance(events, list):
        raise InputError(
            f"{origin}: not a scenario", [Problem("events", "a list of events is required")]
        )
    found: list[tuple[int, Any]] = [
        (i, e) for i, e in enumerate(events) if isinstance(e, Mapping) and e.get("type") == KIND
    ]
    if not found:
        raise InputError(
            f"{origin}: no notification",
            [Problem("events", f"the scenario holds no {KIND!r} event")],
        )
    if case is not None:
        found = [(i, e) for i, e in found if _label(e.get("case")) == case]
        if not found:
            raise InputError(
                f"{origin}: no such case",
                [Problem("--case", "no notification in the scenario has this case label", case)],
            )
    if len(found) > 1:
        labels = sorted({str(_label(e.get("case"))) for _i, e in found})
        reason = (
            f"the scenario holds {len(found)} notifications; choose one with --case "
            f"(one of {', '.join(labels)})"
        )
        raise InputError(f"{origin}: which notification?", [Problem("--case", reason)])
    index, event = found[0]
    return _from_message(event, f"events[{index}]")


def _label(raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    return str(raw).strip() or None


def _from_message(data: Any, path: str) -> Notice:
    if not isinstance(data, Mapping):
        raise InputError(
            "not a message",
            [Problem(path or "(file)", "a notification is a mapping {type, to, case, body}")],
        )
    kind = data.get("type")
    if kind != KIND:
        raise InputError(
            "not a notification",
            [Problem(_at(path, "type"), f"not a notification (type {KIND!r})", _shown(kind))],
        )
    problems: list[Problem] = []
    sent_at = _sent_at(data, path, problems)
    sender = _sender(data.get("from"), _at(path, "from"), problems)
    activity_data, recipients, label = _validated_message(data, path, problems)
    activity = _activity(activity_data, _at(path, "body.activity"), problems)
    if problems or activity is None:
        raise InputError("bad notification", problems)
    return Notice(
        activity=activity, case=label, sender=sender, recipients=recipients, sent_at=sent_at
    )


def _validated_message(
    data: Mapping[str, Any], path: str, problems: list[Problem]
) -> tuple[Any, tuple[str, ...], str | None]:
    """The body's activity, the recipients and the case label, the message validated by
    the one schema of its kind (:func:`csbm.message.validate_message`: the message form,
    and ``body.activity`` as the activity form without the handling fields)."""
    try:
        message = validate_message(data, path, extra_keys=_EVENT_KEYS)
    except MessageError as exc:
        problems.extend(exc.problems or [Problem(path or "(message)", exc.message)])
        return None, (), None
    return message.body.get("activity"), message.to, message.case


def _sent_at(data: Mapping[str, Any], path: str, problems: list[Problem]) -> datetime | None:
    if data.get("at") is None:
        return None
    try:
        return parse_instant(data["at"]).at
    except InstantError as exc:
        problems.append(Problem(_at(path, "at"), str(exc), _shown(data["at"])))
        return None


def _sender(raw: Any, path: str, problems: list[Problem]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not is_participating_state(raw.strip()):
        problems.append(Problem(path, "not a participating State's ISO 3166-1 code", _shown(raw)))
        return None
    return raw.strip().upper()


def _activity(raw: Any, path: str, problems: list[Problem]) -> Activity | None:
    """The activity of a validated body, as the domain model (the form reads its fields)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return Activity.model_validate(dict(raw))
    except ValidationError as exc:  # pragma: no cover - the message schema validated it
        problems.extend(problems_from_pydantic(exc, prefix=path))
        return None


# -- the form


def _text(value: Any) -> Value:
    """A field the activity carries as text, a list of texts or a number; absent: not
    stated."""
    if value is None:
        return NotStated()
    if isinstance(value, bool):
        return Text("true" if value else "false")
    if isinstance(value, int):
        return Figure(value)
    if isinstance(value, str):
        return Text(value) if value.strip() else NotStated()
    if isinstance(value, Mapping) and "type" in value:
        return _area(value)
    if isinstance(value, Sequence):
        items = [str(v) for v in value if v is not None]
        return Text("\n".join(items)) if items else NotStated()
    return Text(str(value))


def _by_state(activity: Activity, name: str) -> tuple[tuple[str, int | None], ...]:
    """The figure ``name`` of each State, when the activity gives forces by State
    (``forces_by_state: {BY: {troops: 7200}, ...}``)."""
    if activity.forces_by_state is None:
        return ()
    return tuple((code, forces.get(name)) for code, forces in activity.forces_by_state.items())


def _helicopters(activity: Activity) -> Figure:
    """The helicopters (``forces.helicopters``) and, when given, their number by category
    (``helicopters_by_category: {attack: 12, ...}``)."""
    raw = activity.helicopters_by_category or {}
    parts: tuple[tuple[str, int | None], ...] = tuple(raw.items())
    return Figure(activity.forces.helicopters, by_category=parts)


def _figure(activity: Activity, name: str, per_state: bool = False) -> Figure:
    return Figure(activity.forces.get(name), _by_state(activity, name) if per_state else ())


def _area(value: Mapping[str, Any]) -> Area:
    kinds: list[str] = []
    parts: list[tuple[tuple[float, float], ...]] = []
    names: list[str] = []
    _walk(value, kinds, parts, names, 0)
    return Area(tuple(dict.fromkeys(kinds)), tuple(parts), tuple(names))


def _position(raw: Any) -> tuple[float, float] | None:
    if (
        isinstance(raw, Sequence)
        and not isinstance(raw, str)
        and len(raw) >= 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw[:2])
    ):
        return (raw[1], raw[0])  # GeoJSON positions are [longitude, latitude] (RFC 7946 §3.1.1)
    return None


def _positions(raw: Any, depth: int) -> list[tuple[tuple[float, float], ...]]:
    """The lines or rings of ``raw`` (a GeoJSON coordinates array ``depth`` levels above a
    position)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    if depth == 0:
        point = _position(raw)
        return [(point,)] if point is not None else []
    if depth == 1:
        line = tuple(p for p in (_position(r) for r in raw) if p is not None)
        return [line] if line else []
    out: list[tuple[tuple[float, float], ...]] = []
    for item in raw:
        out.extend(_positions(item, depth - 1))
    return out


_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def _walk(
    node: Any,
    kinds: list[str],
    parts: list[tuple[tuple[float, float], ...]],
    names: list[str],
    level: int,
) -> None:
    if not isinstance(node, Mapping) or level > 20:
        return
    kind = node.get("type")
    if kind == "Feature":
        props = node.get("properties")
        if isinstance(props, Mapping) and isinstance(props.get("name"), str):
            names.append(props["name"])
        _walk(node.get("geometry"), kinds, parts, names, level + 1)
    elif kind == "FeatureCollection":
        for feature in node.get("features") or ():
            _walk(feature, kinds, parts, names, level + 1)
    elif kind == "GeometryCollection":
        for geometry in node.get("geometries") or ():
            _walk(geometry, kinds, parts, names, level + 1)
    elif isinstance(kind, str) and kind in _DEPTH:
        kinds.append(kind)
        found = _positions(node.get("coordinates"), _DEPTH[kind])
        if kind == "MultiPoint" and found:
            found = [(p,) for p in found[0]]
        parts.extend(found)


def _phases(phases: Sequence[Phase]) -> Value:
    if not phases:
        return NotStated()
    rows = tuple(
        (
            Text(p.name),
            Instant(p.start),
            Instant(p.end),
            Text(p.purpose) if p.purpose else NotStated(),
            NotStated(),  # the activity gives no area per phase yet
        )
        for p in phases
    )
    columns = (N_("Phase"), N_("Start"), N_("End"), N_("Tactical purpose"), N_("Area"))
    return Table(columns, rows)


def _descriptions(phases: Sequence[Phase]) -> Value:
    rows = tuple(
        (Text(p.name), Text(str(text))) for p in phases if (text := p.description) is not None
    )
    if not rows:
        return NotStated()
    return Table((N_("Phase"), N_("Description")), rows)


def _land_group(a: Activity) -> Group:
    return Group(
        "B.1",
        N_(
            "Land forces engaged in the same exercise activity under a single operational "
            "command, on their own or with air or naval components"
        ),
        (
            Field(
                "B.1.1",
                N_(
                    "Total number of troops taking part (ground, amphibious, airmobile and "
                    "airborne troops) and the number of troops of each State involved"
                ),
                _figure(a, "troops", per_state=True),
            ),
            Field(
                "B.1.2",
                N_("Number and type of divisions taking part, for each State"),
                _text(a.divisions),
            ),
            Field(
                "B.1.3",
                N_("Total number of battle tanks, for each State"),
                _figure(a, "battle_tanks", per_state=True),
            ),
            Field(
                "B.1.4",
                N_(
                    "Total number of anti-tank guided missile launchers mounted on armoured "
                    "vehicles"
                ),
                Figure(a.atgm_launchers),
            ),
            Field(
                "B.1.5",
                N_(
                    "Total number of self-propelled and towed artillery pieces, mortars and "
                    "multiple rocket launchers (100 mm calibre and above)"
                ),
                _figure(a, "artillery"),
            ),
            Field(
                "B.1.6",
                N_("Total number of armoured combat vehicles"),
                _figure(a, "acv"),
            ),
            Field(
                "B.1.7",
                N_("Total number of combat helicopters, by category"),
                _helicopters(a),
            ),
            Field(
                "B.1.8",
                N_("Envisaged number of sorties by aircraft, excluding helicopters"),
                _figure(a, "fixed_wing_sorties"),
            ),
            Field(
                "B.1.9",
                N_("Purpose of air missions"),
                _text(a.air_purpose),
            ),
            Field(
                "B.1.10",
                N_("Categories of aircraft involved"),
                _text(a.aircraft_categories),
            ),
            Field(
                "B.1.11",
                N_("Level of command organizing and commanding the air force participation"),
                _text(a.air_command_level),
            ),
            Field(
                "B.1.12",
                N_("Naval ship-to-shore gunfire, and other naval ship-to-shore support"),
                _text(a.naval_support),
            ),
            Field(
                "B.1.13",
                N_("Level of command organizing and commanding the naval force participation"),
                _text(a.naval_command_level),
            ),
        ),
    )


def _landing_group(a: Activity) -> Group:
    return Group(
        "B.2",
        N_(
            "Military forces engaged in an amphibious landing or in a parachute assault by "
            "airborne forces"
        ),
        (
            Field(
                "B.2.1",
                N_("Total number of amphibious troops and of airborne troops involved"),
                Table(
                    (N_("Amphibious troops"), N_("Airborne troops")),
                    ((_figure(a, "amphibious_troops"), _figure(a, "airborne_troops")),),
                ),
            ),
            Field(
                "B.2.2",
                N_(
                    "For an amphibious landing, the point or points of embarkation, if in the "
                    "zone of application"
                ),
                _text(a.embarkation_points),
            ),
        ),
    )


def _transfer_group(a: Activity) -> Group:
    return Group(
        "B.3",
        N_(
            "Land forces transferred into the zone of application to points of arrival, or "
            "within it to points of concentration"
        ),
        (
            Field("B.3.1", N_("Total number of troops transferred"), _figure(a, "troops", True)),
            Field(
                "B.3.2",
                N_("Number and type of divisions taking part in the transfer"),
                _text(a.divisions),
            ),
            Field(
                "B.3.3",
                N_("Total number of battle tanks taking part in the arrival or concentration"),
                _figure(a, "battle_tanks", True),
            ),
            Field(
                "B.3.4",
                N_(
                    "Total number of armoured combat vehicles taking part in the arrival or "
                    "concentration"
                ),
                _figure(a, "acv"),
            ),
            Field(
                "B.3.5",
                N_(
                    "Total number of self-propelled and towed artillery pieces, mortars and "
                    "multiple rocket launchers (100 mm calibre and above) taking part in the "
                    "arrival or concentration"
                ),
                _figure(a, "artillery"),
            ),
            Field(
                "B.3.6",
                N_("Geographic co-ordinates of the points of arrival and of concentration"),
                _text(a.arrival_points),
            ),
        ),
    )


def notification_form(notice: Notice) -> Form:
    """The official form of ``notice``: heading, then blocks A to D with numbered fields.

    Block B holds the part of each type the activity is: land forces (B.1) for an exercise
    or an alert activity, transfer or concentration (B.3) for those kinds, and amphibious
    landing or parachute assault (B.2) when the activity gives amphibious or airborne
    troops. A figure the notification does not give is ``Figure(None)`` ("not given",
    never 0); a field it does not carry at all is :class:`NotStated`."""
    a = notice.activity
    heading = (
        Field(
            "from", N_("Notifying State"), Codes((notice.sender,)) if notice.sender else NotStated()
        ),
        Field("to", N_("Addressed to"), Codes(notice.recipients)),
        Field("case", N_("Case"), Text(notice.case) if notice.case else NotStated()),
        Field("sent", N_("Sent"), Instant(notice.sent_at)),
        Field("host", N_("Host State"), Codes((a.host_state,))),
        Field(
            "kind",
            N_("Type of activity"),
            Vocabulary(a.kind.value, _KIND_WORDS.get(a.kind.value, a.kind.value)),
        ),
    )
    general = Block(
        "A",
        N_("General information"),
        (
            Group(
                None,
                None,
                (
                    Field("A.1", N_("Designation of the military activity"), Text(a.name)),
                    Field(
                        "A.2",
                        N_("General purpose of the military activity"),
                        _text(a.purpose),
                    ),
                    Field(
                        "A.3",
                        N_("Names of the States involved in the military activity"),
                        Codes(a.conducting_states),
                    ),
                    Field(
                        "A.4",
                        N_("Level of command organizing and commanding the military activity"),
                        _text(a.level_of_command),
                    ),
                    Field(
                        "A.5",
                        N_("Start and end dates of the military activity"),
                        Period(a.start, a.end),
                    ),
                ),
            ),
        ),
    )
    groups: list[Group] = []
    if a.kind in (ActivityKind.EXERCISE, ActivityKind.ALERT):
        groups.append(_land_group(a))
    if a.forces.amphibious_troops is not None or a.forces.airborne_troops is not None:
        groups.append(_landing_group(a))
    if a.kind in (ActivityKind.TRANSFER, ActivityKind.CONCENTRATION):
        groups.append(_transfer_group(a))
    types = Block(
        "B",
        N_("Information on the different types of notifiable military activity"),
        tuple(groups),
    )
    area_value: Value = _area(a.area) if a.area is not None else NotStated()
    area = Block(
        "C",
        N_("The envisaged area and timeframe of the activity"),
        (
            Group(
                None,
                None,
                (
                    Field(
                        "C.1",
                        N_(
                            "Area of the military activity, delimited by geographic features "
                            "together with geographic co-ordinates"
                        ),
                        area_value,
                    ),
                    Field(
                        "C.2",
                        N_(
                            "Start and end dates of each phase (transfers, deployment, "
                            "concentration of forces, active exercise phase, recovery phase), "
                            "its tactical purpose and its geographic area"
                        ),
                        _phases(a.phases),
                    ),
                    Field("C.3", N_("Brief description of each phase"), _descriptions(a.phases)),
                ),
            ),
        ),
    )
    other = Block(
        "D",
        N_("Other information"),
        (
            Group(
                None,
                None,
                (
                    Field(
                        "D.1",
                        N_(
                            "Changes, if any, to the information on this activity given in "
                            "the annual calendar"
                        ),
                        _text(a.calendar_changes),
                    ),
                    Field(
                        "D.2",
                        N_("Relationship of the activity to other notifiable activities"),
                        _text(a.related_activities),
                    ),
                ),
            ),
        ),
    )
    return Form(
        title=N_("Notification of a military activity"),
        source=N_("Vienna Document 2011, Chapter V (¶38–45)"),
        heading=heading,
        blocks=(general, types, area, other),
    )
