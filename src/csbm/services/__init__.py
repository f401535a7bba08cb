"""The use cases of csbm as functions over a node and a clock, with typed results.

Source: DESIGN.md, layout (``services/``: the CLI, the API and the web pages all call them
and nothing else) and issue 9, item 3. Each function takes what it needs — an open
:class:`csbm.node.Node`, a file, the clock — and returns a pydantic document whose
``to_json()`` is the one JSON form of the result. Services never import :mod:`csbm.cli`;
the shells never reach into a node's store.
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "clock_or_now": "clock",
    "parse_clock": "clock",
    "wall_clock": "clock",
    "DeadlinesDocument": "deadlines",
    "PendingDeadline": "deadlines",
    "pending": "deadlines",
    "Document": "documents",
    "Owed": "documents",
    "RefusedEntry": "documents",
    "ReplayDocument": "replay",
    "Replayed": "replay",
    "replay_node": "replay",
    "replay_scenario": "replay",
    "replay_source": "replay",
    "deadline_uid": "export",
    "ical": "export",
}
"""Each name of the package by the module that defines it, imported when first asked
for: ``csbm assess`` imports ``csbm.services.assess`` without the replay, the deadlines
and the iCalendar export (icalendar alone takes ~0.1 s to import). (``calendar`` of the
export is ``csbm.services.export.calendar``: ``csbm.services.calendar`` is the calendar
page's module; ``csbm.services.deadlines`` is the module of the deadlines use case,
whose function is ``csbm.services.deadlines.deadlines``.)"""

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"csbm.services.{module}"), name)
    globals()[name] = value
    return value
