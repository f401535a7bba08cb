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

While nothing is kept (at start-up, or when the replay would be slow and nothing serves
meanwhile) the pages do not wait for it: :func:`projection` (through
:meth:`ReplayCache.serve`) replays in the background, waits a moment (``PATIENCE``) and
then raises :class:`NotReady` with the replay's :class:`Progress` (the entries read, the
events replayed: counted a chunk at a time), which a page shows as a notice that refreshes
itself and a JSON twin answers with 503 and ``Retry-After``. A replay that failed with
nothing kept raises :class:`ReplayFailed` for ``RETRY`` seconds (then it is tried again).
Only a log whose last replay was quick (under ``SLOW``) is still replayed in the request,
and a small one (``SMALL`` entries) is waited for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from csbm.node import Node
from csbm.procedures.base import Context, Event
from csbm.services.documents import RefusedEntry
from csbm.services.replay import Replayed

if TYPE_CHECKING:
    from csbm.procedures.runner import ReplayResult

__all__ = [
    "PATIENCE",
    "SLOW",
    "TTL",
    "NotReady",
    "Progress",
    "Projection",
    "ReplayCache",
    "ReplayFailed",
    "projection",
    "replayed",
    "warm",
]

log = structlog.get_logger("csbm.web")

#: How long a kept projection serves without a refresh (at least).
TTL = timedelta(seconds=30)
#: A replay quicker than this is not kept (seconds).
SLOW = 0.05
#: A kept projection serves for at least this many times what it cost to make.
COST_FACTOR = 20
#: Entries read per query while catching up with the log.
CHUNK = 5000
#: How long a request waits for a replay it cannot be served without (seconds) before
#: it answers "not ready" (a small log is replayed within it).
PATIENCE = 0.25
#: A log of at most this many entries is waited for even before its first replay is done
#: (its replay takes well under a second; at most ``SMALL_WAIT`` seconds).
SMALL = 1000
SMALL_WAIT = 60.0
#: How long a replay that failed with nothing kept is reported before the next request
#: tries again (seconds).
RETRY = 30.0

#: The stages of a replay, in their order (:class:`Progress`).
STAGES = ("start", "read", "replay", "prepare")


@dataclass(frozen=True)
class Progress:
    """How far the replay under way has got: at ``stage`` (one of :data:`STAGES`: the
    log's entries read, the events replayed, the pages' data prepared), ``done`` of
    ``total`` (entries or events; 0 of 0 for the stages that are not counted)."""

    stage: str
    done: int = 0
    total: int = 0

    @property
    def step(self) -> int:
        """The stage's number, 1 to 3 (``start`` counts as the first)."""
        return max(1, STAGES.index(self.stage))

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "step": self.step, "steps": len(STAGES) - 1,
                "done": self.done, "total": self.total}  # fmt: skip

    def line(self) -> str:
        """In English (the API's problem detail)."""
        if self.stage == "read":
            return f"reading the log: {self.done} of {self.total} messages"
        if self.stage == "replay":
            return f"replaying the procedures: {self.done} of {self.total} messages"
        if self.stage == "prepare":
            return "preparing the pages"
        return "starting"


class NotReady(Exception):
    """Nothing to serve yet: the first replay runs in the background (``progress``:
    how far it has got)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(f"building the view of the log: {progress.line()}")
        self.progress = progress


class ReplayFailed(Exception):
    """The replay failed with nothing kept to serve (``reason``; the log says more)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ReplayFn = Callable[[Sequence[Event], Context, datetime, Callable[[int], None]], "ReplayResult"]


