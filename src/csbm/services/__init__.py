"""The use cases of csbm as functions over a node and a clock, with typed results.

Source: DESIGN.md, layout (``services/``: the CLI, the API and the web pages all call them
and nothing else) and issue 9, item 3. Each function takes what it needs — an open
:class:`csbm.node.Node`, a file, the clock — and returns a pydantic document whose
``to_json()`` is the one JSON form of the result. Services never import :mod:`csbm.cli`;
the shells never reach into a node's store.
"""

from typing import Any

from csbm.services.clock import clock_or_now, parse_clock, wall_clock
from csbm.services.deadlines import DeadlinesDocument, PendingDeadline, deadlines, pending
from csbm.services.documents import Document, Owed, RefusedEntry
from csbm.services.replay import (
    ReplayDocument,
    Replayed,
    replay_node,
    replay_scenario,
    replay_source,
)

__all__ = [
    "DeadlinesDocument",
    "Document",
    "Owed",
    "PendingDeadline",
    "RefusedEntry",
    "ReplayDocument",
    "Replayed",
    "clock_or_now",
    "deadline_uid",
    "deadlines",
    "ical",
    "parse_clock",
    "pending",
    "replay_node",
    "replay_scenario",
    "replay_source",
    "wall_clock",
]


def __getattr__(name: str) -> Any:
    """The iCalendar export (icalendar takes ~0.1 s to import), loaded when first asked for:
    ``csbm replay`` and ``csbm assess`` never need it. (``calendar`` of the export is
    ``csbm.services.export.calendar``: ``csbm.services.calendar`` is the calendar page's
    module.)"""
    if name in ("deadline_uid", "ical"):
        from csbm.services import export

        return getattr(export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
