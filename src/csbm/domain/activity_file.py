"""Reading activities from the text of a YAML or JSON file (the input of ``csbm assess``).

The file holds one activity (a mapping with ``name``) or ``activities: [...]``. Every
problem is reported with its path (``activities[0].forces.troops: must be ≥ 0``); the
whole file is refused if any activity is bad, so nothing is half-assessed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from csbm.domain.activity import Activity
from csbm.errors import InputError, Problem, problems_from_pydantic
from csbm.reader import parse_document


def load_document(text: str | bytes, origin: str = "input") -> Any:
    """JSON or YAML text to plain data through csbm's one strict reader (csbm.reader)."""
    return parse_document(text, origin)


def parse_activities(text: str | bytes, origin: str = "input") -> list[Activity]:
    """Activities from a file's text; InputError naming every problem."""
    data = load_document(text, origin)
    return activities_from_data(data, origin)


def activities_from_data(data: Any, origin: str = "input") -> list[Activity]:
    if isinstance(data, dict) and "activities" in data:
        extra = sorted(str(k) for k in data if k != "activities")
        if extra:
            raise InputError(
                f"{origin}: unknown top-level fields",
                [
                    Problem(k, "unknown field (a file holds one activity or 'activities')")
                    for k in extra
                ],
            )
        items = data["activities"]
        if not isinstance(items, list):
            raise InputError(f"{origin}: bad file", [Problem("activities", "must be a list")])
        prefix = "activities"
    elif isinstance(data, dict):
        items, prefix = [data], ""
    else:
        raise InputError(
            f"{origin}: bad file",
            [Problem("", "the file must hold one activity (a mapping) or 'activities: [...]'")],
        )
    if not items:
        raise InputError(f"{origin}: no activities", [Problem(prefix, "no activities to assess")])
    problems: list[Problem] = []
    out: list[Activity] = []
    names: dict[str, str] = {}
    for i, item in enumerate(items):
        path = f"{prefix}[{i}]" if prefix else ""
        if not isinstance(item, dict):
            problems.append(Problem(path, "an activity must be a mapping"))
            continue
        try:
            activity = Activity.model_validate(item)
        except ValidationError as exc:
            problems.extend(problems_from_pydantic(exc, path))
            continue
        area_problems = _area_problems(activity, f"{path}.area" if path else "area")
        if area_problems:
            problems.extend(area_problems)
            continue
        if activity.name in names:
            problems.append(
                Problem(
                    f"{path}.name" if path else "name",
                    f"already used by {names[activity.name] or 'another activity'}; give another "
                    "declaration of the same activity under 'declarations'",
                    activity.name,
                )
            )
            continue
        names[activity.name] = path
        out.append(activity)
    if problems:
        raise InputError(f"{origin}: {len(problems)} problem(s)", problems)
    return out


def _area_problems(activity: Activity, path: str) -> list[Problem]:
    """The area must be GeoJSON in longitude, latitude (checked with csbm.geo)."""
    if activity.area is None:
        return []
    from csbm.errors import CsbmError
    from csbm.geo.areas import area_geometry

    try:
        area_geometry(activity.area, path)
    except CsbmError as exc:
        return list(exc.problems) or [Problem(path, exc.message)]
    return []
