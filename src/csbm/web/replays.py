"""The replay of a node's log, kept between requests while the log keeps its size.

Source: issue 12, item 6 (every page under 200 ms at p95 with 100,000 messages in the
log); DESIGN.md principle 1 (every screen a projection of the log). Replaying 100,000
messages takes seconds, so a page cannot replay per request. The pages and their JSON
twins ask :func:`replayed`, which:

- replays afresh when the log has grown (another size: a message sent or received) or the
  clock has moved by ``TTL`` or more, or moved back;
- keeps a replay only when it was slow to make (``SLOW`` or more): a small log is replayed
  per request, exactly at its clock, as before;
- lets one request replay while the others wait for it (no stampede of replays).

So a kept replay is at most ``TTL`` old: a deadline that falls due in the meantime shows
its status of up to ``TTL`` ago (the live countdowns in the page count on).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from csbm.node import Node
from csbm.services.replay import Replayed, replay_node

__all__ = ["SLOW", "TTL", "ReplayCache", "replayed"]

#: How long a kept replay serves.
TTL = timedelta(seconds=30)
#: A replay quicker than this is not kept (seconds).
SLOW = 0.05


@dataclass(frozen=True)
class _Kept:
    size: int
    at: datetime
    value: Replayed


class ReplayCache:
    """One node's kept replay (one per app: an app serves one node)."""

    def __init__(self, ttl: timedelta = TTL, slow: float = SLOW) -> None:
        self.ttl = ttl
        self.slow = slow
        self._kept: _Kept | None = None
        self._lock = threading.Lock()
        self.replays = 0

    def _fresh(self, size: int, at: datetime) -> Replayed | None:
        kept = self._kept
        if kept is not None and kept.size == size and timedelta(0) <= at - kept.at < self.ttl:
            return kept.value
        return None

    def get(self, node: Node, at: datetime) -> Replayed:
        size = node.size()
        found = self._fresh(size, at)
        if found is not None:
            return found
        with self._lock:
            found = self._fresh(size, at)  # made by another request meanwhile
            if found is not None:
                return found
            started = time.perf_counter()
            value = replay_node(node, at)
            self.replays += 1
            if time.perf_counter() - started >= self.slow:
                self._kept = _Kept(size, at, value)
            else:
                self._kept = None
            return value


def replayed(state: Any, node: Node, at: datetime) -> Replayed:
    """The replay of ``node`` at ``at`` through the cache of the app whose ``state`` it is
    (made on first use)."""
    cache = getattr(state, "web_replays", None)
    if not isinstance(cache, ReplayCache):
        cache = ReplayCache()
        state.web_replays = cache
    return cache.get(node, at)
