"""What the pages derive from one projection of the log, made once per projection.

Source: issue 12, item 6 (every page under 200 ms at p95 with 100,000 messages in the
log) and DESIGN.md principle 1 (every screen a projection of the log). A replay of the
log (:class:`csbm.services.replay.Replayed`) is immutable, and the web keeps one while
the log keeps its size (:mod:`csbm.web.replays`); what a page derives from it -- the
activities of the map, the calendar of a year, the cases in their order, the pending
deadlines -- is then the same for every request, so it is made once, kept beside that
replay, and dropped with it. A replay made per request (a small log) keeps nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["MAX_KEYS", "derived"]

T = TypeVar("T")

#: At most this many things are kept per projection (the keys come from request
#: parameters -- a year, a State -- so they are bounded).
MAX_KEYS = 4096

_boxes: dict[int, tuple[threading.RLock, dict[Hashable, Any]]] = {}
_guard = threading.Lock()


def _box(owner: object) -> tuple[threading.RLock, dict[Hashable, Any]]:
    key = id(owner)
    found = _boxes.get(key)
    if found is None:
        with _guard:
            found = _boxes.get(key)
            if found is None:
                found = (threading.RLock(), {})
                _boxes[key] = found
                weakref.finalize(owner, _boxes.pop, key, None)
    return found


def derived(owner: object, key: Hashable, make: Callable[[], T]) -> T:
    """``make()`` once per ``owner`` (a projection) and ``key``: later calls return what
    the first made, while ``owner`` lives. Concurrent callers of one key wait for the one
    making it (no stampede)."""
    lock, box = _box(owner)
    if key in box:
        return box[key]  # type: ignore[no-any-return]
    with lock:
        if key in box:
            return box[key]  # type: ignore[no-any-return]
        value = make()
        if len(box) < MAX_KEYS:
            box[key] = value
        return value