def replay_counted(
    events: Sequence[Event], ctx: Context, at: datetime, counted: Callable[[int], None]
) -> ReplayResult:
    """:func:`csbm.procedures.runner.replay` of ``events`` at ``at``, telling ``counted``
    how many events are replayed as it goes."""
    from csbm.procedures.runner import replay

    return replay(events, ctx, at, counted)


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
        self, ttl: timedelta = TTL, slow: float = SLOW, cost_factor: float = COST_FACTOR,
        patience: float = PATIENCE, retry: float = RETRY, replay: ReplayFn = replay_counted,
        small: int = SMALL,
    ) -> None:  # fmt: skip
        self.ttl = ttl
        self.slow = slow
        self.cost_factor = cost_factor
        self.patience = patience
        self.retry = retry
        self.replay = replay
        self.small = small
        self._kept: Projection | None = None
        self._progress = Progress("start")
        self._last: tuple[int, float] | None = None  # log size and seconds of the last replay
        self._failure: tuple[str, float] | None = None  # reason, time.monotonic()
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

    @property
    def progress(self) -> Progress:
        """How far the replay under way has got (its last stage when none runs)."""
        return self._progress

    def running(self) -> bool:
        """Whether a background replay runs."""
        worker = self._worker
        return worker is not None and worker.is_alive()

    def _quick(self, size: int) -> bool:
        """Whether a replay of a log of ``size`` entries is expected under ``slow``: the
        last one was, and the log has not grown so much since that it would not be."""
        last = self._last
        if last is None:
            return False
        last_size, seconds = last
        return seconds * max(1.0, size / max(last_size, 1)) < self.slow

    def serve(self, node: Node, at: datetime, *, again: bool = True) -> Projection:
        """The projection to serve at ``at`` without waiting for a slow replay: the kept
        one (refreshed behind when due), or a quick replay in the request; otherwise a
        replay in the background, waited for ``patience`` seconds (a log of at most
        ``small`` entries: until it is done, at most ``SMALL_WAIT``). Raises
        :class:`NotReady` (with the progress) while it runs, :class:`ReplayFailed` when
        it failed (for ``retry`` seconds)."""
        kept = self._kept
        if kept is not None and at - kept.at > -self.ttl:
            return self.get(node, at)  # never waits
        running = self.running()
        size = node.size()
        if not running and self._quick(size):
            return self.get(node, at)  # a small log: replayed in the request
        failure = self._failure
        if not running and failure is not None:
            if time.monotonic() - failure[1] < self.retry:
                raise ReplayFailed(failure[0])
            self._failure = None
        started = self.refresh(node, at)
        worker = self._worker
        if worker is not None:
            # a small log is waited for; a large one a moment when this request started
            # its replay (a quick one is then served), not when it polls one under way
            worker.join(SMALL_WAIT if size <= self.small else
                        self.patience if started is not None else 0.0)  # fmt: skip
            if worker.is_alive():
                raise NotReady(self._progress)
        if again:  # done within the patience: served as any other request
            return self.serve(node, at, again=False)
        failure = self._failure
        if failure is not None:
            raise ReplayFailed(failure[0])
        raise NotReady(self._progress)

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

        self._progress = Progress("read", self._parsed, size)
        while self._parsed < size:
            end = min(self._parsed + CHUNK, size)
            part = project_entries(node.entries_between(self._parsed, end))
            self._events.extend(part.events)
            self._refused.extend(
                RefusedEntry.model_validate(r.as_dict()) for r in part.refused
            )
            self._parsed = end
            self._progress = Progress("read", end, size)

    def _make(self, node: Node, at: datetime, prepare: Callable[[Replayed], Any] | None = None
              ) -> Projection:  # fmt: skip
        """Replay the log at ``at`` (under the lock); keep it when it was slow to make.
        The progress is counted a chunk at a time (:attr:`progress`)."""
        from csbm.projection import node_context

        started = time.perf_counter()
        size = node.size()
        self._catch_up(node, size)
        events = list(self._events)
        total = len(events)
        self._progress = Progress("replay", 0, total)

        def counted(done: int) -> None:
            self._progress = Progress("replay", done, total)

        value = Replayed(self.replay(events, node_context(), at, counted), None,
                         tuple(self._refused))  # fmt: skip
        self.replays += 1
        made = Projection(size, at, value, time.perf_counter() - started)
        self._last = (size, made.seconds)
        if made.seconds >= self.slow:
            if prepare is not None:
                self._progress = Progress("prepare")
                prepare(value)
            self._kept = made
        else:
            self._kept = None
        self._failure = None
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
                    if self._kept is None:
                        self._progress = Progress("start")
                    with self._lock:
                        if not self._closed:
                            self._make(node, at, prepare)
                            self.background += 1
                except Exception as exc:  # the last complete projection keeps serving
                    reason = f"{type(exc).__name__}: {exc}"[:300]
                    self._failure = (reason, time.monotonic())
                    if self._kept is None:
                        log.error("replay_failed", error=reason, kept=False)
                    else:
                        log.warning("replay_failed", error=reason, kept=True)

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
    *Procedures* in their order (:mod:`csbm.services.memo`). The map's border zones are
    geography, made once per process at the first page (:func:`csbm.web.warm_up`)."""
    from datetime import UTC

    from csbm.projection import node_context
    from csbm.services.cases import procedures
    from csbm.services.map import activities
    from csbm.services.today import urgencies

    packs = node_context().packs
    urgencies(value, value.result.at)
    activities(value, packs)
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
    ``state`` it is (:meth:`ReplayCache.serve`: raises :class:`NotReady` while the first
    replay of a large log runs, :class:`ReplayFailed` when it failed)."""
    return cache_of(state).serve(node, at)


def replayed(state: Any, node: Node, at: datetime) -> Replayed:
    """The replay of :func:`projection`."""
    return projection(state, node, at).value


def warm(state: Any, node: Node, at: datetime) -> threading.Thread | None:
    """Start the first replay of ``node`` in the background (``csbm serve`` at start-up):
    the first page finds it made, or shows its progress until it is (a small log: waits
    for it), never replaying again."""
    cache = cache_of(state)
    if cache.kept is not None:
        return None
    return cache.refresh(node, at)
