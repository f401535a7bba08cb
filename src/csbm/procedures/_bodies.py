"""Shared pieces of message-body schemas: a strict base model, State codes, instants."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from csbm.domain.states import is_participating_state
from csbm.domain.time import InstantError, parse_instant


def _state_code(value: str) -> str:
    if not is_participating_state(value):
        raise ValueError("not a participating State's ISO 3166-1 code")
    return value


def _instant(value: str) -> str:
    try:
        parse_instant(value)
    except InstantError as exc:
        raise ValueError(str(exc)) from None
    return value


StateCode = Annotated[str, AfterValidator(_state_code)]
"""An ISO 3166-1 alpha-2 code of a participating State."""

InstantText = Annotated[str, AfterValidator(_instant)]
"""An instant as csbm reads it (ISO 8601 with offset, a local time with a zone, a date)."""


class Body(BaseModel):
    """Base of every message body: unknown fields are refused, bodies are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
