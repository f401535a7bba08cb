"""The one family of message-body helpers: a strict base model, State codes, instants.

Source: issue 9, item 5 ("one family of body helpers"). Every measure's body models derive
from :class:`Body` and read State codes and instants through the helpers here, so a body is
validated the same way whatever its measure, when it is signed, received, replayed or
projected (``csbm.message``). Instants are read by ``csbm.domain.time.parse_instant`` and
bounded by ``procedures.base.check_instant`` (no deadline may fall past year 9999).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from csbm.domain.states import is_participating_state
from csbm.domain.time import InstantError, iso, parse_instant
from csbm.i18n import N_, phrase
from csbm.procedures.base import Event, Refusal, check_instant


class Body(BaseModel):
    """Base of every message body: unknown fields are refused, text is stripped of the
    blanks around it, bodies are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    def as_json(self) -> dict[str, Any]:
        """The body as JSON data: ``model_dump(mode="json")``, which a body may give with
        less work (``tests/procedures/test_parsed_bodies.py`` checks that it is the same).

        Here, for a body of plain fields (no serializer, alias, computed or excluded
        field), whose values are text, whole numbers, true/false, null or lists of text:
        those values as they are, lists copied, in the fields' order -- what the dump
        gives them; any other value (an instant, a number with a fraction, a mapping, a
        model) takes the dump."""
        names = _plain_fields(type(self))
        if names is None:
            return self.model_dump(mode="json")
        values = self.__dict__
        out: dict[str, Any] = {}
        for name in names:
            value = values[name]
            kind = type(value)
            if kind is str or kind is int or kind is bool or value is None:
                out[name] = value
            elif (kind is list or kind is tuple) and all(type(v) is str for v in value):
                out[name] = list(value)
            else:
                return self.model_dump(mode="json")
        return out


_PLAIN_FIELDS: dict[type[BaseModel], tuple[str, ...] | None] = {}


def _plain_fields(cls: type[BaseModel]) -> tuple[str, ...] | None:
    """The fields of ``cls`` in order when its dump is the plain one (no serializer,
    alias, computed or excluded field, no extra values), else None; once per class."""
    try:
        return _PLAIN_FIELDS[cls]
    except KeyError:
        pass
    decorators = cls.__pydantic_decorators__
    plain = (
        not decorators.field_serializers and not decorators.model_serializers
        and not cls.model_computed_fields and cls.model_config.get("extra") == "forbid"
        and all(f.exclude is None and f.alias is None and f.serialization_alias is None
                for f in cls.model_fields.values())
    )
    found = _PLAIN_FIELDS[cls] = tuple(cls.model_fields) if plain else None
    return found


def state_code(value: str) -> str:
    """A participating State's ISO 3166-1 alpha-2 code, in upper case."""
    if not isinstance(value, str) or not is_participating_state(value.strip()):
        raise ValueError("not a participating State's ISO 3166-1 alpha-2 code")
    return value.strip().upper()


def instant_text(value: str | None) -> str | None:
    """An instant as csbm reads it (ISO 8601 with an offset, a local time with a named
    zone, a bare date), normalised to UTC ``Z``; None stays None."""
    if value is None:
        return None
    try:
        return iso(check_instant(parse_instant(value).at))
    except InstantError as exc:
        raise ValueError(str(exc)) from None


def instant(value: Any) -> datetime | None:
    """The instant a validated body field holds (see :func:`instant_text`)."""
    return None if value is None else parse_instant(value).at


StateCode = Annotated[str, AfterValidator(state_code)]
"""An ISO 3166-1 alpha-2 code of a participating State (read in upper case)."""


def _instant_required(value: str) -> str:
    text = instant_text(value)
    if text is None:
        raise ValueError("an instant is required")
    return text


InstantText = Annotated[str, AfterValidator(_instant_required)]
"""An instant as csbm reads it, normalised to UTC ``Z`` (see :func:`instant_text`)."""


B = TypeVar("B", bound=BaseModel)


def parse_body(model: type[B], event: Event) -> B:
    """The event's body as ``model``; a malformed one is refused, naming the field.

    Bodies are validated before an event is made (``csbm.message``), so this refuses only
    an event built by hand with a bad body; the model that check made, when the event
    carries it (:meth:`Event.model_of`), is returned as it is rather than validated again.
    """
    done = event.model_of(model)
    if done is not None:
        return done
    try:
        return model.model_validate(dict(event.body))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise Refusal(phrase(N_("bad {kind} body: {where}: {error}"), kind=event.type,
                             where=where, error=f"{err.get('msg')}"),
                      kind="malformed") from None
