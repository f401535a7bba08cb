"""A form as plain text: numbered fields, labels translated, data as sent.

Every instant is ISO 8601 in UTC (``2017-09-14T00:00:00Z``); beside it, in parentheses, the
day spelled with its weekday and month names in the reader's language (a gloss, never the
data). A figure not given prints as "not given", never 0; a field the notification does
not carry prints as "not stated in the notification".

Pure: returns a string.
"""

from __future__ import annotations

import textwrap
from datetime import datetime

from csbm.domain.time import iso
from csbm.forms.model import (
    ENGLISH,
    N_,
    Area,
    Codes,
    Field,
    Figure,
    Form,
    Instant,
    Localiser,
    NotStated,
    Period,
    Table,
    Text,
    Value,
    Vocabulary,
)

__all__ = ["code_text", "instant_text", "render_text", "value_lines"]

WIDTH = 78
"""Labels wrap at this width; data lines are printed as they are."""

_INDENT = "    "

NOT_GIVEN = N_("not given")
NOT_STATED = N_("not stated in the notification")
ALL_STATES = N_("all participating States")
START = N_("Start")
END = N_("End")
FEATURES = N_("Features")
GEOMETRY = N_("Geometry")
COORDINATES = N_("Geographic co-ordinates (latitude, longitude; WGS 84)")


def instant_text(at: datetime | None, loc: Localiser) -> str:
    if at is None:
        return loc.gettext(NOT_GIVEN)
    return f"{iso(at)} ({loc.date_words(at.date())})"


def code_text(code: str, loc: Localiser) -> str:
    if code == "all":
        return f"all ({loc.gettext(ALL_STATES)})"
    name = loc.state_name(code)
    return f"{code} ({name})" if name else code


def _number(value: int | None, loc: Localiser) -> str:
    return loc.gettext(NOT_GIVEN) if value is None else str(value)


def _position(lat: float, lon: float) -> str:
    return f"{lat}, {lon}"


def value_lines(value: Value, loc: Localiser = ENGLISH) -> list[str]:
    """The lines that show ``value`` (without indentation)."""
    t = loc.gettext
    if isinstance(value, NotStated):
        return [t(NOT_STATED)]
    if isinstance(value, Text):
        return value.text.splitlines() or [""]
    if isinstance(value, Figure):
        lines = [_number(value.value, loc)]
        lines += [f"{code_text(code, loc)}: {_number(n, loc)}" for code, n in value.by_state]
        lines += [f"{name}: {_number(n, loc)}" for name, n in value.by_category]
        return lines
    if isinstance(value, Instant):
        return [instant_text(value.at, loc)]
    if isinstance(value, Period):
        return [
            f"{t(START)}: {instant_text(value.start, loc)}",
            f"{t(END)}: {instant_text(value.end, loc)}",
        ]
    if isinstance(value, Codes):
        return [", ".join(code_text(c, loc) for c in value.codes)]
    if isinstance(value, Vocabulary):
        gloss = t(value.gloss)
        return [value.code if gloss == value.code else f"{value.code} ({gloss})"]
    if isinstance(value, Area):
        return _area_lines(value, loc)
    return _table_lines(value, loc)


def _area_lines(area: Area, loc: Localiser) -> list[str]:
    t = loc.gettext
    lines: list[str] = []
    if area.names:
        lines.append(f"{t(FEATURES)}: " + "; ".join(area.names))
    if area.kinds:
        lines.append(f"{t(GEOMETRY)}: " + ", ".join(area.kinds))
    if area.parts:
        lines.append(t(COORDINATES) + ":")
        for i, part in enumerate(area.parts, 1):
            text = "; ".join(_position(lat, lon) for lat, lon in part)
            wrapped = textwrap.wrap(
                text, WIDTH - 8, break_long_words=False, break_on_hyphens=False
            ) or [""]
            lines.append(f"{i}. {wrapped[0]}")
            lines.extend(f"   {more}" for more in wrapped[1:])
    return lines or [t(NOT_STATED)]


def _table_lines(table: Table, loc: Localiser) -> list[str]:
    lines: list[str] = []
    for i, row in enumerate(table.rows, 1):
        marker = f"{i}. " if len(table.rows) > 1 else ""
        pad = " " * len(marker)
        first = True
        for column, cell in zip(table.columns, row, strict=True):
            shown = value_lines(cell, loc)
            lines.append(f"{marker if first else pad}{loc.gettext(column)}: {shown[0]}")
            lines.extend(f"{pad}  {more}" for more in shown[1:])
            first = False
    return lines


def _field(field: Field, loc: Localiser) -> list[str]:
    head = f"{field.number} "
    label = textwrap.wrap(loc.gettext(field.label), WIDTH - len(head), break_on_hyphens=False) or [
        ""
    ]
    lines = [head + label[0]] + [" " * len(head) + more for more in label[1:]]
    pad = " " * (len(head) + 2)
    lines += [pad + line if line else "" for line in value_lines(field.value, loc)]
    return lines


def render_text(form: Form, loc: Localiser = ENGLISH) -> str:
    """``form`` as text in the language of ``loc``, ending with a newline."""
    t = loc.gettext
    out = [t(form.title).upper(), t(form.source), ""]
    for field in form.heading:
        shown = value_lines(field.value, loc)
        out.append(f"{t(field.label)}: {shown[0]}")
        out.extend(_INDENT + more for more in shown[1:])
    for block in form.blocks:
        out += ["", f"{block.letter}. {t(block.title)}"]
        if not block.groups:
            out += ["", _INDENT + t(NOT_STATED)]
        for group in block.groups:
            if group.number is not None and group.title is not None:
                head = f"{group.number} "
                title = textwrap.wrap(t(group.title), WIDTH - len(head)) or [""]
                out += ["", head + title[0]]
                out += [" " * len(head) + more for more in title[1:]]
            for field in group.fields:
                out += ["", *_field(field, loc)]
    return "\n".join(out) + "\n"
