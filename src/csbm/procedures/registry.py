"""Which measure consumes which message kind, and the JSON schema of every kind.

Source: issue 4 ("every message kind gets a JSON schema"). A measure module plugs in by
exposing ``MEASURE`` (see ``procedures.base``) and being listed in ``MEASURE_MODULES``;
a listed module that does not exist yet is skipped, so measures can land one by one.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from csbm.errors import InputError, problems_from_pydantic
from csbm.procedures._bodies import Body
from csbm.procedures.base import Procedure

MEASURE_MODULES: tuple[str, ...] = (
    "unusual_activity",
    "incident",
    "visit",
    "annual_exchange",
    "annual_calendar",
    "advance_communication",
    "prior_notification",
    "hotline",
    "attache_visit",
    "observation",
    "inspection",
    "evaluation",
)


@cache
def measures() -> tuple[Procedure[Any], ...]:
    """Every measure whose module exists, in ``MEASURE_MODULES`` order."""
    out: list[Procedure[Any]] = []
    for name in MEASURE_MODULES:
        qualified = f"csbm.procedures.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue
            raise
        measure = getattr(module, "MEASURE", None)
        if isinstance(measure, Procedure):
            out.append(measure)
    return tuple(out)


@cache
def by_kind() -> Mapping[str, Procedure[Any]]:
    """``{message kind: the measure that consumes it}``."""
    table: dict[str, Procedure[Any]] = {}
    for measure in measures():
        for kind in measure.bodies:
            if kind in table:
                raise RuntimeError(f"message kind {kind} is claimed by {table[kind].name} "
                                   f"and {measure.name}")
            table[kind] = measure
    return table


@cache
def observers() -> Mapping[str, tuple[Procedure[Any], ...]]:
    """``{message kind: the measures that observe it}`` besides the one consuming it."""
    table: dict[str, list[Procedure[Any]]] = {}
    for measure in measures():
        for kind in measure.observes:
            table.setdefault(kind, []).append(measure)
    return {kind: tuple(found) for kind, found in table.items()}


def message_kinds() -> list[str]:
    return sorted(by_kind())


def body_model(kind: str) -> type[BaseModel]:
    measure = by_kind().get(kind)
    if measure is None:
        raise KeyError(kind)
    return measure.bodies[kind]


def message_schemas() -> dict[str, dict[str, Any]]:
    """``{message kind: JSON schema of its body}`` for every registered kind."""
    return {kind: body_model(kind).model_json_schema() for kind in message_kinds()}


def validate_body(kind: str, body: Any, path: str = "body") -> dict[str, Any]:
    """The body of a ``kind`` message, validated and normalised to plain JSON data.

    Raises InputError naming each bad field (``body.reasons[0]: ...``).
    """
    return validate_body_model(kind, body, path)[1]


def validate_body_model(
    kind: str, body: Any, path: str = "body"
) -> tuple[BaseModel, dict[str, Any]]:
    """:func:`validate_body`, and the model the body was validated into (which the
    message carries to the measure, so that it is not validated twice)."""
    measure = by_kind().get(kind)
    if measure is None:
        raise InputError(f"unknown message kind {kind!r}")
    try:
        # model_validate(body) without its Python wrapper (10⁵ bodies in a replay): the
        # class's validator called as model_validate calls it, every option left unset
        model = measure.bodies[kind].__pydantic_validator__.validate_python(
            body if body is not None else {})
    except ValidationError as exc:
        raise InputError(f"bad {kind} body", problems_from_pydantic(exc, path)) from None
    return model, model.as_json() if isinstance(model, Body) else model.model_dump(mode="json")
