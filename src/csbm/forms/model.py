"""The structured form: blocks of numbered fields, each with a typed value.

A form is what a printed notification shows, held as data so that every printer (the
command line's text and HTML, the workbench's print view) lays out the same fields in the
same order. Labels are English message ids (marked with :func:`N_` for Babel); a printer
translates them through a :class:`Localiser`. Values are never translated: they are the data
as sent.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

__all__ = [
    "ENGLISH",
    "N_",
    "Area",
    "Block",
    "Codes",
    "Field",
    "Figure",
    "Form",
    "Group",
    "Instant",
    "Localiser",
    "NotStated",
    "Period",
    "Table",
    "Text",
    "Value",
    "Vocabulary",
]


def N_(message: str) -> str:
    """Mark a label for extraction (``make messages``); a printer translates it."""
    return message


@dataclass(frozen=True)
class Text:
    """Free text as sent (a designation, a purpose, a level of command)."""

    text: str


@dataclass(frozen=True)
class Figure:
    """A number as sent; ``None`` is a figure the notification does not give (never 0).
    ``by_state`` holds the figure of each State involved and ``by_category`` the figure of
    each category (helicopters), when the notification gives them; both as sent."""

    value: int | None
    by_state: tuple[tuple[str, int | None], ...] = ()
    by_category: tuple[tuple[str, int | None], ...] = ()


@dataclass(frozen=True)
class Instant:
    """An instant in UTC; ``None`` when the notification does not give it."""

    at: datetime | None


@dataclass(frozen=True)
class Period:
    """A start and an end in UTC; either may be ``None`` (not given)."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Codes:
    """ISO 3166-1 codes of participating States, as sent; ``all`` for all of them."""

    codes: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """A word of csbm's vocabulary as sent (``exercise``), shown with its translated gloss."""

    code: str
    gloss: str


@dataclass(frozen=True)
class Area:
    """A GeoJSON area: its geometry types, its positions as (latitude, longitude) per ring
    or line, and the names of its features (``properties.name``), all as sent."""

    kinds: tuple[str, ...]
    parts: tuple[tuple[tuple[float, float], ...], ...]
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """Rows under labelled columns (forces by State, the phases)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]


@dataclass(frozen=True)
class NotStated:
    """The notification does not carry this field at all."""


Value = Text | Figure | Instant | Period | Codes | Vocabulary | Area | Table | NotStated


@dataclass(frozen=True)
class Field:
    """One numbered field: ``number`` (``A.1``, ``B.1.3``), its label (a message id), its
    value."""

    number: str
    label: str
    value: Value


@dataclass(frozen=True)
class Group:
    """A numbered part of a block (``B.1`` land forces); ``number`` and ``title`` are None
    for a block that has a single part."""

    number: str | None
    title: str | None
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Block:
    """One of the form's lettered blocks (``A`` to ``D``)."""

    letter: str
    title: str
    groups: tuple[Group, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for g in self.groups for f in g.fields)


@dataclass(frozen=True)
class Form:
    """A whole form: its title, its source, the heading fields (who sent it, to whom, when,
    the case) and its blocks."""

    title: str
    source: str
    heading: tuple[Field, ...]
    blocks: tuple[Block, ...]

    def field(self, number: str) -> Field:
        """The field numbered ``number`` (a heading field by its label); KeyError if none."""
        for f in self.heading:
            if f.number == number:
                return f
        for block in self.blocks:
            for f in block.fields:
                if f.number == number:
                    return f
        raise KeyError(number)


@dataclass(frozen=True)
class Localiser:
    """How a printer speaks one language: ``gettext`` translates a label, ``date_words``
    spells a day with its weekday and month names (a gloss beside the ISO 8601 instant,
    never in place of it), ``state_name`` gives a State's name for its code."""

    language: str
    gettext: Callable[[str], str]
    date_words: Callable[[date], str]
    state_name: Callable[[str], str | None] = field(default=lambda _code: None)


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _english_date(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


ENGLISH = Localiser("en", lambda message: message, _english_date)
"""English without any catalogue or locale data (the source language of the labels)."""
