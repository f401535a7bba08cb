"""The delivery worker: retries every queued delivery with backoff until its receipt is
in; on a hub, fans messages to all out to every registered node.

Source: issue 11, item 4 (DESIGN.md principle 5: "delivery retries until a receipt
arrives; a duplicate is recognised and changes nothing"). It runs in the ``csbm serve``
process (a thread, :meth:`Worker.run`), and reads only the outbox, so a message queued
by ``csbm send`` in another process, or left over by a crash, is picked up on the next
poll: the outbox is durable, the worker holds nothing of its own. An idle worker costs
next to nothing: it sleeps until the earliest row falls due (a retry's backoff, the next
question to the hub), or until a message queued in its own process wakes it (the API and
the pages set :attr:`Worker.wake`), and at most ``poll`` seconds: the longest a row
written by another process (``csbm send``, a crash's leftovers) waits to be seen.

A node's worker, for each row that is due:

- to a peer State: a fresh delivery (new checkpoint, inclusion proof, consistency proof
  from the size the peer's receipts say it saw), POSTed to the peer's inbox; the receipt
  is verified and logged (``done``). A ``delivery.stale_view`` or ``stale_checkpoint``
  refusal names the size the peer last saw: the delivery is rebuilt from it at once.
- to the hub (a message to all): POSTed to the hub (``relayed``); then the hub is asked
  who has acknowledged -- one request for every message that waits -- and each receipt
  is verified and logged, until every node the hub relays to has acknowledged (``done``).

A hub's worker POSTs each stored delivery to its registered node and keeps the verified
receipt; on a stale view it fetches a fresh delivery from the sender's node.

The rows of one destination are attempted in order, several destinations at once
(:func:`in_parallel`). Every failed attempt is retried after ``base × 2^attempts``
(capped at ``cap``, ±20 % jitter) and recorded (``last_error``), and logged with structlog.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import structlog

from csbm.errors import CsbmError
from csbm.exchange.fanout import Broken, FanOutClient, Target, new_loop, target_of
from csbm.exchange.http import (
    INBOX,
    JSON,
    HttpClient,
    PeerRefusal,
    Unreachable,
    answer_of,
    document_bytes,
    receipt_of,
)
from csbm.exchange.wire import MAX_BATCH, delivery_from_json, delivery_to_json, sign_request
from csbm.hub import HUB, Hub
from csbm.ledger.keys import KeyDirectory, parse_stamp, stamp
from csbm.ledger.receipt import Delivery
from csbm.node import Node
from csbm.store.outbox import PENDING, OutboxRow, PeerRecord

log = structlog.get_logger("csbm.worker")
_T = TypeVar("_T")

DONE = "done"
RELAYED = "relayed"
REFUSED = "refused"
#: Refusals that name the size to prove from: rebuild the delivery and retry at once.
STALE = ("delivery.stale_view", "delivery.stale_checkpoint")
#: How often one attempt rebuilds a stale delivery before it waits for its next turn (the
#: peer's view may move on between the rebuild and the post when others deliver to it).
STALE_RETRIES = 3


@dataclass(frozen=True)
class Backoff:
    """Retry delays: ``base × 2^attempts``, at most ``cap``, ±``jitter``."""

    base: float = 0.25
    cap: float = 30.0
    jitter: float = 0.2

    def delay(self, attempts: int) -> timedelta:
        seconds = min(self.cap, self.base * (2 ** min(attempts, 30)))
        spread = 1 + self.jitter * (2 * random.random() - 1)
        return timedelta(seconds=max(0.0, seconds * spread))


def _stale_size(exc: PeerRefusal) -> int | None:
    if exc.code not in STALE or not exc.problems:
        return None
    value = exc.problems[0].value
    return value if isinstance(value, int) and not isinstance(value, bool) else None


#: At most this many destinations are served at once by one node's worker.
PARALLEL = 8
#: At most this many threads of the hub's worker wait at once on the database or on the
#: plain client (a node the lean client does not speak to): each may hold a connection
#: of the store's pool.
HUB_PARALLEL = 32
#: At most this many nodes are delivered to at once by the hub's worker: a fan-out to
#: every participating State waits mostly on the nodes (each verifies and fsyncs), so
#: the hub keeps them all in flight, each on a kept-alive connection of its one event
#: loop (no thread, no database connection held while it waits).
HUB_IN_FLIGHT = 64
#: At most this many relay rows are attempted in one step (oldest due first): about 18
#: messages to all waiting for 56 nodes, so that each node gets the ones waiting for it
#: in one request (a batch: see :meth:`HubFanOut._many`).
HUB_STEP_ROWS = 1024
#: While a step relays, the receipts in so far are committed at most this often
#: (seconds; the first one at once): a sender asking who has acknowledged sees them come
#: in, not all at the end of the step (a sender that sees none backs off); a few
#: commits per fan-out instead of one per node.
HUB_FLUSH_EVERY = 0.1


def in_parallel(
    rows: list[OutboxRow], attempt: Callable[[OutboxRow], None], workers: int = PARALLEL
) -> None:
    """``attempt`` each row: the rows of one destination one after the other, in outbox
    order (a node verifies one delivery against the view the one before left), several
    destinations at once (threads, at most :data:`PARALLEL`): a slow or dead node does not
    hold up the others, and a hub fans out to many nodes in the time of a few."""
    groups: dict[str, list[OutboxRow]] = {}
    for row in rows:
        groups.setdefault(row.destination, []).append(row)

    def run(group: list[OutboxRow]) -> None:
        for row in group:
            attempt(row)

    if len(groups) <= 1:
        for group in groups.values():
            run(group)
        return
    with ThreadPoolExecutor(min(workers, len(groups)), thread_name_prefix="csbm-out") as pool:
        for done in [pool.submit(run, g) for g in groups.values()]:
            done.result()


#: The shortest idle sleep (seconds): a row that should be due but was not found (clocks
#: a millisecond apart) is looked for again after this, not in a busy loop.
MIN_SLEEP = 0.005


class Worker:
    """The loop around a ``step(at) -> processed`` function (node or hub); ``next_due``
    (optional) says when the earliest row still to attempt falls due (a stamp, or None)."""

    def __init__(
        self,
        step: Callable[[datetime], int],
        clock: Callable[[], datetime],
        poll: float = 1.0,
        next_due: Callable[[], str | None] | None = None,
    ) -> None:
        self._step = step
        # ``csbm serve`` hands it the precise clock (``now``, to the millisecond: a row
        # due in 0.25 s, a retry or the next question to the hub, falls due then, not at
        # the next whole second); the tests their own
        self._clock = clock
        self._next_due = next_due
        self.poll = poll
        self.wake = threading.Event()
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Until :attr:`stop` is set: work off what is due, then sleep until the next
        row falls due, at most ``poll`` (or until :attr:`wake` is set)."""
        while not self.stop.is_set():
            # cleared before the step, not after the wait: a wake-up that comes while the
            # step runs (a message queued meanwhile) is kept, and the next wait returns at
            # once instead of sleeping a whole poll
            self.wake.clear()
            try:
                busy = self._step(self._clock())
            except Exception as exc:  # a broken database must not kill the thread
                log.error("worker.step_failed", error=f"{type(exc).__name__}: {exc}")
                busy = 0
            if not busy:
                self.wake.wait(self.idle())

    def idle(self) -> float:
        """How long to sleep when nothing is due: until the earliest row falls due, at
        least :data:`MIN_SLEEP`, at most ``poll`` (rows another process writes)."""
        if self._next_due is None:
            return self.poll
        try:
            due = self._next_due()
            if due is None:
                return self.poll
            seconds = (parse_stamp(due) - self._clock()).total_seconds()
        except Exception as exc:  # a broken database or row: poll as before
            log.error("worker.next_due_failed", error=f"{type(exc).__name__}: {exc}")
            return self.poll
        return min(self.poll, max(MIN_SLEEP, seconds))

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="csbm-delivery", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the attempt in flight (graceful shutdown: the outbox is durable)."""
        self.stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return
        closer = getattr(self._step, "close", None)
        if callable(closer):  # the hub's fan-out: its connections and event loop
            closer()


class NodeDelivery:
    """One step of a node's worker (see the module doc)."""

    def __init__(self, node: Node, client: HttpClient, backoff: Backoff = Backoff()) -> None:
        self.node = node
        self.client = client
        self.backoff = backoff

    def next_due(self) -> str | None:
        """When the node's earliest outbox row still to attempt falls due."""
        return self.node.outbox_next_due()

    def __call__(self, at: datetime) -> int:
        rows = self.node.outbox_due(at)
        waiting = [r for r in rows if r.destination == HUB and r.status == RELAYED]
        if waiting:
            try:
                self._collect(waiting, at)
            except CsbmError as exc:
                for row in waiting:
                    self._retry(row, exc, at)
        rest = [r for r in rows if not (r.destination == HUB and r.status == RELAYED)]
        to_hub = [r for r in rest if r.destination == HUB]
        if len(to_hub) > 1:  # several messages to all: handed to the hub in one request
            relayed = self._relay_many(to_hub[:MAX_BATCH], at)
            rest = [r for r in rest if r.id not in relayed]
        in_parallel(rest, lambda row: self._one(row, at))
        return len(rows)

    def _one(self, row: OutboxRow, at: datetime) -> None:
        try:
            if row.destination == HUB:
                self._relay(row.id, row.message_id, at)
            else:
                self._peer(row.id, row.message_id, row.destination, at)
        except CsbmError as exc:
            self._retry(row, exc, at)

    def _retry(self, row: OutboxRow, exc: CsbmError, at: datetime) -> None:
        reason = exc.lines()[0] if exc.lines() else exc.message
        log.warning(
            "delivery.retry", message_id=row.message_id, to=row.destination,
            attempts=row.attempts + 1, code=exc.code, reason=reason,
        )  # fmt: skip
        self.node.outbox_mark(
            row.id, attempted=True, error=f"{exc.code}: {reason}",
            next_attempt_at=stamp(at + self.backoff.delay(row.attempts)),
        )  # fmt: skip

    def _url(self, state: str) -> str:
        peer = self.node.peer(state)
        if peer is None:
            raise CsbmError(
                f"no URL for {state}: csbm peer add {state} URL --fingerprint FP",
                code="peer.unknown",
            )
        return peer.url

    def _peer(self, row_id: int, message_id: str, state: str, at: datetime) -> None:
        url = self._url(state)
        delivery = self.node.delivery_for(message_id, self.node.peer_seen_size(state), at)
        for rebuilt in range(STALE_RETRIES + 1):
            try:
                answer = self.client.post_delivery(url, delivery, at)
                break
            except PeerRefusal as exc:
                size = _stale_size(exc)
                if size is None or rebuilt == STALE_RETRIES:
                    raise
                log.info("delivery.stale_view", message_id=message_id, to=state, prove_from=size)
                delivery = self.node.delivery_for(message_id, size, at)
        # the receipt logged and the row done in one commit
        index = self.node.record_receipt(receipt_of(answer), done=(row_id, at))
        log.info("delivery.done", message_id=message_id, to=state, receipt_index=index)

    def _relay(self, row_id: int, message_id: str, at: datetime) -> None:
        """A message to all, to the hub (which answers 202 once it holds it)."""
        url = self._url(HUB)
        delivery = self.node.delivery_to_all(message_id, at)
        answer = self.client.post_delivery(url, delivery, at)
        log.info("delivery.relayed", message_id=message_id, to=answer.get("relayed_to"))
        self.node.outbox_mark(
            row_id, status=RELAYED, attempted=True,
            next_attempt_at=stamp(at + self.backoff.delay(0)),
        )  # fmt: skip

    def _relay_many(self, rows: list[OutboxRow], at: datetime) -> set[int]:
        """Several messages to all, to the hub in one request (``{"deliveries": [...]}``);
        the rows settled: those it accepted, from the first on, or -- no answer at all
        (the hub down, the connection dropped, too slow) -- every one, retried after its
        backoff. The others go one by one (:meth:`_relay`) -- also when the hub refuses
        the request or does not take batches."""
        try:
            url = self._url(HUB)
            deliveries = [self.node.delivery_to_all(r.message_id, at) for r in rows]
            answer = self.client.post_deliveries(url, deliveries, at)
        except Unreachable as exc:
            if not exc.connection:  # an answer that cannot be read: one by one
                log.info("delivery.one_by_one", to=HUB, messages=len(rows), code=exc.code)
                return set()
            # no answer at all (the hub down, the connection dropped, too slow): each
            # row retried after its backoff (one by one, each would wait the same again)
            for row in rows:
                self._retry(row, exc, at)
            return {row.id for row in rows}
        except CsbmError as exc:
            log.info("delivery.one_by_one", to=HUB, messages=len(rows), code=exc.code)
            return set()
        items = answer.get("accepted")
        relayed: set[int] = set()
        for row, item in zip(rows, items if isinstance(items, list) else [], strict=False):
            if not isinstance(item, dict) or item.get("message_id") != row.message_id:
                break
            log.info("delivery.relayed", message_id=row.message_id, to=item.get("relayed_to"))
            self.node.outbox_mark(
                row.id, status=RELAYED, attempted=True,
                next_attempt_at=stamp(at + self.backoff.delay(0)),
            )  # fmt: skip
            relayed.add(row.id)
        return relayed

    def _collect(self, rows: list[OutboxRow], at: datetime) -> None:
        """Ask the hub, in one request, who has acknowledged the messages to all that
        wait (``relayed``); log each new receipt; a message is ``done`` when every node
        the hub relays it to has acknowledged."""
        url = self._url(HUB)
        docs = self.client.hub_acknowledgements(url, [r.message_id for r in rows], at)
        # every new receipt of every message that waits, verified and logged in one
        # commit (not one per node)
        fresh: list[tuple[OutboxRow, str, bytes]] = []
        waiting: dict[int, int] = {}
        for row in rows:
            doc = docs.get(row.message_id)
            if doc is None:  # the hub lost it (a restored hub): relay it again
                self.node.outbox_mark(
                    row.id, status=PENDING, attempted=True, error="the hub does not hold it",
                    next_attempt_at=stamp(at),
                )  # fmt: skip
                continue
            waiting[row.id] = 0
            known = self.node.received_receipts(row.message_id)
            for item in doc.get("recipients") or []:
                if not isinstance(item, dict):
                    continue
                state, raw = item.get("state"), item.get("receipt")
                if not isinstance(raw, str):
                    waiting[row.id] += item.get("status") != REFUSED
                    continue
                if state in known:
                    continue
                try:
                    fresh.append((row, str(state), base64.b64decode(raw)))
                except ValueError:
                    log.warning("receipt.refused", message_id=row.message_id, by=state,
                                code="receipt.malformed")  # fmt: skip
        results = self.node.record_receipts([raw for _r, _s, raw in fresh])
        progress: dict[int, int] = {}
        for (row, state, _raw), result in zip(fresh, results, strict=True):
            if isinstance(result, CsbmError):  # e.g. a State whose key this node lacks
                log.warning(
                    "receipt.refused", message_id=row.message_id, by=state, code=result.code
                )
            else:
                progress[row.id] = progress.get(row.id, 0) + 1
        for row in rows:
            if row.id not in waiting:
                continue
            if waiting[row.id]:
                # while receipts come in, ask again soon; when none came, back off
                moved = progress.get(row.id, 0)
                self.node.outbox_mark(
                    row.id, attempted=not moved,
                    error=f"waiting for {waiting[row.id]} receipt(s) at the hub",
                    next_attempt_at=stamp(
                        at + self.backoff.delay(0 if moved else row.attempts)
                    ),
                )  # fmt: skip
            else:
                self.node.outbox_mark(row.id, status=DONE, attempted=True, done_at=stamp(at))
                log.info("delivery.done", message_id=row.message_id, to=HUB)


