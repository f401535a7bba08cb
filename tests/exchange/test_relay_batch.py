"""A node's worker hands the hub every message to all it has queued in one request
(``{"deliveries": [...]}``, :meth:`NodeDelivery._relay_many`): the rows the hub
accepted, each by its own item of the answer, are ``relayed``; the others go one by one
(:meth:`NodeDelivery._relay`) as before -- when the hub refuses the first, refuses one
after some, does not take batches or answers nonsense; when no answer comes at all (the
hub down, the connection dropped, too slow) every row is retried after its backoff.

A real hub and two real receiving nodes (and the sender's node, for the fresh
deliveries a hub fetches on a stale view) are served in-process by uvicorn on
127.0.0.1, each app wrapped to count the requests it serves; the sender's worker steps
are run by the test. The answers a real hub cannot give (a lie, garbage, 422) come from a
small fake hub on a socket."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from csbm.api.app import create_app
from csbm.api.config import Settings
from csbm.domain.time import now
from csbm.exchange.http import HttpClient, Unreachable
from csbm.exchange.wire import MAX_BATCH, delivery_from_json
from csbm.exchange.worker import Backoff, HubFanOut, NodeDelivery
from csbm.hub import HUB, Hub, init_hub
from csbm.ledger.keys import parse_stamp, stamp
from csbm.node import Node, init_node
from csbm.services.peers import add_peer, well_known
from csbm.store.outbox import PeerRecord
from tests.store.nodes import notification

RECEIVERS = ("BY", "PL")
INBOX = "/api/v1/inbox"
#: The sender's retries in these tests: no jitter, so the next attempt is exact.
BACKOFF = Backoff(base=0.05, cap=0.5, jitter=0.0)


def tick() -> datetime:
    """Now, to the millisecond (as the outbox stamps its instants)."""
    at = now()
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Exchange:
    """One request an app served: method, path, body, and its answer."""

    method: str
    path: str
    body: bytes
    status: int = 0
    answer: bytes = b""


class Counting:
    """An ASGI app in front of another: every HTTP request it serves, with its answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[Exchange] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(scope["method"], scope["path"], b"")
        with self._lock:
            self.seen.append(exchange)

        async def reading() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                exchange.body += message.get("body", b"")
            return message

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
            elif message["type"] == "http.response.body":
                exchange.answer += message.get("body", b"")
            await send(message)

        await self.app(scope, reading, sending)

    def posts(self, path: str = INBOX) -> list[Exchange]:
        with self._lock:
            return [e for e in self.seen if e.method == "POST" and e.path == path]


