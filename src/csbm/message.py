"""One message: its form, its one validation, and the payload it is signed and logged as.

Source: DESIGN.md ("One message model, one reader": a message has one form — type, to,
case, body — from scenario file to log entry to API, and its body is validated by the same
schema when it is signed, received, replayed and projected); issue 9, items 1 and 2.

The form
--------
A message is the mapping ::

    type: ch3.request            # a message kind (``csbm replay --schemas`` lists them)
    to: BY                       # a State code, a list of codes, or "all" (the default)
    case: union-resolve-2022     # the label tying one procedure's messages together
    body: {on_behalf_of: [LT]}   # validated by the kind's schema (procedures.registry)

A scenario event adds ``at`` (when) and ``from`` (who sent it), and may carry a ``note``;
in a log these come from the signed envelope (``created_at`` and ``sender``), filled in by
the node when it signs. Unknown fields are refused everywhere.

The signed payload
------------------
The envelope (``csbm.ledger.envelope``) signs a JSON object ``message`` whose ``kind`` the
store indexes; a procedure message is signed as ::

    {"kind": <type>, "case": <label>, "body": {...}}     # "case" absent when none

with ``to`` as the envelope's ``recipients``. :func:`to_payload` and
:func:`message_from_payload` map one form onto the other, both ways, and the latter
validates exactly as :func:`validate_message` does. The case label lives in one place: next
to the kind, never inside the body.

Why a top-level module: the model needs the bodies' schemas, which the measures declare
(``csbm.procedures.registry``), so it cannot live in ``csbm.domain`` (a lower layer never
imports a higher one); it imports nothing above the procedures and nothing of the ledger,
so the scenario reader, the projection of a log, the node's receive check and the shells
(``ledger append``, the coming API) all share it.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from csbm.domain.records import quick_init
from csbm.domain.states import is_participating_state
from csbm.errors import InputError, Problem
from csbm.procedures.base import ALL, Event
from csbm.procedures.registry import by_kind, message_kinds, message_schemas, validate_body_model

__all__ = [
    "MESSAGE_KEYS",
    "RESERVED_PREFIX",
    "Checked",
    "Message",
    "MessageError",
    "check_payload",
    "checked_message",
    "from_event",
    "message_from_file_data",
    "message_from_payload",
    "message_problems",
    "message_schema",
    "schemas",
    "state_code_of",
    "to_event",
    "to_payload",
    "validate_message",
]

MESSAGE_KEYS: tuple[str, ...] = ("type", "to", "case", "body")
"""The fields of a message, in their order."""

FILE_KEYS: frozenset[str] = frozenset({"message_id"})
"""What a message file for ``csbm ledger append`` may add: the message id of a retry."""

RESERVED_PREFIX = "csbm."
"""Kinds the ledger itself signs (receipts, keys): never a procedure message."""

MAX_CASE = 200
"""The longest case label accepted (characters)."""


class MessageError(InputError):
    """A message refused by its form or by its kind's schema; each problem names its path."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message, problems, code="message.invalid")


