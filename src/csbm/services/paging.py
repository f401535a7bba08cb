"""Paging of every list the workbench and its JSON twins show: ``limit`` and ``offset``.

Source: issue 12, item 1 ("every list pages"). One reader of the two numbers (a bad one is
an :class:`csbm.errors.InputError` naming the field, as everywhere), one window over a
sequence, and one :class:`PageInfo` that says where the window stands, so a page can draw
"previous" and "next" and a client can walk the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from csbm.errors import InputError, Problem
from csbm.services.documents import Document

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PageInfo", "check_window", "window"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


class PageInfo(Document):
    """Where a window of a list stands: its ``offset`` and ``limit``, the ``total`` of the
    list, and the offsets of the previous and next windows (None at either end)."""

    offset: int
    limit: int
    total: int
    previous: int | None
    next: int | None


def check_window(offset: int, limit: int, prefix: str = "") -> None:
    """Refuse an offset below 0 or a limit outside 1..MAX_LIMIT (fields named with
    ``prefix``, e.g. ``inbox_offset``)."""
    problems = []
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        problems.append(Problem(f"{prefix}offset", "a whole number from 0", offset))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        problems.append(Problem(f"{prefix}limit", f"a whole number from 1 to {MAX_LIMIT}", limit))
    if problems:
        raise InputError("bad page", problems, code="page.bad")


def window(
    items: Sequence[T], offset: int, limit: int, prefix: str = ""
) -> tuple[list[T], PageInfo]:
    """The items from ``offset`` (at most ``limit`` of them) and their :class:`PageInfo`."""
    check_window(offset, limit, prefix)
    total = len(items)
    chosen = list(items[offset : offset + limit])
    return chosen, info(offset, limit, total)


def info(offset: int, limit: int, total: int) -> PageInfo:
    """The :class:`PageInfo` of a window of ``limit`` from ``offset`` in ``total``."""
    previous = None if offset == 0 else max(0, offset - limit)
    following = offset + limit if offset + limit < total else None
    return PageInfo(offset=offset, limit=limit, total=total, previous=previous, next=following)