@dataclass
class Served:
    """One app served by uvicorn in a thread of this process."""

    data: Path
    port: int
    counting: Counting
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def serve(data: Path, port: int, *, worker: bool) -> Served:
    settings = Settings(data=data, port=port, retry_base=0.05, retry_cap=0.5, poll=0.05,
                        warm_map=False, worker=worker)  # fmt: skip
    counting = Counting(create_app(settings))
    config = uvicorn.Config(counting, host="127.0.0.1", port=port, lifespan="on",
                           log_level="warning", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"serve-{data.name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError(f"{data.name} did not start")
        time.sleep(0.02)
    return Served(data, port, counting, server, thread)


@dataclass
class Network:
    """The sender LT (its node open here, its worker run by the test), the hub and the
    receiving nodes (served)."""

    root: Path
    sender: Node
    worker: NodeDelivery
    hub: Served
    lt: Served
    receivers: dict[str, Served]

    def step(self, at: datetime | None = None) -> int:
        return self.worker(at or now())

    def hub_posts(self) -> list[Exchange]:
        return self.hub.counting.posts()


def _fetcher(doc: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    return lambda _url: doc


def _join(root: Path, hub_worker: bool) -> Iterator[Network]:
    start = now() - timedelta(minutes=20)
    made_hub = init_hub(start, root / "hub")
    made = {code: init_node(code, start, data=root / code) for code in ("LT", *RECEIVERS)}
    ports = {name: free_port() for name in ("hub", "LT", *RECEIVERS)}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    pinned = now() - timedelta(minutes=5)
    hub_doc = well_known(made_hub)
    for code, node in made.items():
        add_peer(node, HUB, url[HUB], made_hub.key.fingerprint, pinned, _fetcher(hub_doc))
        for other, peer in made.items():
            if other != code:
                add_peer(node, other, url[other], peer.key.fingerprint, pinned,
                         _fetcher(well_known(peer)))  # fmt: skip
        add_peer(made_hub, code, url[code], node.key.fingerprint, pinned,
                 _fetcher(well_known(node)))  # fmt: skip
    made_hub.close()
    for node in made.values():
        node.close()
    served: list[Served] = []
    sender = Node.open(root / "LT")
    client = HttpClient(sender.key, sender.state)
    try:
        hub = serve(root / "hub", ports[HUB], worker=hub_worker)
        served.append(hub)
        lt = serve(root / "LT", ports["LT"], worker=False)
        served.append(lt)
        receivers = {}
        for code in RECEIVERS:
            receivers[code] = serve(root / code, ports[code], worker=False)
            served.append(receivers[code])
        yield Network(root, sender, NodeDelivery(sender, client, BACKOFF), hub, lt, receivers)
    finally:
        for one in served:
            one.stop()
        client.close()
        sender.close()


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    """The hub's own worker fans out (as ``csbm serve`` runs it)."""
    yield from _join(tmp_path, hub_worker=True)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Network]:
    """The hub's worker does not run: the test steps its fan-out (:func:`fan_out`)."""
    yield from _join(tmp_path, hub_worker=False)


def queue(
    sender: Node,
    count: int,
    *,
    ahead: frozenset[int] = frozenset(),
    behind: frozenset[int] = frozenset(),
) -> list[str]:
    """``count`` messages to all queued for the hub, all due at once, in this order; their
    ids. Those in ``ahead`` are signed an hour ahead of the clock (the hub refuses the
    request that carries one as ``delivery.clock_skew``, before it accepts any), those in
    ``behind`` ten minutes ago, before the hub pinned the sender's key (``Hub.accept``
    refuses them, after it accepted those before)."""
    ids = []
    for i in range(count):
        at = now() + (timedelta(hours=1) if i in ahead else timedelta())
        at -= timedelta(minutes=10) if i in behind else timedelta()
        ids.append(sender.queue_message(notification(i), ["all"], [HUB], at).message_id)
    due = stamp(now())
    for row in sender.outbox_rows_of(ids):
        sender.outbox_mark(row.id, next_attempt_at=due)
    assert [r.message_id for r in sender.outbox_due(now()) if r.status == "pending"] == ids
    return ids


def message_ids(body: bytes) -> list[str]:
    """The messages a POST to an inbox carried, in order (a batch's, or the one)."""
    doc = json.loads(body)
    items = doc.get("deliveries", [doc])
    return [str(json.loads(delivery_from_json(d).envelope)["message_id"]) for d in items]


def is_batch(body: bytes) -> bool:
    return "deliveries" in json.loads(body)


def rows_of(sender: Node, ids: list[str]) -> dict[str, Any]:
    rows = {r.message_id: r for r in sender.outbox_rows_of(ids)}
    assert sorted(rows) == sorted(ids)  # one row each, to the hub
    assert {r.destination for r in rows.values()} == {HUB}
    return rows


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out: {what}")


def inbox_order(data: Path, sender: str = "LT") -> list[str]:
    """The messages of ``sender`` a node logged, in the order of its log."""
    with Node.open(data) as node:
        return [e.message_id for e in node.entries() if e.sender == sender
                and e.kind == "test.exercise"]  # fmt: skip


def hub_rows(root: Path, ids: list[str]) -> dict[tuple[str, str], Any]:
    with Hub.open(root / "hub") as hub:
        return {(r.message_id, r.destination): r for r in hub.relay_rows_of(ids)}


def run_until_done(net: Network, ids: list[str], timeout: float = 40.0) -> None:
    def done() -> bool:
        net.step()
        return {r.status for r in rows_of(net.sender, ids).values()} == {"done"}

    wait_until(done, "every message to all acknowledged by every node", timeout)


def stale_refusals(net: Network) -> list[str]:
    """Every refusal of a stale view a receiving node answered (alone, or in a batch's
    ``refused``), and every fresh delivery the hub fetched from the sender for one."""
    out = []
    for code, served in net.receivers.items():
        for e in served.counting.posts():
            doc = json.loads(e.answer)
            refused = doc.get("refused") or doc if isinstance(doc, dict) else {}
            if str(refused.get("code")).startswith(
                ("delivery.stale_view", "delivery.stale_checkpoint")
            ):
                out.append(f"{code}: {e.status} {refused['code']}")
    out += [f"LT: GET {e.path}" for e in net.lt.counting.seen
            if e.path.startswith("/api/v1/log/deliveries/")]  # fmt: skip
    return out


# -- 1. one request to a real hub, then the nodes, then every receipt


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "one-by-one"])
def test_queued_messages_to_all_go_to_the_hub_in_one_request_and_end_done(
    network: Network, monkeypatch: pytest.MonkeyPatch, batch: bool
) -> None:
    if not batch:  # as before batches: the hub answers nothing the worker takes
        monkeypatch.setattr(NodeDelivery, "_relay_many", lambda self, rows, at: set())
    ids = queue(network.sender, 5)
    at = tick()
    assert network.step(at) == 5
    posts = network.hub_posts()
    if batch:
        (post,) = posts  # ONE request, carrying them all, in order
        assert is_batch(post.body) and message_ids(post.body) == ids
        assert post.status == 202
        answer = json.loads(post.answer)
        assert [a["message_id"] for a in answer["accepted"]] == ids
        assert all(sorted(a["relayed_to"]) == sorted(RECEIVERS) for a in answer["accepted"])
        assert "refused" not in answer
    else:
        assert [message_ids(p.body) for p in posts] == [[i] for i in ids]
        assert not any(is_batch(p.body) for p in posts)
    rows = rows_of(network.sender, ids)
    for row in rows.values():
        assert (row.status, row.attempts, row.last_error) == ("relayed", 1, None)
        assert parse_stamp(row.next_attempt_at) == at + BACKOFF.delay(0)
    # the hub holds each message once, for each receiving node
    held = hub_rows(network.root, ids)
    assert sorted(held) == sorted((i, code) for i in ids for code in RECEIVERS)
    # the nodes log them in order; the sender ends with every receipt
    run_until_done(network, ids)
    for code, served in network.receivers.items():
        assert inbox_order(served.data) == ids, code
    for i in ids:
        assert sorted(network.sender.received_receipts(i)) == sorted(RECEIVERS)
    assert len(network.hub_posts()) == (1 if batch else len(ids))  # nothing sent again
    assert stale_refusals(network) == []


