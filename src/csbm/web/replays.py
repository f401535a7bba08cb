"""The projection of a node's log (its replay), kept between requests and refreshed in the
background as the log grows.

Source: issue 12, item 6 (every page under 200 ms at p95 with 100,000 messages in the
log); DESIGN.md principle 1 (every screen a projection of the log). Replaying 100,000
messages takes seconds, so a page cannot replay per request. The pages and their JSON
twins ask :func:`projection`, which:

- serves the kept projection while the log keeps its size and the clock has moved less
  than its time to live (``TTL``, or twenty times what the replay cost when that is
  longer: a refresh takes at most a twentieth of a core);
- when the log has grown or the clock has moved on, serves the last *complete*
  projection at once and replays afresh in one background thread; the page says which
  log size its projection is of ("as of log size N"), and the next request after the
  refresh sees the new one;
- replays in the request only when nothing is kept, the clock moved back by more than
  the TTL, or the replay is quick (under ``SLOW``: a small log is replayed per request,
  exactly at its clock, and nothing is kept);
- parses each log entry once: the events of the entries already read are kept, and a
  refresh reads only the entries logged since (:func:`csbm.projection.project_entries`);
  the procedures then run over all the events (their cost is the smaller part);
- lets one replay run at a time (no stampede): the others are served the kept one, or
  wait for the first.

:func:`warm` starts the first replay when the server starts (``csbm serve``), and makes
what the pages derive from it (:mod:`csbm.services.memo`) before it is served.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from csbm.node import Node
from csbm.procedures.base import Event
from csbm.services.documents import RefusedEntry
from csbm.services.replay import Replayed

__all__ = ["SLOW", "TTL", "Projection", "ReplayCache", "projection", "replayed", "warm"]

log = structlog.get_logger("csbm.web")

#: How long a kept projection serves without a refresh (at least).
TTL = timedelta(seconds=30)
#: A replay quicker than this is not kept (seconds).
SLOW = 0.05
#: A kept projection serves for at least this many times what it cost to make.
COST_FACTOR = 20
#: Entries read per query while catching up with the log.
CHUNK = 5000


@dataclass(frozen=True)
class Projection:
    """A replay of the first ``size`` entries of the log (at least) at the clock ``at``,
    made in ``seconds``."""

    size: int
    at: datetime
    value: Replayed
    seconds: float


class ReplayCache:
    """One node's kept projection (one per app: an app serves one node)."""

    def __init__(
        self, ttl: timedelta = TTL, slow: float = SLOW, cost_factor: float = COST_FACTOR
    ) -> None:
        self.ttl = ttl
        self.slow = slow
        self.cost_factor = cost_factor
        self._kept: Projection | None = None
        self._parsed = 0
        self._events: list[Event] = []
        self._refused: list[RefusedEntry] = []
        self._lock = threading.Lock()  # one replay at a time
        self._starting = threading.Lock()  # one background thread at a time
        self._worker: threading.Thread | None = None
        self._closed = False
        self.replays = 0
        self.background = 0

    @property
    def kept(self) -> Projection | None:
        """The projection kept (None before the first slow replay)."""
        return self._kept

    def live(self, kept: Projection) -> timedelta:
        """How long ``kept`` serves without a refresh."""
        return max(self.ttl, timedelta(seconds=kept.seconds * self.cost_factor))

    def _fresh(self, kept: Projection | None, size: int, at: datetime) -> bool:
        return (
            kept is not None and kept.size == size and -self.ttl < at - kept.at < self.live(kept)
        )

    def get(self, node: Node, at: datetime) -> Projection:
        """The projection to serve at ``at`` (see the module doc)."""
        size = node.size()
        kept = self._kept
        if kept is not None and self._fresh(kept, size, at):
            return kept
        if kept is not None and at - kept.at > -self.ttl:
            self.refresh(node, at)
            return kept
        with self._lock:
            kept = self._kept  # made by another request meanwhile
            if kept is not None and self._fresh(kept, size, at):
                return kept
            return self._make(node, at)

    def _catch_up(self, node: Node, size: int) -> None:
        """Parse the entries logged since the last replay (under the lock)."""
        from csbm.projection import project_entries

        while self._parsed < size:
            end = min(self._parsed + CHUNK, size)
            part = project_entries(node.entries_between(self._parsed, end))
            self._events.extend(part.events)
            self._refused.extend(
                RefusedEntry.model_validate(r.as_dict()) for r in part.refused
            )
            self._parsed = end

    def _make(self, node: Node, at: datetime, prepare: Callable[[Replayed], Any] | None = None
              ) -> Projection:  # fmt: skip
        """Replay the log at ``at`` (under the lock); keep it when it was slow to make."""
        from csbm.procedures.runner import replay
        from csbm.projection import node_context

        started = time.perf_counter()
        size = node.size()
        self._catch_up(node, size)
        value = Replayed(replay(list(self._events), node_context(), at), None,
                         tuple(self._refused))  # fmt: skip
        self.replays += 1
        made = Projection(size, at, value, time.perf_counter() - started)
        if made.seconds >= self.slow:
            if prepare is not None:
                prepare(value)
            self._kept = made
        else:
            self._kept = None
        return made

    def refresh(self, node: Node, at: datetime) -> threading.Thread | None:
        """Replay at ``at`` in the background unless a replay runs already; the kept
        projection serves meanwhile. Returns the thread started (None when one runs)."""
        with self._starting:
            worker = self._worker
            if self._closed or (worker is not None and worker.is_alive()):
                return None

            def run() -> None:
                try:
                    with self._lock:
                        if not self._closed:
                            self._make(node, at, prepare)
                            self.background += 1
                except Exception as exc:  # the last complete projection keeps serving
                    log.warning("replay_failed", error=f"{type(exc).__name__}: {exc}"[:300])

            thread = threading.Thread(target=run, name="csbm-web-replay", daemon=True)
            self._worker = thread
            thread.start()
            return thread

    def close(self, timeout: float = 60.0) -> None:
        """No more refreshes; wait for the one running (the node closes after)."""
        self._closed = True
        worker = self._worker
        if worker is not None:
            worker.join(timeout)


def prepare(value: Replayed) -> None:
    """Make what the pages derive from a projection before it is served: the pending
    deadlines of *Today*, the activities of the map and calendar, the cases of
    *Procedures* in their order (:mod:`csbm.services.memo`)."""
    from datetime import UTC

    from csbm.projection import node_context
    from csbm.services.cases import procedures
    from csbm.services.map import activities, border_zones
    from csbm.services.today import urgencies

    packs = node_context().packs
    urgencies(value, value.result.at)
    activities(value, packs)
    border_zones(packs)  # each band computed once per process
    procedures(value, UTC)


def cache_of(state: Any) -> ReplayCache:
    """The cache of the app whose ``state`` it is (made on first use)."""
    cache = getattr(state, "web_replays", None)
    if not isinstance(cache, ReplayCache):
        cache = ReplayCache()
        state.web_replays = cache
    return cache


def projection(state: Any, node: Node, at: datetime) -> Projection:
    """The projection of ``node`` to serve at ``at`` through the cache of the app whose
    ``state`` it is."""
    return cache_of(state).get(node, at)


def replayed(state: Any, node: Node, at: datetime) -> Replayed:
    """The replay of :func:`projection`."""
    return projection(state, node, at).value


def warm(state: Any, node: Node, at: datetime) -> threading.Thread | None:
    """Start the first replay of ``node`` in the background (``csbm serve`` at start-up):
    the first page finds it made, or waits for it rather than replaying again."""
    cache = cache_of(state)
    if cache.kept is not None:
        return None
    return cache.refresh(node, at)
