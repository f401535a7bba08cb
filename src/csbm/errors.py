"""Errors with a code, raised by the core and rendered by the shells.

The CLI prints one line per problem and exits 2; the API answers with RFC 9457
problem+json. Every problem names where it is (a path such as
``activities[0].forces.troops``), the value that was given, and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

EXIT_BAD_INPUT = 2
#: Exit status when the log itself is bad (lost, empty, corrupt, not this node's).
EXIT_BAD_LOG = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, what was given, and why it is refused."""

    path: str
    reason: str
    value: Any = None
    rule: str | None = None

    def line(self) -> str:
        where = self.path or "(input)"
        text = f"{where}: {self.reason}"
        if self.value is not None:
            shown = repr(self.value)
            if len(shown) > 240:  # long enough for a path, short enough for a line
                shown = shown[:237] + "..."
            text += f" (got {shown})"
        if self.rule:
            text += f" [{self.rule}]"
        return text

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "reason": self.reason}
        if self.value is not None:
            out["value"] = self.value if _jsonable(self.value) else repr(self.value)
        if self.rule:
            out["rule"] = self.rule
        return out


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


@dataclass
class CsbmError(Exception):
    """Base of every error csbm raises on purpose. ``code`` is stable and machine-readable."""

    message: str
    code: str = "csbm.error"
    problems: Sequence[Problem] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        """One line per problem, or the message when there are none."""
        if not self.problems:
            return [self.message]
        return [p.line() for p in self.problems]


class InputError(CsbmError):
    """The user's input (a file, an option, a request body) is malformed."""

    def __init__(self, message: str, problems: Iterable[Problem] = (), code: str = "csbm.input"):
        super().__init__(message=message, code=code, problems=tuple(problems))


class RulePackError(CsbmError):
    """A rule pack is malformed: the entry and field are named in each problem."""

    def __init__(self, message: str, problems: Iterable[Problem] = (), code: str = "csbm.rulepack"):
        super().__init__(message=message, code=code, problems=tuple(problems))


class LogError(CsbmError):
    """The node's log itself is bad: lost, emptied, unreadable, or not the log this node
    had. The shells exit 1 (as a failed audit does), not 2."""

    exit_code = EXIT_BAD_LOG

    def __init__(self, message: str, problems: Iterable[Problem] = (), code: str = "node.log_lost"):
        super().__init__(message=message, code=code, problems=tuple(problems))


class NotFoundError(CsbmError):
    """Something named does not exist (a pack, a key, a log entry)."""

    def __init__(self, message: str, code: str = "csbm.not_found"):
        super().__init__(message=message, code=code)


def problems_from_pydantic(exc: Any, prefix: str = "") -> list[Problem]:
    """Turn a ``pydantic.ValidationError`` into problems with dotted/indexed paths."""
    out: list[Problem] = []
    for err in exc.errors():
        path = prefix
        for part in err.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += ("." if path else "") + str(part)
        reason = reason_of(err)
        value = err.get("input")
        if isinstance(value, dict | list):
            value = None
        out.append(Problem(path=path, reason=reason, value=value))
    return out


_REASONS = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def reason_of(err: Any) -> str:
    """A short reason for one pydantic error, in the words of csbm's messages."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in _REASONS:
        return _REASONS[kind]
    if kind == "greater_than_equal":
        return f"must be ≥ {_num(ctx.get('ge'))}"
    if kind == "greater_than":
        return f"must be > {_num(ctx.get('gt'))}"
    if kind == "less_than_equal":
        return f"must be ≤ {_num(ctx.get('le'))}"
    if kind == "too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else str(err.get("msg"))
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("enum", "literal_error"):
        return f"must be one of {ctx.get('expected')}"
    reason = str(err.get("msg", "invalid"))
    return reason.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _num(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