def test_one_message_to_all_alone_is_not_a_batch(network: Network) -> None:
    (mid,) = queue(network.sender, 1)
    network.step()
    (post,) = network.hub_posts()
    assert not is_batch(post.body) and message_ids(post.body) == [mid]
    assert rows_of(network.sender, [mid])[mid].status == "relayed"


def test_more_than_a_batch_goes_in_one_full_batch_and_the_rest_one_by_one(
    held: Network,
) -> None:
    ids = queue(held.sender, MAX_BATCH + 3)
    held.step()
    posts = held.hub_posts()
    assert message_ids(posts[0].body) == ids[:MAX_BATCH] and is_batch(posts[0].body)
    assert [message_ids(p.body) for p in posts[1:]] == [[i] for i in ids[MAX_BATCH:]]
    assert all(p.status == 202 for p in posts)
    assert {r.status for r in rows_of(held.sender, ids).values()} == {"relayed"}
    assert len(hub_rows(held.root, ids)) == len(ids) * len(RECEIVERS)


# -- 2 and 3. a real hub refuses the first, or one after some


def test_the_first_refused_sends_them_all_one_by_one_as_without_batches(
    held: Network,
) -> None:
    ids = queue(held.sender, 3, ahead=frozenset({0}))
    at = tick()
    held.step(at)
    posts = held.hub_posts()
    assert [message_ids(p.body) for p in posts] == [ids, [ids[0]], [ids[1]], [ids[2]]]
    assert posts[0].status == 400
    problem = json.loads(posts[0].answer)
    assert problem["code"] == "delivery.clock_skew"
    assert problem["problems"][0]["path"].startswith("deliveries[0]")
    assert [p.status for p in posts[1:]] == [posts[0].status, 202, 202]
    rows = rows_of(held.sender, ids)
    bad = rows[ids[0]]
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert bad.last_error is not None and bad.last_error.startswith("delivery.clock_skew: ")
    assert parse_stamp(bad.next_attempt_at) == at + BACKOFF.delay(0)
    for i in ids[1:]:
        assert (rows[i].status, rows[i].attempts, rows[i].last_error) == ("relayed", 1, None)
    assert sorted({m for m, _ in hub_rows(held.root, ids)}) == sorted(ids[1:])


