"""Scenario files for ``csbm replay``: rule packs and a timeline of messages.

Source: issue 4, item 3. A scenario is YAML or JSON::

    regime: [vd2011]              # bundled pack ids or paths (relative to the file)
    participants: [LT, LV, ...]   # optional; default: the 57 participating States
    units: {BY: {2022: 40}}       # optional; units reported in the annual exchange
    events:
      - at: 2022-02-09T10:00Z     # ISO 8601 with offset, or "2022-02-15T16:00 Europe/Vienna"
        type: ch3.request         # a message kind (``csbm replay --schemas`` lists them)
        from: LT                  # ISO 3166-1 alpha-2 code of a participating State
        to: BY                    # a code, a list of codes, or "all"
        case: union-resolve-2022  # ties the messages of one procedure together
        body: {on_behalf_of: [LT, LV, EE]}

Every problem is reported at once with its path (``events[3].at: ...``); nothing runs
when one is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from csbm._batch import cyclic_gc_paused
from csbm.domain.states import PARTICIPATING_STATES, is_participating_state
from csbm.domain.time import InstantError, parse_instant
from csbm.errors import CsbmError, InputError, NotFoundError, Problem
from csbm.message import checked_message, state_code_of
from csbm.procedures.base import Context, Event, check_instant
from csbm.reader import parse_document, read_document
from csbm.rules.loader import load_pack
from csbm.rules.pack import RulePack

_SCENARIO_KEYS = ("at", "from", "note")
"""What a scenario event adds to the message form (``csbm.message``)."""
_TOP_KEYS = frozenset({"regime", "participants", "units", "events", "title", "notes", "sources"})


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario: its context (packs, participants) and its events in file order."""

    context: Context
    events: tuple[Event, ...]
    title: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def last_at(self) -> datetime | None:
        return max((e.at for e in self.events), default=None)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; InputError lists every problem with its path.

    The file is read by the one strict reader (``csbm.reader``): duplicate keys, YAML
    aliases, text that is not UTF-8 and the rest are refused there, in one line."""
    file = Path(path)
    if not file.is_file() and not file.is_dir():
        raise NotFoundError(f"scenario file {str(path)!r} does not exist")
    data = read_document(file)
    return _scenario(data, base_dir=file.parent, origin=str(path))


def parse_scenario(
    text: str | bytes, base_dir: Path | None = None, origin: str = "<scenario>"
) -> Scenario:
    """A scenario from its text (JSON or YAML, read as :func:`load_scenario` reads a file)."""
    return _scenario(parse_document(text, origin), base_dir=base_dir, origin=origin)


def _scenario(data: Any, base_dir: Path | None, origin: str) -> Scenario:
    if not isinstance(data, dict):
        raise InputError(f"{origin}: a scenario is a mapping",
                         [Problem("(file)", "a scenario must be a mapping with 'events'")])
    return scenario_from_data(data, base_dir=base_dir, origin=origin)


def scenario_from_data(
    data: dict[str, Any], base_dir: Path | None = None, origin: str = "<scenario>"
) -> Scenario:
    problems: list[Problem] = []
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(Problem(str(key), f"unknown key; one of {sorted(_TOP_KEYS)}"))
    packs = _packs(data.get("regime", ["vd2011"]), base_dir, problems)
    participants = _participants(data.get("participants"), problems)
    units = _units(data.get("units"), problems)
    raw_events = data.get("events")
    events: list[Event] = []
    if not isinstance(raw_events, list):
        problems.append(Problem("events", "a list of events is required", _short(raw_events)))
    else:
        with cyclic_gc_paused():
            for index, raw in enumerate(raw_events):
                event = _event(raw, index, problems)
                if event is not None:
                    events.append(event)
    if problems:
        raise InputError(f"{origin}: {len(problems)} problem(s) in the scenario", problems)
    title = data.get("title")
    notes = data.get("notes") or ()
    return Scenario(
        context=Context(packs=tuple(packs), participants=participants, reported_units=units),
        events=tuple(events),
        title=str(title) if title is not None else None,
        notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (str(notes),),
    )


def _short(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else None


def _packs(raw: Any, base_dir: Path | None, problems: list[Problem]) -> list[RulePack]:
    refs = [raw] if isinstance(raw, str) else raw
    if not isinstance(refs, list) or not refs:
        problems.append(Problem("regime", "a list of rule packs (ids or paths) is required"))
        return []
    out: list[RulePack] = []
    for i, ref in enumerate(refs):
        if not isinstance(ref, str):
            problems.append(Problem(f"regime[{i}]", "a pack id or a path", _short(ref)))
            continue
        target: str | Path = ref
        if base_dir is not None and (ref.endswith((".yaml", ".yml", ".json")) or "/" in ref):
            candidate = base_dir / ref
            target = candidate if candidate.exists() else ref
        try:
            out.append(load_pack(target))
        except CsbmError as exc:
            for line in exc.lines():
                problems.append(Problem(f"regime[{i}]", line, ref))
    return out


def _participants(raw: Any, problems: list[Problem]) -> tuple[str, ...]:
    if raw is None:
        return tuple(s.code for s in PARTICIPATING_STATES)
    if not isinstance(raw, list):
        problems.append(Problem("participants", "a list of State codes", _short(raw)))
        return ()
    out: list[str] = []
    for i, code in enumerate(raw):
        if not isinstance(code, str) or not is_participating_state(code):
            problems.append(Problem(f"participants[{i}]", "not a participating State's code",
                                    _short(code)))
        else:
            out.append(code)
    return tuple(out)


def _units(raw: Any, problems: list[Problem]) -> dict[tuple[str, int], int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem("units", "a mapping {State: {year: units}}"))
        return {}
    out: dict[tuple[str, int], int] = {}
    for code, years in raw.items():
        if not isinstance(code, str) or not is_participating_state(code):
            problems.append(Problem(f"units.{code}", "not a participating State's code"))
            continue
        if not isinstance(years, dict):
            problems.append(Problem(f"units.{code}", "a mapping {year: units}"))
            continue
        for year, count in years.items():
            try:
                y = int(year)
            except (TypeError, ValueError):
                problems.append(Problem(f"units.{code}.{year}", "a year", _short(year)))
                continue
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                problems.append(Problem(f"units.{code}.{year}", "a number of units ≥ 0",
                                        _short(count)))
                continue
            out[(code, y)] = count
    return out


def _event(raw: Any, index: int, problems: list[Problem]) -> Event | None:
    """One event: the message form (``csbm.message``, validated there) with ``at`` and
    ``from``."""
    path = f"events[{index}]"
    if not isinstance(raw, dict):
        problems.append(Problem(path, "an event is a mapping {at, type, from, to, case, body}"))
        return None
    message, found = checked_message(raw, path, extra_keys=_SCENARIO_KEYS)
    problems.extend(found)
    at: datetime | None = None
    if "at" not in raw:
        problems.append(Problem(f"{path}.at", "an instant is required"))
    else:
        try:
            at = check_instant(parse_instant(raw["at"]).at)
        except InstantError as exc:
            problems.append(Problem(f"{path}.at", str(exc), _short(raw["at"])))
    sender = _sender(raw.get("from"), f"{path}.from", problems)
    if message is None or at is None or sender is None:
        return None
    return message.event(at, sender, index)


def _sender(raw: Any, path: str, problems: list[Problem]) -> str | None:
    if raw is None:
        problems.append(Problem(path, "the sender's State code is required"))
        return None
    if isinstance(raw, list):
        problems.append(Problem(path, "one sender per message (use on_behalf_of)"))
        return None
    known = state_code_of(raw) if type(raw) is str else None
    if known is not None:
        return known
    if not isinstance(raw, str) or not is_participating_state(raw.strip()):
        problems.append(Problem(path, "not a participating State's ISO 3166-1 code", _short(raw)))
        return None
    return raw.strip().upper()
