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

import base64
import json
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from csbm.errors import CsbmError
from csbm.exchange.http import HttpClient, PeerRefusal, receipt_of
from csbm.exchange.wire import delivery_from_json, delivery_to_json
from csbm.hub import HUB, Hub
from csbm.ledger.keys import KeyDirectory, parse_stamp, stamp
from csbm.ledger.receipt import Delivery
from csbm.node import Node
from csbm.store.outbox import PENDING, OutboxRow, PeerRecord

log = structlog.get_logger("csbm.worker")

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
#: At most this many nodes are delivered to at once by the hub's worker: a fan-out to
#: every participating State waits mostly on the nodes (each verifies and fsyncs), so
#: the hub keeps many in flight, each on a kept-alive connection.
HUB_PARALLEL = 32


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
    """One step of a hub's worker: relay each stored delivery to its node."""

    def __init__(
        self,
        hub: Hub,
        client: HttpClient,
        backoff: Backoff = Backoff(),
        parallel: int = HUB_PARALLEL,
    ) -> None:
        self.hub = hub
        self.client = client
        self.backoff = backoff
        self.parallel = parallel
        self._peers: dict[str, PeerRecord] = {}
        self._deliveries: dict[str | None, Delivery] = {}

    def next_due(self) -> str | None:
        """When the hub's earliest relay still to attempt falls due."""
        return self.hub.next_due()

    def __call__(self, at: datetime) -> int:
        rows = self.hub.due(at)
        if not rows:
            return 0
        directory = self.hub.directory_of_keys()
        # read once per step, not once per node: the directory of nodes, and each
        # stored delivery (the same one for every node a message goes to)
        self._peers = {p.state: p for p in self.hub.peers()}
        self._deliveries = {}
        done: list[tuple[int, bytes, str]] = []
        try:
            in_parallel(rows, lambda row: self._one(row, at, directory, done), self.parallel)
        finally:
            self.hub.mark_done(done)
        by_id = {row.id: row for row in rows}
        for row_id, _raw, _at in done:
            log.info("relay.done", message_id=by_id[row_id].message_id,
                     to=by_id[row_id].destination)  # fmt: skip
        return len(rows)

    def _one(
        self,
        row: OutboxRow,
        at: datetime,
        directory: KeyDirectory,
        done: list[tuple[int, bytes, str]],
    ) -> None:
        try:
            raw = self._relay(row.id, row.message_id, row.destination, row.sender, row.payload,
                              at)  # fmt: skip
            if raw is not None:
                self.hub.check_receipt_for(row.id, row.destination, row.message_id, raw,
                                           directory)  # fmt: skip
                done.append((row.id, raw, stamp(at)))
        except CsbmError as exc:
            reason = exc.lines()[0] if exc.lines() else exc.message
            log.warning(
                "relay.retry", message_id=row.message_id, to=row.destination,
                attempts=row.attempts + 1, code=exc.code, reason=reason,
            )  # fmt: skip
            self.hub.mark(
                row.id, attempted=True, error=f"{exc.code}: {reason}",
                next_attempt_at=stamp(at + self.backoff.delay(row.attempts)),
            )  # fmt: skip

    def _relay(
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
            self.hub.mark(row_id, status=REFUSED, error="the node is no longer registered")
            return None
        delivery = self._deliveries.get(payload)
        if delivery is None:
            delivery = delivery_from_json(json.loads(payload or "{}"))
            self._deliveries[payload] = delivery
        for rebuilt in range(STALE_RETRIES + 1):
            try:
                answer = self.client.post_delivery(peer.url, delivery, at)
                break
            except PeerRefusal as exc:
                size = _stale_size(exc)
                origin = self._peers.get(sender)
                if size is None or origin is None or rebuilt == STALE_RETRIES:
                    raise
                delivery = self.client.fetch_delivery(origin.url, message_id, size, at)
                self.hub.mark(row_id, payload=json.dumps(delivery_to_json(delivery)))
        return receipt_of(answer)