def test_partly_accepted_the_accepted_are_relayed_and_the_rest_go_one_by_one(
    held: Network,
) -> None:
    ids = queue(held.sender, 5, behind=frozenset({2}))
    at = tick()
    held.step(at)
    posts = held.hub_posts()
    # the batch, then the one refused and those after it, alone
    assert [message_ids(p.body) for p in posts] == [ids, [ids[2]], [ids[3]], [ids[4]]]
    answer = json.loads(posts[0].answer)
    assert posts[0].status == 202
    assert [a["message_id"] for a in answer["accepted"]] == ids[:2]
    assert sorted(answer["accepted"][0]["relayed_to"]) == sorted(RECEIVERS)
    assert answer["refused"]["index"] == 2
    assert answer["refused"]["code"] == "envelope.key_not_valid"
    assert [p.status for p in posts[1:]] == [400, 202, 202]
    rows = rows_of(held.sender, ids)
    assert [rows[i].status for i in ids] == ["relayed", "relayed", "pending", "relayed",
                                             "relayed"]  # fmt: skip
    assert all(rows[i].attempts == 1 for i in ids)
    assert rows[ids[2]].last_error is not None
    assert rows[ids[2]].last_error.startswith("envelope.key_not_valid: ")
    assert parse_stamp(rows[ids[2]].next_attempt_at) == at + BACKOFF.delay(0)
    # the hub holds each it accepted once (the batch's two were not sent again)
    assert sorted({m for m, _ in hub_rows(held.root, ids)}) == sorted(ids[:2] + ids[3:])
    assert sum(message_ids(p.body).count(ids[0]) for p in posts) == 1


# -- 2, 4 and 5. a fake hub: no batches, lies, garbage, down


#: A fake hub's answer: status, content type, body.
Answer = tuple[int, str, bytes]


@dataclass
class FakeHub:
    """A hub on a socket: a batch is answered by ``batch`` (status, content type, body),
    one delivery alone by ``single`` (default: accepted, 202)."""

    batch: Callable[[list[str]], Answer]
    single: Callable[[str], Answer] | None = None
    seen: list[list[str]] = field(default_factory=list)
    batches: list[bool] = field(default_factory=list)
    #: the messages each question for receipts asked about
    asked: list[list[str]] = field(default_factory=list)


def _accepted(mid: str) -> Answer:
    return 202, "application/json", json.dumps({"message_id": mid, "relayed_to": ["BY"]}).encode()


def _unavailable(_mid: str) -> Answer:
    doc = {"title": "busy", "status": 503, "code": "hub.busy", "detail": "busy"}
    return 503, "application/problem+json", json.dumps(doc).encode()