class HubFanOut:
    """One step of a hub's worker: relay each stored delivery to its node.

    The deliveries of a step go out from one event loop in the worker's thread
    (:mod:`csbm.exchange.fanout`): every node at once (at most ``parallel``), the rows
    of one node one after the other, as :func:`in_parallel` has them. The delivery's
    JSON body and the request's signature are made once for every node it goes to
    (they are the same bytes for each: the signature covers method, path, date and
    body, not the node). The receipts are committed as they come in, at most every
    ``flush_every`` seconds (in a thread: the deliveries go on), the last ones when the
    step ends. ``lean=False`` (or a base URL the lean client does not speak
    to, or an :class:`HttpClient` given its own httpx client) sends each POST with
    :meth:`HttpClient.post_delivery` in a thread instead: the plain path, the same
    requests and outcomes."""

    def __init__(
        self,
        hub: Hub,
        client: HttpClient,
        backoff: Backoff = Backoff(),
        parallel: int = HUB_IN_FLIGHT,
        *,
        lean: bool = True,
        threads: int = HUB_PARALLEL,
        flush_every: float = HUB_FLUSH_EVERY,
        batch: bool = True,
    ) -> None:
        self.hub = hub
        self.batch = batch
        self.client = client
        self.backoff = backoff
        self.parallel = parallel
        self.threads = threads
        self.flush_every = flush_every
        self.lean = lean and client.default_client
        self._peers: dict[str, PeerRecord] = {}
        self._deliveries: dict[str | None, Delivery] = {}
        self._bodies: dict[int, tuple[Delivery, bytes]] = {}
        self._signed: dict[tuple[str, bytes], bytes] = {}
        self._targets: dict[str, Target | None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fast: FanOutClient | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._flushed = 0
        self._flushing: asyncio.Future[None] | None = None
        self._last_flush = 0.0

    def next_due(self) -> str | None:
        """When the hub's earliest relay still to attempt falls due."""
        return self.hub.next_due()

    def __call__(self, at: datetime) -> int:
        rows = self.hub.due(at, HUB_STEP_ROWS)
        if not rows:
            return 0
        directory = self.hub.directory_of_keys()
        # read once per step, not once per node: the directory of nodes, and each
        # stored delivery (the same one for every node a message goes to)
        self._peers = {p.state: p for p in self.hub.peers()}
        self._deliveries = {}
        self._bodies = {}
        self._signed = {}
        done: list[tuple[int, bytes, str]] = []
        self._flushed = 0
        self._flushing = None
        self._last_flush = -self.flush_every  # the first receipt is committed at once
        try:
            self._run(self._fan(rows, at, directory, done))
        finally:
            self.hub.mark_done(done[self._flushed :])
        # one line per message and step, not one per node
        by_id = {row.id: row for row in rows}
        relayed: dict[str, list[str]] = {}
        for row_id, _raw, _at in done:
            relayed.setdefault(by_id[row_id].message_id, []).append(by_id[row_id].destination)
        for message_id, states in relayed.items():
            log.info("relay.done", message_id=message_id, to=states)
        return len(rows)

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        if self._loop is None or self._loop.is_closed():
            self._loop = new_loop()
            self._fast = FanOutClient(self.client.timeout)
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="csbm-out")
            self._loop.set_default_executor(self._pool)
        self._loop.run_until_complete(work)

    def close(self) -> None:
        """Close the kept-alive connections and the event loop (after the last step).
        Called from a thread that runs an event loop of its own (``csbm serve``'s
        lifespan, on shutdown), where no other loop can run, it does so in a thread of
        its own."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._close()
            return
        closer = threading.Thread(target=self._close, name="csbm-fanout-close")
        closer.start()
        closer.join()

    def _close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or loop.is_running() or loop.is_closed():
            return
        if self._fast is not None:
            self._fast.close()
        loop.run_until_complete(asyncio.sleep(0))  # the transports' closing callbacks
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    async def _fan(
        self,
        rows: list[OutboxRow],
        at: datetime,
        directory: KeyDirectory,
        done: list[tuple[int, bytes, str]],
    ) -> None:
        """Each row attempted: one node's rows in order, up to ``parallel`` nodes at
        once; an error other than a refusal or a failed delivery is raised once every
        row has been attempted (as :func:`in_parallel` does)."""
        await asyncio.sleep(0)  # the kept-alive connections the nodes closed are seen
        groups: dict[str, list[OutboxRow]] = {}
        for row in rows:
            groups.setdefault(row.destination, []).append(row)
        slots = asyncio.Semaphore(max(1, self.parallel))
        done_at = stamp(at)

        async def run(group: list[OutboxRow]) -> None:
            async with slots:
                rest = group
                while self.batch and len(rest) > 1:
                    taken = rest[:MAX_BATCH]
                    settled = await self._many(taken, at, directory, done, done_at)
                    rest = rest[settled:]
                    if settled < len(taken):
                        break
                for row in rest:
                    await self._one(row, at, directory, done, done_at)

        outcomes = await asyncio.gather(*(run(g) for g in groups.values()),
                                        return_exceptions=True)  # fmt: skip
        if self._flushing is not None:  # the rest is committed by the caller
            (flushed,) = await asyncio.gather(self._flushing, return_exceptions=True)
            outcomes.append(flushed)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def _flush(self, done: list[tuple[int, bytes, str]]) -> None:
        """Commit the receipts in so far, in a thread, when the last commit is
        ``flush_every`` old and none is under way."""
        if self._flushing is not None and not self._flushing.done():
            return
        if time.monotonic() - self._last_flush < self.flush_every:
            return
        if self._flushing is not None and self._flushing.exception() is not None:
            return  # a failed commit: the step ends with its error
        batch = done[self._flushed :]
        self._flushed = len(done)
        self._last_flush = time.monotonic()
        loop = asyncio.get_running_loop()
        self._flushing = loop.run_in_executor(None, self.hub.mark_done, batch)

    async def _blocking(self, call: Callable[[], _T]) -> _T:
        """A call that waits on the database or the plain client, in a thread: the
        other nodes' deliveries go on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(None, call)

    async def _one(
        self,
        row: OutboxRow,
        at: datetime,
        directory: KeyDirectory,
        done: list[tuple[int, bytes, str]],
        done_at: str,
    ) -> None:
        try:
            raw = await self._relay(row.id, row.message_id, row.destination, row.sender,
                                    row.payload, at)  # fmt: skip
            if raw is not None:
                self.hub.check_receipt_for(row.id, row.destination, row.message_id, raw,
                                           directory)  # fmt: skip
                done.append((row.id, raw, done_at))
                self._flush(done)
        except CsbmError as exc:
            await self._retry(row, exc, at)

    async def _retry(self, row: OutboxRow, exc: CsbmError, at: datetime) -> None:
        """The row attempted in vain: the reason kept and logged, the next attempt after
        the backoff."""
        reason = exc.lines()[0] if exc.lines() else exc.message
        log.warning(
            "relay.retry", message_id=row.message_id, to=row.destination,
            attempts=row.attempts + 1, code=exc.code, reason=reason,
        )  # fmt: skip
        await self._blocking(partial(
            self.hub.mark, row.id, attempted=True, error=f"{exc.code}: {reason}",
            next_attempt_at=stamp(at + self.backoff.delay(row.attempts)),
        ))  # fmt: skip

    async def _many(
        self,
        rows: list[OutboxRow],
        at: datetime,
        directory: KeyDirectory,
        done: list[tuple[int, bytes, str]],
        done_at: str,
    ) -> int:
        """POST several rows of one node in one request (``{"deliveries": [...]}``,
        received in order in one commit); how many of them, from the first, are settled:
        acknowledged with a verified receipt, or -- no answer at all (the node down, the
        connection dropped, too slow) -- every one retried after its backoff. The others
        go one by one (:meth:`_one`: refusals, stale views and retries as for one
        delivery alone) -- also when the node refuses the request or does not take
        batches."""
        peer = self._peers.get(rows[0].destination)
        if peer is None:
            return 0
        try:
            deliveries = [self._delivery_of(row.payload) for row in rows]
        except (CsbmError, ValueError):  # a stored delivery unreadable: one by one
            return 0
        try:
            answer = await self._post_many(peer.url, deliveries, at)
        except Unreachable as exc:
            if not exc.connection:  # an answer that cannot be read: one by one
                log.info("relay.one_by_one", to=peer.state, messages=len(rows), code=exc.code)
                return 0
            # no answer at all (the node down, the connection dropped, too slow): each
            # row retried after its backoff (one by one, each would wait the same again)
            for row in rows:
                await self._retry(row, exc, at)
            return len(rows)
        except CsbmError as exc:
            log.info("relay.one_by_one", to=peer.state, messages=len(rows), code=exc.code)
            return 0
        receipts = answer.get("receipts")
        accepted = 0
        for row, item in zip(rows, receipts if isinstance(receipts, list) else [],
                             strict=False):  # fmt: skip
            value = item.get("receipt") if isinstance(item, dict) else None
            try:
                raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
                self.hub.check_receipt_for(row.id, row.destination, row.message_id, raw,
                                           directory)  # fmt: skip
            except (CsbmError, ValueError):
                break
            done.append((row.id, raw, done_at))
            accepted += 1
        if accepted:
            self._flush(done)
        return accepted

    async def _post_many(
        self, base_url: str, deliveries: list[Delivery], at: datetime
    ) -> dict[str, Any]:
        """:meth:`HttpClient.post_deliveries`, through the lean client where it can (the
        body made of the deliveries' own bodies, each made once)."""
        target = self._target(base_url)
        if target is None:
            return await self._blocking(
                partial(self.client.post_deliveries, base_url, deliveries, at)
            )
        body = b'{"deliveries": [' + b", ".join(self._body(d) for d in deliveries) + b"]}"
        return await self._post_body(base_url, target, body, at)

    async def _relay(
        self,
        row_id: int,
        message_id: str,
        state: str,
        sender: str,
        payload: str | None,
        at: datetime,
    ) -> bytes | None:
        """POST the stored delivery to the node (rebuilt from the sender's node when
        stale); the node's receipt, verified and recorded by the caller."""
        peer = self._peers.get(state)
        if peer is None:
            await self._blocking(partial(
                self.hub.mark, row_id, status=REFUSED, error="the node is no longer registered"
            ))  # fmt: skip
            return None
        delivery = self._delivery_of(payload)
        for rebuilt in range(STALE_RETRIES + 1):
            try:
                answer = await self._post(peer.url, delivery, at)
                break
            except PeerRefusal as exc:
                size = _stale_size(exc)
                origin = self._peers.get(sender)
                if size is None or origin is None or rebuilt == STALE_RETRIES:
                    raise
                delivery = await self._blocking(
                    partial(self.client.fetch_delivery, origin.url, message_id, size, at)
                )
                fresh = json.dumps(delivery_to_json(delivery))
                await self._blocking(partial(self.hub.mark, row_id, payload=fresh))
        return receipt_of(answer)

    async def _post(self, base_url: str, delivery: Delivery, at: datetime) -> dict[str, Any]:
        """:meth:`HttpClient.post_delivery`, through the lean client where it can."""
        target = self._target(base_url)
        if target is None:
            return await self._blocking(
                partial(self.client.post_delivery, base_url, delivery, at)
            )
        return await self._post_body(base_url, target, self._body(delivery), at)

    async def _post_body(
        self, base_url: str, target: Target, body: bytes, at: datetime
    ) -> dict[str, Any]:
        """POST ``body`` to the node's inbox through the lean client; its answer, read as
        :meth:`HttpClient.post_delivery` reads it."""
        assert self._fast is not None
        path = target.prefix + INBOX
        head = self._head(path, body, at)
        try:
            status, content = await self._fast.post(target, path, head, body)
        except Broken as exc:
            raise Unreachable(base_url, exc.name, connection=True) from None
        return answer_of(base_url, status, content, target.url(INBOX))

    def _target(self, base_url: str) -> Target | None:
        if not self.lean:
            return None
        if base_url not in self._targets:
            self._targets[base_url] = target_of(base_url)
        return self._targets[base_url]

    def _delivery_of(self, payload: str | None) -> Delivery:
        """A stored delivery, read once for every node it goes to."""
        delivery = self._deliveries.get(payload)
        if delivery is None:
            delivery = delivery_from_json(json.loads(payload or "{}"))
            self._deliveries[payload] = delivery
        return delivery

    def _body(self, delivery: Delivery) -> bytes:
        """The delivery's JSON body, made once for every node it goes to."""
        known = self._bodies.get(id(delivery))
        if known is None:
            known = (delivery, document_bytes(delivery_to_json(delivery)))
            self._bodies[id(delivery)] = known  # the delivery kept: its id stays its own
        return known[1]

    def _head(self, path: str, body: bytes, at: datetime) -> bytes:
        """The header lines of a delivery's POST, signed once for every node it goes
        to (the signature covers method, path, date and body: the same for each)."""
        key = (path, body)
        head = self._signed.get(key)
        if head is None:
            headers = sign_request(self.client.key, self.client.signer, "POST", path, body, at)
            headers["content-type"] = JSON
            headers["content-length"] = str(len(body))
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
            self._signed[key] = head
        return head