class Message(BaseModel):
    """One message in its one form. Build it with :func:`validate_message` (or the mapping
    functions below), which checks the recipients and validates ``body`` by the kind's
    schema; the model itself only holds the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    to: tuple[str, ...] = (ALL,)
    case: str | None = None
    body: dict[str, Any]


    @property
    def to_all(self) -> bool:
        return ALL in self.to

    def as_data(self) -> dict[str, Any]:
        """The message as a user writes it (``to`` a list, ``case`` left out when none)."""
        out: dict[str, Any] = {"type": self.type, "to": list(self.to)}
        if self.case is not None:
            out["case"] = self.case
        out["body"] = dict(self.body)
        return out


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else None


def _recipients(raw: Any, path: str, problems: list[Problem]) -> tuple[str, ...]:
    """``to``: a code, a list of codes, or "all" (alone); codes read in upper case."""
    if raw == ALL or raw == [ALL]:
        return (ALL,)
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        problems.append(
            Problem(path, 'a State code, a list of codes, or "all" is required', _shown(raw))
        )
        return ()
    out: list[str] = []
    for i, code in enumerate(items):
        known = state_code_of(code) if type(code) is str else None
        if known is not None and known not in out:  # (most codes: checked, read once)
            out.append(known)
            continue
        where = path if isinstance(raw, str) else f"{path}[{i}]"
        if code == ALL:
            problems.append(Problem(where, '"all" stands alone'))
        elif not isinstance(code, str) or not is_participating_state(code.strip()):
            problems.append(
                Problem(where, "not a participating State's ISO 3166-1 code", _shown(code))
            )
        elif code.strip().upper() in out:
            problems.append(Problem(where, "a State is named twice", code))
        else:
            out.append(code.strip().upper())
    return tuple(out)


_CODES: dict[str, str] = {}
"""State codes as given → as read (``code.strip().upper()``), for those of participating
States: a log names the same few dozen codes 10⁵ times. At most :data:`_CODES_KEPT`."""

_CODES_KEPT = 4096


def state_code_of(code: str) -> str | None:
    """``code.strip().upper()`` when ``is_participating_state(code.strip())``, else None
    (a ``str`` ``code``; the codes found good are remembered)."""
    known = _CODES.get(code)
    if known is None:
        stripped = code.strip()
        if not is_participating_state(stripped):
            return None
        known = stripped.upper()
        if len(_CODES) < _CODES_KEPT:
            _CODES[code] = known
    return known


def _case(raw: Any, path: str, problems: list[Problem]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        problems.append(Problem(path, "a label (text)", _shown(raw)))
        return None
    label = str(raw).strip()
    if not label or len(label) > MAX_CASE:
        problems.append(Problem(path, f"a label of 1 to {MAX_CASE} characters", _shown(raw)))
        return None
    return label


@quick_init
@dataclass(frozen=True, slots=True)
class Checked:
    """A message as :func:`checked_message` validated it: the fields a :class:`Message`
    holds, and ``model``, the model its body was validated into. :meth:`event` hands that
    model to the measures with the event (``Event.parsed``), so the body is validated once
    on the way from a file to the procedures (issue 10's performance constraint)."""

    type: str
    to: tuple[str, ...]
    case: str | None
    body: dict[str, Any]
    model: BaseModel

    def message(self) -> Message:
        return Message(type=self.type, to=self.to, case=self.case, body=self.body)

    def event(self, at: datetime, sender: str, seq: int = 0) -> Event:
        """The procedure event of this message sent by ``sender`` at ``at`` (log position
        ``seq``), as :func:`to_event` makes it, carrying the validated body model."""
        return Event(at, self.type, sender, self.to, self.case or "", self.body, seq,
                     (self.body, self.model))


def message_problems(
    data: Any, path: str = "", *, extra_keys: Collection[str] = ()
) -> tuple[Message | None, list[Problem]]:
    """Validate ``data`` as a message; the message (None when refused) and every problem.

    ``extra_keys`` are fields the caller reads itself (a scenario's ``at``, ``from``,
    ``note``; a message file's ``message_id``); any other unknown field is refused.
    """
    checked, problems = checked_message(data, path, extra_keys=extra_keys)
    return (None, problems) if checked is None else (checked.message(), [])


def _is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, a dict told at once (the ABC check is slow)."""
    return type(value) is dict or isinstance(value, Mapping)


@functools.cache
def _allowed_keys(extra_keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(MESSAGE_KEYS) | frozenset(extra_keys)


def checked_message(
    data: Any, path: str = "", *, extra_keys: Collection[str] = ()
) -> tuple[Checked | None, list[Problem]]:
    """:func:`message_problems` without building the :class:`Message`: the validated
    fields and body model (None when refused), and every problem."""
    if not _is_mapping(data):
        return None, [Problem(path or "(message)", "a message is a mapping {type, to, case, body}")]
    problems: list[Problem] = []
    allowed = _allowed_keys(tuple(extra_keys))
    for key in data:
        if key not in allowed:
            problems.append(Problem(_at(path, str(key)), f"unknown key; one of {sorted(allowed)}"))
    kind = data.get("type")
    body: dict[str, Any] | None = None
    parsed: BaseModel | None = None
    if not isinstance(kind, str) or kind not in by_kind():
        problems.append(
            Problem(_at(path, "type"), f"unknown message kind; one of {message_kinds()}",
                    _shown(kind))
        )
    else:
        raw_body = data.get("body")
        if raw_body is not None and not _is_mapping(raw_body):
            problems.append(Problem(_at(path, "body"), "a body is a mapping", _shown(raw_body)))
        else:
            try:
                parsed, body = validate_body_model(kind, raw_body, _at(path, "body"))
            except InputError as exc:
                problems.extend(exc.problems or [Problem(_at(path, "body"), exc.message)])
    recipients = _recipients(data.get("to", ALL), _at(path, "to"), problems)
    case = _case(data.get("case"), _at(path, "case"), problems)
    if problems or body is None or parsed is None or not isinstance(kind, str):
        return None, problems
    return Checked(kind, recipients, case, body, parsed), []


def validate_message(data: Any, path: str = "", *, extra_keys: Collection[str] = ()) -> Message:
    """The message ``data`` holds, validated; MessageError lists every problem at once."""
    message, problems = message_problems(data, path, extra_keys=extra_keys)
    if message is None:
        raise MessageError("bad message", problems)
    return message


def message_from_file_data(data: Any, path: str = "") -> Message:
    """A message file as ``csbm ledger append`` (and the coming ``csbm send``) read it: the
    message form, plus an optional ``message_id`` the caller reads itself."""
    return validate_message(data, path, extra_keys=FILE_KEYS)


def to_payload(message: Message) -> dict[str, Any]:
    """The JSON object the envelope signs for ``message`` (its recipients: ``message.to``)."""
    payload: dict[str, Any] = {"kind": message.type}
    if message.case is not None:
        payload["case"] = message.case
    payload["body"] = dict(message.body)
    return payload


def message_from_payload(
    payload: Any, recipients: Sequence[str], path: str = "message"
) -> Message:
    """The message a signed payload and its envelope's recipients carry, validated as a
    message typed by hand is; MessageError when the payload or its body is refused."""
    return checked_payload(payload, recipients, path).message()


def checked_payload(payload: Any, recipients: Sequence[str], path: str = "message") -> Checked:
    """:func:`message_from_payload` with the body model it was validated into
    (:class:`Checked`): a log entry read for the procedures is validated once
    (``Checked.event``), not once more by its measure."""
    if not isinstance(payload, Mapping):
        raise MessageError("bad message", [Problem(path, "a signed message is a JSON object")])
    problems: list[Problem] = []
    unknown = sorted(set(payload) - {"kind", "case", "body"})
    if unknown:
        problems.append(Problem(path, f"unknown members {unknown}; one of [body, case, kind]"))
    data = {"type": payload.get("kind"), "to": list(recipients), "body": payload.get("body")}
    if "case" in payload:
        data["case"] = payload["case"]
    checked, more = checked_message(data, path)
    renamed = {f"{path}.type": f"{path}.kind", f"{path}.to": "recipients"}
    for problem in more:
        head, sep, rest = problem.path.partition("[")
        if head in renamed:
            problem = Problem(renamed[head] + sep + rest, problem.reason, problem.value)
        problems.append(problem)
    if problems or checked is None:
        raise MessageError("bad message", problems)
    return checked


def check_payload(payload: Mapping[str, Any], recipients: Sequence[str]) -> None:
    """The receive check (``Node.receive``): a procedure message whose payload or body its
    schema refuses raises MessageError before anything is stored. Kinds of the ledger's own
    namespace (``csbm.``) are left to the ledger, and a kind this node does not know is
    logged as it came (it is shown as refused when the log is projected)."""
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind.startswith(RESERVED_PREFIX) or kind not in by_kind():
        return
    message_from_payload(payload, recipients)


def to_event(message: Message, at: datetime, sender: str, seq: int = 0) -> Event:
    """The procedure event of ``message`` sent by ``sender`` at ``at`` (log position ``seq``)."""
    return Event(
        at=at,
        type=message.type,
        sender=sender,
        recipients=message.to,
        case=message.case or "",
        body=message.body,
        seq=seq,
    )


def from_event(event: Event) -> Message:
    """The message an event carries (its body was validated when the event was made)."""
    return Message(
        type=event.type,
        to=event.recipients,
        case=event.case or None,
        body=dict(event.body),
    )


def message_schema() -> dict[str, Any]:
    """The JSON schema of the message form (``csbm replay --schemas`` prints it beside the
    body schema of each kind)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "csbm message",
        "description": "One message: its kind, recipients, case label and body. A scenario "
        "event adds at and from (and may carry a note); in a log they come from the envelope.",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "body"],
        "properties": {
            "type": {"enum": message_kinds(), "description": "the message kind"},
            "to": {
                "description": 'a State code, a list of codes, or "all" (the default)',
                "oneOf": [
                    {"const": ALL},
                    {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                    {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                    },
                ],
            },
            "case": {
                "description": "the label tying one procedure's messages together",
                "type": ["string", "integer"],
                "minLength": 1,
                "maxLength": MAX_CASE,
            },
            "body": {
                "type": "object",
                "description": "validated by the schema of its kind (see bodies)",
            },
        },
    }


def schemas() -> dict[str, dict[str, Any]]:
    """What ``csbm replay --schemas`` prints: the message form under ``"message"`` and the
    body schema of every kind under the kind's name (no kind is named ``message``)."""
    return {"message": message_schema(), **message_schemas()}