class FakeHubServer:
    """:class:`FakeHub` served on 127.0.0.1 (``port``: a given one, e.g. one that was
    down)."""

    def __init__(self, fake: FakeHub, port: int = 0) -> None:
        self.fake = fake

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path == "/api/v1/hub/acknowledgements":  # nobody has, yet
                    asked = json.loads(body)["message_ids"]
                    fake.asked.append(asked)
                    self._answer(200, "application/json", json.dumps({"messages": [
                        {"message_id": i, "recipients": [{"state": "BY", "status": "pending"}]}
                        for i in asked]}).encode())  # fmt: skip
                    return
                assert self.path == INBOX, self.path
                ids = message_ids(body)
                fake.seen.append(ids)
                fake.batches.append(is_batch(body))
                if is_batch(body):
                    status, kind, content = fake.batch(ids)
                else:
                    status, kind, content = (fake.single or _accepted)(ids[0])
                self._answer(status, kind, content)

            def _answer(self, status: int, kind: str, content: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@dataclass
class Lone:
    """A sender whose hub is :class:`FakeHub` (or nothing at all)."""

    sender: Node
    worker: NodeDelivery

    def point_at(self, url: str) -> None:
        self.sender.put_peer(PeerRecord(HUB, url, "csbm/hub", b"\x01" * 32, "SHA256:x",
                                        stamp(now())))  # fmt: skip


@pytest.fixture
def lone(tmp_path: Path) -> Iterator[Lone]:
    sender = init_node("LT", now() - timedelta(minutes=10), data=tmp_path / "LT")
    client = HttpClient(sender.key, sender.state, timeout=5.0)
    try:
        yield Lone(sender, NodeDelivery(sender, client, BACKOFF))
    finally:
        client.close()
        sender.close()


@pytest.fixture
def fake_hub(lone: Lone) -> Iterator[Callable[..., FakeHub]]:
    started: list[FakeHubServer] = []

    def make(
        batch: Callable[[list[str]], Answer], single: Callable[[str], Answer] | None = None
    ) -> FakeHub:
        fake = FakeHub(batch, single)
        server = FakeHubServer(fake)
        started.append(server)
        lone.point_at(server.url)
        return fake

    yield make
    for server in started:
        server.stop()


def _json(status: int, doc: Any) -> Callable[[list[str]], Answer]:
    return lambda _ids: (status, "application/json", json.dumps(doc).encode())


def test_a_hub_that_does_not_take_batches_gets_them_one_by_one(
    lone: Lone, fake_hub: Callable[..., FakeHub]
) -> None:
    doc = {
        "title": "unprocessable",
        "status": 422,
        "code": "request.invalid",
        "detail": "body: field required",
        "problems": [{"path": "body.envelope", "reason": "field required"}],
    }
    fake = fake_hub(lambda _ids: (422, "application/problem+json", json.dumps(doc).encode()))
    ids = queue(lone.sender, 4)
    lone.worker(now())
    assert fake.seen == [ids, *([i] for i in ids)]
    assert fake.batches == [True, False, False, False, False]
    rows = rows_of(lone.sender, ids)
    assert [(rows[i].status, rows[i].attempts, rows[i].last_error) for i in ids] == [
        ("relayed", 1, None)
    ] * 4


def _accepting(pick: Callable[[list[str]], list[str]]) -> Callable[[list[str]], Answer]:
    """A batch answered 202 with ``accepted``: an item for each id ``pick`` makes of the
    ids sent."""
    return lambda ids: _json(
        202, {"accepted": [{"message_id": i, "relayed_to": ["BY"]} for i in pick(ids)]}
    )(ids)


@pytest.mark.parametrize(
    ("name", "answer", "relayed"),
    [
        ("wrong order", _accepting(lambda ids: list(reversed(ids))), 0),
        ("first right, then wrong", _accepting(lambda ids: [ids[0], ids[2], ids[1]]), 1),
        ("an id not sent", _accepting(lambda ids: ["m-" + ids[0]]), 0),
        ("one left out", _accepting(lambda ids: [ids[0], ids[2]]), 1),
        ("ids as strings", lambda ids: _json(202, {"accepted": ids})(ids), 0),
        ("more than sent", _accepting(lambda ids: [*ids[:2], "x", "y", "z"]), 2),
        ("nothing accepted", _accepting(lambda ids: []), 0),
        ("accepted not a list", _json(202, {"accepted": {"m": ["BY"]}}), 0),
        ("accepted missing", _json(202, {"message_id": "m"}), 0),
        ("not an object", _json(202, [{"message_id": "m"}]), 0),
        ("not JSON", lambda ids: (202, "application/json", b"accepted, all of them"), 0),
        ("empty", lambda ids: (200, "application/json", b""), 0),
        ("a 500", lambda ids: (500, "text/plain", b"oops"), 0),
    ],
)
def test_a_lying_or_broken_answer_relays_no_row_without_its_own_item(
    lone: Lone,
    fake_hub: Callable[..., FakeHub],
    name: str,
    answer: Callable[[list[str]], Answer],
    relayed: int,
) -> None:
    """The rows the answer does not accept, each by its own item in its place, go one by
    one; here the hub is busy for those: they are retried with the reason, none lost."""
    fake = fake_hub(answer, _unavailable)
    ids = queue(lone.sender, 3)
    at = tick()
    lone.worker(at)
    assert fake.seen == [ids, *([i] for i in ids[relayed:])], name
    rows = rows_of(lone.sender, ids)
    for i in ids[:relayed]:
        assert (rows[i].status, rows[i].attempts, rows[i].last_error) == ("relayed", 1, None)
    for i in ids[relayed:]:
        row = rows[i]
        assert (row.status, row.attempts) == ("pending", 1), name
        assert row.last_error is not None and row.last_error.startswith("hub.busy: "), name
        assert parse_stamp(row.next_attempt_at) == at + BACKOFF.delay(0)
    # the next turn: the hub takes them (alone: the one left, or a batch of those left);
    # the relayed ones are asked about at the hub (nobody has acknowledged yet)
    fake.batch = _accepting(lambda got: got)
    fake.single = None
    lone.worker(at + timedelta(seconds=1))
    rest = ids[relayed:]
    assert fake.seen[-1 if len(rest) > 1 else -len(rest) :] == (
        [rest] if len(rest) > 1 else [[i] for i in rest]
    )
    assert fake.asked == ([ids[:relayed]] if relayed else [])
    rows = rows_of(lone.sender, ids)
    assert {rows[i].status for i in ids} == {"relayed"}
    assert [rows[i].attempts for i in rest] == [2] * len(rest)
    assert all(rows[i].last_error == "waiting for 1 receipt(s) at the hub" for i in ids[:relayed])


class Silent:
    """A hub that gives no answer at all: it takes each connection (counted) and closes
    it at once (``drop``) or holds it until stopped (too slow)."""

    def __init__(self, port: int, *, drop: bool) -> None:
        self.drop = drop
        self.connections = 0
        self.held: list[socket.socket] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.recv(65536)  # the request (its start)
            if self.drop:
                conn.close()
            else:
                self.held.append(conn)

    def stop(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # ends the accept under way
        self.listener.close()
        self.thread.join(10)
        assert not self.thread.is_alive()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("how", ["nothing listens", "connection dropped", "too slow"])
def test_a_hub_that_gives_no_answer_gets_them_later_and_none_is_lost(lone: Lone, how: str) -> None:
    """No answer at all: the batch is not sent again one by one at once (each would wait
    the same); every row is retried after its backoff, the reason kept."""
    port = free_port()
    silent = None if how == "nothing listens" else Silent(port, drop=how == "connection dropped")
    lone.point_at(f"http://127.0.0.1:{port}")
    lone.worker.client = HttpClient(lone.sender.key, lone.sender.state, timeout=0.5)
    ids = queue(lone.sender, 3)
    at = tick()
    try:
        lone.worker(at)
        if silent is not None:
            assert silent.connections == 1  # the batch, and nothing one by one
        rows = rows_of(lone.sender, ids)
        reason = {"nothing listens": "ConnectError", "connection dropped": "RemoteProtocolError",
                  "too slow": "ReadTimeout"}[how]  # fmt: skip
        for i in ids:
            assert (rows[i].status, rows[i].attempts) == ("pending", 1)
            assert rows[i].last_error == (
                f"peer.unreachable: http://127.0.0.1:{port}: cannot reach the node: {reason}"
            )
            assert parse_stamp(rows[i].next_attempt_at) == at + BACKOFF.delay(0)
        # before the backoff ends, nothing is attempted
        assert lone.worker(at + BACKOFF.delay(0) - timedelta(milliseconds=1)) == 0
        later = at + BACKOFF.delay(0)
        assert lone.worker(later) == 3  # still no answer: the backoff doubles
        if silent is not None:
            assert silent.connections == 2
        rows = rows_of(lone.sender, ids)
        assert {(rows[i].status, rows[i].attempts) for i in ids} == {("pending", 2)}
        assert all(parse_stamp(rows[i].next_attempt_at) == later + BACKOFF.delay(1) for i in ids)
    finally:
        if silent is not None:
            silent.stop()
        lone.worker.client.close()
    # the hub comes up on that port: one batch, every row relayed
    lone.worker.client = HttpClient(lone.sender.key, lone.sender.state, timeout=5.0)
    fake = FakeHub(_accepting(lambda got: got))
    server = FakeHubServer(fake, port)
    try:
        lone.worker(later + BACKOFF.delay(1))
    finally:
        server.stop()
        lone.worker.client.close()
    assert fake.seen == [ids] and fake.batches == [True]
    rows = rows_of(lone.sender, ids)
    assert {(rows[i].status, rows[i].attempts) for i in ids} == {("relayed", 3)}


def test_a_batch_the_hub_took_but_whose_answer_was_lost_is_taken_again_once(
    held: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub stored the messages, the answer never came back: the rows are retried
    after their backoff, in one batch again, and the hub recognises each (held once)."""
    ids = queue(held.sender, 3)
    real = HttpClient.post_deliveries

    def lost(self: HttpClient, *args: Any) -> dict[str, Any]:
        real(self, *args)
        raise Unreachable(held.hub.url, "ReadTimeout", connection=True)

    monkeypatch.setattr(HttpClient, "post_deliveries", lost)
    at = tick()
    held.step(at)
    rows = rows_of(held.sender, ids)
    assert {(r.status, r.attempts) for r in rows.values()} == {("pending", 1)}
    assert len(held.hub_posts()) == 1
    assert sorted({m for m, _ in hub_rows(held.root, ids)}) == sorted(ids)
    monkeypatch.setattr(HttpClient, "post_deliveries", real)
    held.step(at + BACKOFF.delay(0))
    _first, again = held.hub_posts()
    assert message_ids(again.body) == ids and again.status == 202
    accepted = json.loads(again.answer)["accepted"]
    assert [a["message_id"] for a in accepted] == ids
    assert all(sorted(a["relayed_to"]) == sorted(RECEIVERS) for a in accepted)
    rows = rows_of(held.sender, ids)
    assert {(r.status, r.attempts) for r in rows.values()} == {("relayed", 2)}
    held_rows = hub_rows(held.root, ids)
    assert sorted(held_rows) == sorted((i, code) for i in ids for code in RECEIVERS)
    fan_out(held)
    for code, served in held.receivers.items():
        assert inbox_order(served.data) == ids, code


# -- 6. messages to all sent at once: each node gets them in order, none as a stale view


def fan_out(net: Network) -> int:
    """One step of the hub's fan-out, run here."""
    with Hub.open(net.root / "hub") as hub:
        client = HttpClient(hub.key, HUB)
        fan = HubFanOut(hub, client, Backoff(base=0.05, cap=0.5, jitter=0.0))
        try:
            return fan(now())
        finally:
            fan.close()
            client.close()


def _relay_one_at_a_time(net: Network, count: int, start: int) -> list[str]:
    """``count`` messages to all, each queued and relayed alone before the next is
    queued: each carries a checkpoint one entry larger than the one before."""
    ids = []
    for i in range(count):
        ids.append(net.sender.queue_message(notification(start + i), ["all"], [HUB],
                                            now()).message_id)  # fmt: skip
        net.step()
    assert {r.status for r in rows_of(net.sender, ids).values()} == {"relayed"}
    return ids


def test_messages_to_all_sent_at_once_reach_each_node_in_order_with_no_stale_view(
    held: Network,
) -> None:
    # a first round, acknowledged by every node: the sizes the nodes last saw
    first = queue(held.sender, 2)
    held.step()
    assert fan_out(held) == 2 * len(RECEIVERS)
    run_until_done(held, first)
    # then several at once: in one batch, and one by one as they are written, each
    # checkpoint newer than the one before, all waiting at the hub together
    batch = queue(held.sender, 3)
    held.step()
    alone = _relay_one_at_a_time(held, 3, start=10)
    ids = first + batch + alone
    waiting = hub_rows(held.root, batch + alone)
    assert len(waiting) == 6 * len(RECEIVERS)
    assert {r.status for r in waiting.values()} == {"pending"}
    fan_out(held)
    relayed = hub_rows(held.root, ids)
    assert {(r.status, r.attempts, r.last_error) for r in relayed.values()} == {("done", 1, None)}
    for code, served in held.receivers.items():
        assert inbox_order(served.data) == ids, code
        # the six went to each node in one request
        last = served.counting.posts()[-1]
        assert message_ids(last.body) == batch + alone and last.status == 200
        assert [r["message_id"] for r in json.loads(last.answer)["receipts"]] == batch + alone
    assert stale_refusals(held) == []
    run_until_done(held, ids)


def test_without_the_recent_sizes_the_nodes_refuse_stale_views(held: Network) -> None:
    """The check above can fail: a sender that forgets the sizes it handed out makes
    each node refuse the next message as a stale view (the hub fetches a fresh one)."""
    first = queue(held.sender, 2)
    held.step()
    fan_out(held)
    run_until_done(held, first)
    forgetful = held.sender._handed_out.maxlen
    assert forgetful is not None and forgetful > 0
    held.sender._handed_out = type(held.sender._handed_out)(maxlen=0)
    alone = _relay_one_at_a_time(held, 3, start=10)
    fan_out(held)
    refusals = stale_refusals(held)
    assert any("stale_view" in r for r in refusals), refusals
    assert any(r.startswith("LT: GET") for r in refusals), refusals
    for code, served in held.receivers.items():
        assert inbox_order(served.data) == first + alone, code


def test_bursts_of_messages_to_all_with_the_hub_at_work_arrive_in_order(
    network: Network,
) -> None:
    """As ``csbm serve`` runs it: the hub fans out while the sender hands it more, in
    batches and alone, each newer than the one before; every node logs them in the order
    they were written, none refused as a stale view, every receipt in."""
    ids: list[str] = []
    for count in (1, 3, 1, 2, 4, 1):
        ids += queue(network.sender, count) if count > 1 else [
            network.sender.queue_message(notification(len(ids)), ["all"], [HUB],
                                         now()).message_id]  # fmt: skip
        network.step()
    assert sum(is_batch(p.body) for p in network.hub_posts()) == 3
    assert [m for p in network.hub_posts() for m in message_ids(p.body)] == ids
    run_until_done(network, ids)
    for code, served in network.receivers.items():
        assert inbox_order(served.data) == ids, code
    assert stale_refusals(network) == []
    relayed = hub_rows(network.root, ids)
    assert len(relayed) == len(ids) * len(RECEIVERS)
    assert {(r.status, r.last_error) for r in relayed.values()} == {("done", None)}
