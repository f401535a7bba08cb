"""The hub's fan-out (issue 11, item 9): its lean client (one event loop, kept-alive
connections, the delivery's body and signature made once for every node) against the
plain path it replaces (each POST by httpx, :meth:`HttpClient.post_delivery`).

Each node here is a scriptable HTTP/1.1 server in front of a real node (its receipts are
the node's own; a duplicate gets the receipt signed the first time): it answers each
request as its script says -- a receipt, a stale view, a refusal, garbage, a closed
connection, an answer too slow. The same scripts are run once through each path, and
the requests the nodes saw (method, path, signed headers, body) and what the hub
recorded (status, attempts, error, receipt, payload) must be the same.

Several messages waiting for one node go in one request (``{"deliveries": [...]}``, at
most MAX_BATCH): a fake node answers a batch as the real inbox does (``Node.receive_many``:
the receipts, and ``refused`` after a partial acceptance), or as scripted -- refused as
an older node would, accepted in part, lied about. What the hub records must be what it
records without batches (``batch=False``), and no row is done without its node's own
verified receipt."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from csbm.api.auth import status_of
from csbm.errors import CsbmError
from csbm.exchange import worker as worker_module
from csbm.exchange.fanout import target_of
from csbm.exchange.http import HttpClient, refusal_of
from csbm.exchange.wire import (
    MAX_BATCH,
    batch_from_json,
    delivery_from_json,
    delivery_to_json,
    sign_request,
)
from csbm.exchange.worker import Backoff, HubFanOut, Worker
from csbm.hub import Hub, init_hub
from csbm.node import Node, init_node
from tests.store.nodes import notification, trust

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(minutes=5)
NODES = ("BY", "PL", "EE", "LV")
SIGNED = ("content-type", "content-length", "csbm-signer", "csbm-key-id", "csbm-date",
          "csbm-signature")  # fmt: skip


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeNode:
    """A real node behind a server that answers as ``script`` says (then ``ok``)."""

    node: Node
    script: list[Any] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    close_after: bool = False


def _receipt_doc(receipt: Any) -> dict[str, Any]:
    return {"message_id": receipt.body["message_id"], "log_index": receipt.body["log_index"],
            "receipt": base64.b64encode(receipt.raw).decode("ascii")}  # fmt: skip


def _refused(exc: CsbmError) -> tuple[int, bytes]:
    """A refusal as the node's API answers it (problem+json)."""
    doc = {"title": exc.message, "status": status_of(exc), "code": exc.code,
           "detail": exc.message, "problems": [p.as_dict() for p in exc.problems]}  # fmt: skip
    return status_of(exc), json.dumps(doc).encode()


def _ok(node: Node, body: bytes) -> tuple[int, bytes]:
    """What the node's inbox answers: one delivery's receipt, or a batch's receipts (and
    the refusal that stopped it after some were accepted) as ``_receive_many`` does."""
    doc = json.loads(body)
    if "deliveries" in doc:
        return _ok_many(node, batch_from_json(doc))
    try:
        receipt = node.receive(delivery_from_json(doc), AT)
    except CsbmError as exc:
        return _refused(exc)
    return 200, json.dumps(_receipt_doc(receipt)).encode()


def _ok_many(node: Node, deliveries: list[Any]) -> tuple[int, bytes]:
    receipts, refusal = node.receive_many(deliveries, AT)
    if refusal is not None and not receipts:
        return _refused(refusal)
    answer: dict[str, Any] = {"receipts": [_receipt_doc(r) for r in receipts]}
    if refusal is not None:
        answer["refused"] = {"index": len(receipts), "code": refusal.code,
                             "detail": "; ".join(refusal.lines())}  # fmt: skip
    return 200, json.dumps(answer).encode()


def _problem(status: int, code: str, detail: str, path: str, value: Any) -> tuple[int, bytes]:
    doc = {"title": detail, "status": status, "code": code, "detail": detail,
           "problems": [{"path": path, "reason": detail, "value": value}]}  # fmt: skip
    return status, json.dumps(doc).encode()


class Servers:
    """The fake nodes, all on one event loop in one thread."""

    def __init__(self, sender: Node, fakes: dict[str, FakeNode]) -> None:
        self.sender = sender
        self.fakes = fakes
        self.sender_seen: list[Seen] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[asyncio.AbstractServer] = []
        self.sender_port = 0

    def start(self) -> None:
        self.thread.start()
        for fake in self.fakes.values():
            fake.port = self._listen(lambda r, w, f=fake: self._serve(r, w, f))
        self.sender_port = self._listen(lambda r, w: self._serve(r, w, None))

    def _listen(self, handler: Any) -> int:
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(handler, "127.0.0.1", 0), self.loop
        ).result(10)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        async def close() -> None:
            for server in self.servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fake: FakeNode | None
    ) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                first, *lines = head[:-4].decode("latin-1").split("\r\n")
                method, path, _version = first.split(" ")
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, path, headers, body)
                answer: tuple[int, bytes, bool] | None
                if fake is None:
                    self.sender_seen.append(seen)
                    answer = self._sender(path)
                else:
                    fake.seen.append(seen)
                    action = fake.script.pop(0) if fake.script else "ok"
                    answer = await self._act(fake, action, body)
                if answer is None:  # drop the connection without an answer
                    return
                status, content, chunked = answer
                reason = {200: "OK", 400: "Bad Request", 409: "Conflict"}.get(status, "Error")
                out = [f"HTTP/1.1 {status} {reason}", "content-type: application/json"]
                if chunked:
                    half = len(content) // 2
                    out.append("transfer-encoding: chunked")
                    data = b"".join(
                        b"%x\r\n%s\r\n" % (len(part), part) for part in (content[:half],
                                                                         content[half:])
                    ) + b"0\r\n\r\n"  # fmt: skip
                else:
                    out.append(f"content-length: {len(content)}")
                    data = content
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + data)
                await writer.drain()
                if fake is not None and fake.close_after:  # kept alive, closed a little later
                    await asyncio.sleep(0.1)
                    return
        finally:
            writer.close()

    def _sender(self, path: str) -> tuple[int, bytes, bool]:
        parts = urlsplit(path)
        message_id = parts.path.rsplit("/", 1)[1]
        size = int(parse_qs(parts.query)["from"][0])
        doc = delivery_to_json(self.sender.delivery_for(message_id, size, AT))
        return 200, json.dumps(doc).encode(), False

    async def _act(
        self, fake: FakeNode, action: Any, body: bytes
    ) -> tuple[int, bytes, bool] | None:
        if action == "close":
            return None
        if action == "slow":
            await asyncio.sleep(1.5)
            action = "ok"
        if action in ("ok", "chunked"):
            status, content = _ok(fake.node, body)
            return status, content, action == "chunked"
        if isinstance(action, tuple) and action[0] == "stale":
            return (*_problem(409, "delivery.stale_view", "prove from the size I saw",
                              "consistency_from", action[1]), False)  # fmt: skip
        if action == "refuse":
            return (*_problem(400, "envelope.unknown_key", "no such key", "key_id", "x"), False)
        if action == "bare500":
            return 500, b"oops", False
        if action == "notjson":
            return 200, b"nope", False
        if action == "array":
            return 200, b"[1]", False
        if action == "noreceipt":
            return 200, b'{"message_id": "x"}', False
        if action == "otherreceipt":  # a receipt, but another node's
            other = next(f for f in self.fakes.values() if f is not fake)
            return (*_ok(other.node, body), False)
        if action == "old":  # a node from before batches: no such member of a delivery
            return (*_problem(400, "csbm.input", "unknown member", "deliveries", None), False)
        if isinstance(action, tuple) and action[0] == "status":  # a refusal of the request
            return (*_problem(action[1], f"http.{action[1]}", "not understood", "(body)",
                              None), False)  # fmt: skip
        if isinstance(action, tuple) and action[0] == "partial":  # the first k, then no
            k = action[1]
            receipts, refusal = fake.node.receive_many(batch_from_json(json.loads(body))[:k], AT)
            assert refusal is None and len(receipts) == k
            answer = {"receipts": [_receipt_doc(r) for r in receipts],
                      "refused": {"index": k, "code": "envelope.unknown_key",
                                  "detail": "key_id: no such key (got 'x')"}}  # fmt: skip
            return 200, json.dumps(answer).encode(), False
        if isinstance(action, tuple) and action[0] == "lie":  # the true answer, altered
            status, content = _ok(fake.node, body)
            told = action[1](json.loads(content))
            return status, told if isinstance(told, bytes) else json.dumps(told).encode(), False
        raise AssertionError(action)


@dataclass
class Network:
    root: Path
    hub: Hub
    sender: Node
    fakes: dict[str, FakeNode]
    servers: Servers
    message_id: str
    payload: str
    #: every message to all the hub relays, in the order they were sent: its payload
    payloads: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    hub = init_hub(T0, tmp_path / "hub")
    sender = init_node("LT", T0, data=tmp_path / "LT")
    fakes = {code: FakeNode(init_node(code, T0, data=tmp_path / code)) for code in NODES}
    for fake in fakes.values():
        trust(fake.node, sender)
    servers = Servers(sender, fakes)
    servers.start()
    try:
        hub.register("LT", sender.key.verifier_key, f"http://127.0.0.1:{servers.sender_port}",
                     sender.key.fingerprint, T0)  # fmt: skip
        for code, fake in fakes.items():
            hub.register(code, fake.node.key.verifier_key, f"http://127.0.0.1:{fake.port}",
                         fake.node.key.fingerprint, T0)  # fmt: skip
        result = sender.append_message(notification(1), ["all"], AT - timedelta(seconds=5))
        delivery = sender.delivery_to_all(result.message_id, AT - timedelta(seconds=5))
        payload = json.dumps(delivery_to_json(delivery))
        _envelope, targets = hub.accept(delivery, payload, AT - timedelta(seconds=5))
        assert sorted(targets) == sorted(NODES)
        yield Network(tmp_path, hub, sender, fakes, servers, result.message_id, payload,
                      {result.message_id: payload})  # fmt: skip
    finally:
        servers.stop()
        hub.close()
        sender.close()
        for fake in fakes.values():
            fake.node.close()


def _step(
    net: Network, lean: bool, timeout: float = 10.0, at: datetime = AT, **kwargs: Any
) -> HubFanOut:
    client = HttpClient(net.hub.key, "hub", timeout=timeout)
    fan = HubFanOut(net.hub, client, Backoff(jitter=0.0), lean=lean, **kwargs)
    try:
        fan(at)
    finally:
        fan.close()
        client.close()
    return fan


def _recorded(net: Network, message_ids: list[str] | None = None) -> list[tuple[Any, ...]]:
    return [
        (r.destination, r.status, r.attempts, r.last_error, r.receipt, r.done_at,
         r.next_attempt_at, r.payload)
        for message_id in (message_ids or [net.message_id])
        for r in net.hub.relay_rows(message_id)
    ]  # fmt: skip


def _requests(net: Network) -> dict[str, list[tuple[Any, ...]]]:
    out = {code: [(s.method, s.path, {h: s.headers.get(h) for h in SIGNED}, s.body)
                  for s in fake.seen] for code, fake in net.fakes.items()}  # fmt: skip
    out["LT"] = [(s.method, s.path, {h: s.headers.get(h) for h in SIGNED[2:]}, s.body)
                 for s in net.servers.sender_seen]  # fmt: skip
    return out


def _reset(net: Network, scripts: dict[str, list[Any]]) -> None:
    """The relay rows as the hub accepted them, the scripts again, nothing seen."""
    with net.hub.store.write() as txn:
        for message_id, payload in net.payloads.items():
            txn.conn.exec_driver_sql(
                "UPDATE outbox SET status = 'pending', attempts = 0, last_error = NULL, "
                "receipt = NULL, done_at = NULL, next_attempt_at = ?, payload = ? "
                "WHERE message_id = ?",
                ("2026-03-01T09:04:55.000Z", payload, message_id),
            )
    for code, fake in net.fakes.items():
        fake.script[:] = list(scripts.get(code, []))
        fake.seen.clear()
    net.servers.sender_seen.clear()


def _both(
    net: Network, scripts: dict[str, list[Any]], **kwargs: Any
) -> tuple[list[tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]]:
    """Run the scripts through the lean path and the plain one; what each recorded and
    the requests each sent must be the same. The lean path's outcome."""
    outcomes = []
    for lean in (True, False):
        _reset(net, scripts)
        _step(net, lean, **kwargs)
        outcomes.append((_recorded(net), _requests(net)))
    assert outcomes[0][0] == outcomes[1][0]
    assert outcomes[0][1] == outcomes[1][1]
    return outcomes[0]


def test_every_node_gets_the_delivery_and_its_receipt_is_recorded(network: Network) -> None:
    rows, requests = _both(network, {"PL": ["chunked"]})
    assert {r[0]: r[1:3] for r in rows} == {code: ("done", 1) for code in NODES}
    for code, row in zip(NODES, sorted(rows, key=lambda r: NODES.index(r[0])), strict=True):
        assert row[4] == network.fakes[code].node.issued_receipt(network.message_id)
    # one POST per node, the same body and the same signed headers for each
    posts = [requests[code][0] for code in NODES]
    assert all(p[:2] == ("POST", "/api/v1/inbox") for p in posts)
    assert len({json.dumps(p[2]) + p[3].decode() for p in posts}) == 1
    assert json.loads(posts[0][3]) == json.loads(network.payload)
    assert requests["LT"] == []


def test_refusals_and_broken_answers_are_retried_with_the_same_reason(network: Network) -> None:
    scripts = {
        "BY": ["refuse"],
        "PL": ["bare500"],
        "EE": ["notjson"],
        "LV": ["array"],
    }
    rows, _requests_seen = _both(network, scripts)
    by_state = {r[0]: r for r in rows}
    assert {s: r[1:3] for s, r in by_state.items()} == {s: ("pending", 1) for s in NODES}
    assert by_state["BY"][3] == "envelope.unknown_key: key_id: no such key (got 'x')"
    port = network.fakes["PL"].port
    assert by_state["PL"][3] == (
        f"http.500: http://127.0.0.1:{port}/api/v1/inbox: HTTP 500"
    )
    assert by_state["EE"][3].endswith("the answer is not JSON")
    assert by_state["LV"][3].endswith("the answer is not a JSON object")
    assert by_state["BY"][6] == "2026-03-01T09:05:00.250Z"  # base x 2^0, no jitter


def test_a_missing_or_foreign_receipt_is_not_recorded(network: Network) -> None:
    rows, _seen = _both(network, {"BY": ["noreceipt"], "PL": ["otherreceipt"]})
    by_state = {r[0]: r for r in rows}
    assert by_state["BY"][1:4] == ("pending", 1,
                                   "receipt.missing: the peer's answer holds no receipt")
    assert by_state["PL"][1] == "pending" and by_state["PL"][3].startswith("receipt.dangling")
    assert by_state["EE"][1] == by_state["LV"][1] == "done"


def test_a_stale_view_is_proved_again_from_the_senders_node(network: Network) -> None:
    rows, requests = _both(network, {"BY": [("stale", 1)], "PL": [("stale", 1)] * 4})
    by_state = {r[0]: r for r in rows}
    assert by_state["BY"][1:3] == ("done", 1)
    # the fresh delivery, fetched from LT, is kept as the row's payload and posted
    fresh = json.loads(by_state["BY"][7])
    assert fresh["consistency_from"] == 1 and by_state["BY"][7] != network.payload
    assert json.loads(requests["BY"][1][3]) == fresh
    # a view still stale after STALE_RETRIES rebuilds waits for its next turn
    assert len(requests["PL"]) == worker_module.STALE_RETRIES + 1
    assert by_state["PL"][1:4] == ("pending", 1,
                                   "delivery.stale_view: consistency_from: prove from the "
                                   "size I saw (got 1)")  # fmt: skip
    assert [r[:2] for r in requests["LT"]] == [
        ("GET", f"/api/v1/log/deliveries/{network.message_id}?from=1")
    ] * (1 + worker_module.STALE_RETRIES)


def test_a_node_that_drops_the_connection_or_is_too_slow_is_unreachable(
    network: Network,
) -> None:
    rows, _seen = _both(network, {"BY": ["close"], "PL": ["slow"]}, timeout=0.5)
    by_state = {r[0]: r for r in rows}
    port = {code: network.fakes[code].port for code in NODES}
    assert by_state["BY"][3] == (
        f"peer.unreachable: http://127.0.0.1:{port['BY']}: cannot reach the node: "
        "RemoteProtocolError"
    )
    assert by_state["PL"][3].endswith("cannot reach the node: ReadTimeout")
    assert by_state["EE"][1] == by_state["LV"][1] == "done"


def test_a_node_down_and_a_node_no_longer_registered(network: Network) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]  # closed again: nothing listens there
    network.hub.register("BY", network.fakes["BY"].node.key.verifier_key,
                         f"http://127.0.0.1:{dead}", network.fakes["BY"].node.key.fingerprint,
                         T0)  # fmt: skip
    assert network.hub.unregister("PL")
    rows, _seen = _both(network, {})
    by_state = {r[0]: r for r in rows}
    assert by_state["BY"][1:4] == (
        "pending", 1,
        f"peer.unreachable: http://127.0.0.1:{dead}: cannot reach the node: ConnectError",
    )  # fmt: skip
    assert by_state["PL"][1:4] == ("refused", 0, "the node is no longer registered")


def test_the_body_and_signature_are_made_once_per_step(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = sign_request

    def counting(*args: Any) -> dict[str, str]:
        calls.append(args[3])
        return real(*args)

    monkeypatch.setattr(worker_module, "sign_request", counting)
    _reset(network, {})
    _step(network, lean=True)
    assert calls == ["/api/v1/inbox"]
    assert {r[1] for r in _recorded(network)} == {"done"}


def test_receipts_are_committed_as_they_come_in(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real = network.hub.mark_done

    def counting(done: list[tuple[int, bytes, str]]) -> None:
        batches.append(len(done))
        real(done)

    monkeypatch.setattr(network.hub, "mark_done", counting)
    _reset(network, {code: ["slow"] for code in NODES[1:]})
    _step(network, lean=True, timeout=5.0)
    # the first receipt at once (the other nodes take 1.5 s), the rest after
    assert batches[0] == 1 and sum(batches) == len(NODES)
    _reset(network, {})
    batches.clear()
    _step(network, lean=True, flush_every=3600.0)
    assert sum(batches) == len(NODES) and len(batches) <= 2


def test_kept_alive_connections_are_reused_across_steps(network: Network) -> None:
    client = HttpClient(network.hub.key, "hub")
    fan = HubFanOut(network.hub, client, Backoff(jitter=0.0))
    try:
        for _ in range(3):
            _reset(network, {})
            fan(AT)
            assert {r[1] for r in _recorded(network)} == {"done"}
    finally:
        fan.close()
        client.close()
    assert fan._loop is None


def test_a_kept_alive_connection_the_node_closed_is_not_reused(network: Network) -> None:
    """A node closes its side of a kept-alive connection between two fan-outs (uvicorn
    does after 5 s idle): the next fan-out connects again instead of failing."""
    client = HttpClient(network.hub.key, "hub")
    fan = HubFanOut(network.hub, client, Backoff(jitter=0.0))
    for fake in network.fakes.values():
        fake.close_after = True
    try:
        for _ in range(3):
            _reset(network, {})
            fan(AT)
            assert {r[1:4] for r in _recorded(network)} == {("done", 1, None)}
            time.sleep(0.3)  # closed while no step runs (nor the fan-out's event loop)
    finally:
        fan.close()
        client.close()


def test_what_the_lean_client_speaks_to() -> None:
    for url in ("http://127.0.0.1:8471", "http://127.0.0.1:8471/", "http://node.example",
                "http://Node.Example:80/csbm/", "http://[::1]:9000/x"):  # fmt: skip
        target = target_of(url)
        assert target is not None, url
        # the URL a refusal names, as httpx prints its request's
        request = httpx.Request("POST", url.rstrip("/") + "/api/v1/inbox")
        assert target.url("/api/v1/inbox") == str(request.url)
        assert target.authority == request.headers["host"]
        assert target.prefix == urlsplit(url).path.rstrip("/")
    for url in ("https://127.0.0.1:8471", "http://user:pw@127.0.0.1:1", "http://h:1/?x=1",
                "http://h:1/#f", "ftp://h", "http://h:1/a b", "http://h:99999"):  # fmt: skip
        assert target_of(url) is None, url


def test_a_refusal_reads_the_same_from_bytes_as_from_an_httpx_response() -> None:
    from csbm.exchange.http import _refusal

    url = "http://127.0.0.1:1/api/v1/inbox"
    for status, content in ((409, _problem(409, "delivery.stale_view", "d", "p", 3)[1]),
                            (500, b"oops"), (400, b"[1]"), (404, b'{"title": "t"}')):  # fmt: skip
        response = httpx.Response(status, content=content, request=httpx.Request("POST", url))
        plain, lean = _refusal(response), refusal_of(status, content, url)
        assert (plain.status, plain.code, plain.message, plain.problems) == (
            lean.status, lean.code, lean.message, lean.problems)


def test_the_worker_reads_the_clock_it_is_given() -> None:
    """serve hands it the precise clock (tests/api/test_lean_inbox.py); a test's as given."""
    fixed = lambda: T0  # noqa: E731
    assert Worker(lambda _at: 0, fixed)._clock is fixed


def test_closed_from_a_running_event_loop(network: Network) -> None:
    """``csbm serve``'s lifespan stops the worker from uvicorn's event loop: the
    fan-out's own loop is closed all the same (it raised 'Cannot run the event loop while
    another loop is running' before, and the hub's shutdown failed)."""
    client = HttpClient(network.hub.key, "hub")
    fan = HubFanOut(network.hub, client, Backoff(jitter=0.0))
    try:
        fan(AT)
        assert {r[1] for r in _recorded(network)} == {"done"}
        loop = fan._loop
        assert loop is not None

        async def shutdown() -> None:
            fan.close()

        asyncio.run(shutdown())
        assert fan._loop is None and loop.is_closed()
    finally:
        fan.close()
        client.close()


# -- several messages to all waiting for a node: one request ({"deliveries": [...]})


def _messages(net: Network, count: int) -> list[str]:
    """``count`` messages to all in all (the fixture's one first), each accepted by the
    hub for every node registered then; their ids, in the order they were sent."""
    while len(net.payloads) < count:
        sent = AT - timedelta(seconds=5) + timedelta(milliseconds=len(net.payloads))
        result = net.sender.append_message(notification(len(net.payloads) + 1), ["all"], sent)
        delivery = net.sender.delivery_to_all(result.message_id, sent)
        payload = json.dumps(delivery_to_json(delivery))
        net.hub.accept(delivery, payload, sent)
        net.payloads[result.message_id] = payload
    return list(net.payloads)


def _by_node(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """The recorded rows of each node, in the order of the messages."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out


def _sent(fake: FakeNode) -> list[list[str]]:
    """The messages each request to a node carried, request by request (a batch's in
    its order)."""
    out = []
    for seen in fake.seen:
        assert seen.method == "POST" and seen.path.endswith("/api/v1/inbox")
        doc = json.loads(seen.body)
        items = doc.get("deliveries", [doc])
        if "deliveries" in doc:  # a batch: only that, and of more than one
            assert set(doc) == {"deliveries"} and len(items) > 1
        out.append([delivery_from_json(d).envelope for d in items])
    return [[_message_of(envelope) for envelope in items] for items in out]


def _message_of(envelope: bytes) -> str:
    return str(json.loads(envelope)["message_id"])


def _outcomes(net: Network) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What the hub recorded, by (node, message): status, attempts, error, receipt."""
    return {
        (r.destination, message_id): (r.status, r.attempts, r.last_error, r.receipt)
        for message_id in net.payloads
        for r in net.hub.relay_rows(message_id)
    }


def _issued(net: Network, code: str, message_id: str) -> bytes:
    receipt = net.fakes[code].node.issued_receipt(message_id)
    assert receipt is not None, (code, message_id)
    return receipt


def _all_done(net: Network, attempts: int = 1) -> bool:
    """Every row done, with the receipt its node signed for its message."""
    outcomes = _outcomes(net)
    assert len(outcomes) == len(net.payloads) * len(NODES)
    return all(
        outcome == ("done", attempts, None, net.fakes[code].node.issued_receipt(message_id))
        for (code, message_id), outcome in outcomes.items()
    )


def _batched_and_not(
    net: Network, batched: dict[str, list[Any]], alone: dict[str, list[Any]], **kwargs: Any
) -> tuple[list[tuple[Any, ...]], dict[str, list[list[str]]]]:
    """Scripts run with batches (through both clients, which must agree) and without
    (``alone``: the same answers, less those to the batches): the hub must record the
    same each time. What it recorded (every message), and the messages of each request
    to each node, with batches."""
    ids = list(net.payloads)
    recorded = []
    requests = []
    for batch in (False, True):
        for lean in (True, False):
            _reset(net, batched if batch else alone)
            _step(net, lean, batch=batch, **kwargs)
            recorded.append(_recorded(net, ids))
            requests.append(_requests(net))
            for code, fake in net.fakes.items():
                assert fake.script == [], (code, fake.script)  # every answer was asked for
                if not batch:
                    assert all(len(m) == 1 for m in _sent(fake)), code
    assert requests[0] == requests[1] and requests[2] == requests[3]
    assert recorded[0] == recorded[1] == recorded[2] == recorded[3]
    return recorded[3], {code: _sent(fake) for code, fake in net.fakes.items()}


def test_the_messages_waiting_for_a_node_go_in_one_request(network: Network) -> None:
    ids = _messages(network, 5)
    _rows, sent = _batched_and_not(network, {}, {})
    assert _all_done(network)
    # one request per node, every message in it, in the order they were sent: each
    # delivery as the hub stored it
    assert sent == {code: [ids] for code in NODES}
    for fake in network.fakes.values():
        doc = json.loads(fake.seen[0].body)
        assert doc == {"deliveries": [json.loads(network.payloads[m]) for m in ids]}
    assert network.servers.sender_seen == []
    # without batches: one request per message
    _reset(network, {})
    _step(network, lean=True, batch=False)
    assert {code: _sent(fake) for code, fake in network.fakes.items()} == {
        code: [[m] for m in ids] for code in NODES
    }
    assert _all_done(network)


def test_a_batch_to_a_node_under_a_path_prefix(network: Network) -> None:
    """A node's URL with a path: the batch is posted (and signed) under it, the same
    through both clients."""
    ids = _messages(network, 3)
    by = network.fakes["BY"]
    network.hub.register("BY", by.node.key.verifier_key, f"http://127.0.0.1:{by.port}/csbm/",
                         by.node.key.fingerprint, T0)  # fmt: skip
    _rows, requests = _both(network, {})
    assert _all_done(network)
    assert [(r[0], r[1]) for r in requests["BY"]] == [("POST", "/csbm/api/v1/inbox")]
    assert [r[1] for r in requests["PL"]] == ["/api/v1/inbox"]
    assert _sent(by) == [ids]
    # the signature covers the path: not the same request as to a node without one
    assert requests["BY"][0][3] == requests["PL"][0][3]
    assert requests["BY"][0][2]["csbm-signature"] != requests["PL"][0][2]["csbm-signature"]


def _tampered(payload: str) -> str:
    """A delivery whose inclusion proof does not hold (a node refuses it)."""
    doc = json.loads(payload)
    doc["leaf_index"] += 1
    return json.dumps(doc)


def test_a_node_that_refuses_a_batch_gets_its_messages_one_by_one(network: Network) -> None:
    """An older node (no ``deliveries`` member in its deliveries), a request refused
    (422), the first delivery refused (400), a server error: the messages go one by
    one, as without batches, each with its own outcome."""
    ids = _messages(network, 4)
    scripts: dict[str, list[Any]] = {"BY": ["old"], "PL": [("status", 422)], "EE": ["refuse"],
                                     "LV": ["bare500"]}  # fmt: skip
    _rows, sent = _batched_and_not(network, scripts, {})
    assert _all_done(network)
    assert sent == {code: [ids] + [[m] for m in ids] for code in NODES}


def test_a_refusal_of_a_batch_that_stays_is_recorded_as_without_batches(
    network: Network,
) -> None:
    ids = _messages(network, 3)
    batched: dict[str, list[Any]] = {"BY": ["refuse"] * 4, "EE": ["bare500"],
                                     "PL": ["refuse", "bare500", "ok", "notjson"]}  # fmt: skip
    alone: dict[str, list[Any]] = {"BY": ["refuse"] * 3, "PL": ["bare500", "ok", "notjson"]}
    rows, sent = _batched_and_not(network, batched, alone)
    outcomes = _outcomes(network)
    refused = "envelope.unknown_key: key_id: no such key (got 'x')"
    assert [outcomes["BY", m][:3] for m in ids] == [("pending", 1, refused)] * 3
    assert [r[6] for r in _by_node(rows)["BY"]] == ["2026-03-01T09:05:00.250Z"] * 3
    assert [outcomes["PL", m][:2] for m in ids] == [("pending", 1), ("done", 1),
                                                    ("pending", 1)]  # fmt: skip
    assert outcomes["PL", ids[0]][2].endswith("HTTP 500")
    assert outcomes["PL", ids[2]][2].endswith("the answer is not JSON")
    assert outcomes["PL", ids[1]][3] == _issued(network, "PL", ids[1])
    assert [outcomes["EE", m][:3] for m in ids] == [("done", 1, None)] * 3
    assert {code: sent[code] for code in ("BY", "PL", "EE")} == {
        code: [ids] + [[m] for m in ids] for code in ("BY", "PL", "EE")
    }
    assert sent["LV"] == [ids]


def test_a_batch_refused_as_a_stale_view(network: Network) -> None:
    """The first delivery of a batch refused as a stale view: one by one, each proved
    again from the sender's node when the node says so, all done in the step."""
    ids = _messages(network, 3)
    _reset(network, {"EE": [("stale", 1), ("stale", 1)]})
    _step(network, lean=True)
    assert _all_done(network)
    sent = {code: _sent(fake) for code, fake in network.fakes.items()}
    assert sent["EE"][:3] == [ids, [ids[0]], [ids[0]]]  # the batch, the stored, the fresh
    # the others alone (the node may find them stale in turn: it saw the fresh one)
    assert all(len(request) == 1 for request in sent["EE"][3:])
    assert list(dict.fromkeys(m for request in sent["EE"][3:] for m in request)) == ids[1:]
    assert {code: sent[code] for code in ("BY", "PL", "LV")} == {
        code: [ids] for code in ("BY", "PL", "LV")
    }
    fetched = [s.path for s in network.servers.sender_seen]
    assert fetched[0] == f"/api/v1/log/deliveries/{ids[0]}?from=1"
    rows = {r[0]: r for r in _recorded(network)}  # the first message's
    assert json.loads(rows["EE"][7])["consistency_from"] == 1
    assert rows["BY"][7] == network.payload


def test_a_delivery_the_node_refuses_in_a_batch(network: Network) -> None:
    """The node accepts the first two, refuses the third (200: two receipts and
    ``refused``): the two are done, the others go one by one -- the third refused again,
    the last ones received -- as without batches."""
    ids = _messages(network, 5)
    network.payloads[ids[2]] = _tampered(network.payloads[ids[2]])
    _rows, sent = _batched_and_not(network, {}, {})
    assert sent == {code: [ids, [ids[2]], [ids[3]], [ids[4]]] for code in NODES}
    outcomes = _outcomes(network)
    for code in NODES:
        for m in ids[:2] + ids[3:]:
            assert outcomes[code, m] == ("done", 1, None, _issued(network, code, m))
        status, attempts, error, receipt = outcomes[code, ids[2]]
        assert (status, attempts, receipt) == ("pending", 1, None)
        assert error.startswith("delivery."), error
        assert network.fakes[code].node.issued_receipt(ids[2]) is None


def test_a_batch_accepted_in_part_then_one_by_one(network: Network) -> None:
    ids = _messages(network, 5)
    batched: dict[str, list[Any]] = {
        "BY": [("partial", 2)], "PL": [("partial", 1), "refuse", "ok", "bare500"],
        "EE": [("partial", 4)], "LV": [("partial", 3), "close"],
    }  # fmt: skip
    alone: dict[str, list[Any]] = {"PL": ["ok", "refuse", "ok", "bare500"],
                                   "LV": ["ok", "ok", "ok", "close"]}  # fmt: skip
    _rows, sent = _batched_and_not(network, batched, alone)
    assert sent["BY"] == [ids, [ids[2]], [ids[3]], [ids[4]]]
    assert sent["PL"] == [ids, [ids[1]], [ids[2]], [ids[3]], [ids[4]]]
    assert sent["EE"] == [ids, [ids[4]]]
    assert sent["LV"] == [ids, [ids[3]], [ids[4]]]
    outcomes = _outcomes(network)
    pending = {key: value for key, value in outcomes.items() if value[0] != "done"}
    port = network.fakes["LV"].port
    assert pending == {
        ("PL", ids[1]): ("pending", 1, "envelope.unknown_key: key_id: no such key (got 'x')",
                         None),
        ("PL", ids[3]): ("pending", 1,
                         f"http.500: http://127.0.0.1:{network.fakes['PL'].port}/api/v1/inbox: "
                         "HTTP 500", None),
        ("LV", ids[3]): ("pending", 1, f"peer.unreachable: http://127.0.0.1:{port}: cannot "
                         "reach the node: RemoteProtocolError", None),
    }  # fmt: skip
    for (code, m), outcome in outcomes.items():
        if (code, m) not in pending:
            assert outcome == ("done", 1, None, _issued(network, code, m))


def _lie(change: Callable[[dict[str, Any]], Any]) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """The node receives the batch, then answers ``change(its true answer)``."""
    return ("lie", change)


def _forged(doc: dict[str, Any]) -> str:
    """A receipt of the node's, its body changed (the signature no longer holds)."""
    receipt = json.loads(base64.b64decode(doc["receipt"]))
    receipt["message"]["body"]["log_index"] += 1
    raw = json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(raw.encode()).decode("ascii")


def _swap(index: int, member: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(answer: dict[str, Any]) -> Any:
        answer["receipts"][index][member] = value(answer) if callable(value) else value
        return answer

    return change


def _lying(network: Network, batched: dict[str, list[Any]], alone: dict[str, list[Any]],
           trusted: dict[str, int]) -> None:  # fmt: skip
    """Each node lies in its answer to the batch: the rows it acknowledged before the
    lie (``trusted``: how many) are done, the rest go one by one, as without batches;
    no row is done without its node's own receipt."""
    ids = list(network.payloads)
    _rows, sent = _batched_and_not(network, batched, alone)
    for code, first in trusted.items():
        assert sent[code] == [ids] + [[m] for m in ids[first:]], code
    for (code, m), outcome in _outcomes(network).items():
        if outcome[0] == "done":
            assert outcome == ("done", 1, None, _issued(network, code, m))
        else:
            assert outcome[3] is None


def test_a_lying_answer_to_a_batch_is_not_believed(network: Network) -> None:
    ids = _messages(network, 3)
    directory = network.hub.directory_of_keys()
    by_row = {r.destination: r for r in network.hub.relay_rows(ids[0])}
    batched: dict[str, list[Any]] = {
        # the receipt for the first message again, for the second
        "BY": [_lie(_swap(1, "receipt", lambda a: a["receipts"][0]["receipt"]))],
        # a forged receipt for the first
        "PL": [_lie(_swap(0, "receipt", lambda a: _forged(a["receipts"][0])))],
        # fewer receipts than messages, nothing said of the others
        "EE": [_lie(lambda a: {"receipts": a["receipts"][:1]})],
        # not base64
        "LV": [_lie(_swap(1, "receipt", "@@ not base64 @@"))],
    }
    _lying(network, batched, {}, {"BY": 1, "PL": 0, "EE": 1, "LV": 1})
    assert _all_done(network)
    # the forgery is one: the node's own receipt, changed, no longer verifies
    true = _issued(network, "PL", ids[0])
    forged = base64.b64decode(_forged({"receipt": base64.b64encode(true).decode()}))
    with pytest.raises(CsbmError) as refused:
        network.hub.check_receipt_for(by_row["PL"].id, "PL", ids[0], forged, directory)
    assert refused.value.code == "envelope.bad_signature"
    network.hub.check_receipt_for(by_row["PL"].id, "PL", ids[0], true, directory)


def test_a_malformed_answer_to_a_batch_is_not_believed(network: Network) -> None:
    _messages(network, 3)
    batched: dict[str, list[Any]] = {
        "BY": [_lie(lambda a: {"receipts": dict(enumerate(a["receipts"]))})],  # no list
        "PL": [_lie(_swap(2, "receipt", 5))],  # not a string
        "EE": [_lie(lambda a: {"receipts": [r["receipt"] for r in a["receipts"]]})],
        "LV": ["otherreceipt"],  # another node's receipts (BY's, for these messages)
    }
    _lying(network, batched, {}, {"BY": 0, "PL": 2, "EE": 0, "LV": 0})
    assert _all_done(network)
    batched = {"BY": ["notjson"], "PL": ["array"], "EE": ["noreceipt"],
               "LV": [_lie(lambda a: {"receipts": [], "refused": {"index": 0}})]}  # fmt: skip
    _lying(network, batched, {}, dict.fromkeys(NODES, 0))
    assert _all_done(network)


def test_a_lie_told_again_alone_leaves_the_row_to_retry(network: Network) -> None:
    """The row lied about in the batch, lied about again alone (the node's receipt,
    forged): not done, retried with the reason, as without batches; the others done."""
    ids = _messages(network, 3)
    forged_alone = _lie(lambda a: {**a, "receipt": _forged(a)})
    batched: dict[str, list[Any]] = {
        "BY": [_lie(_swap(1, "receipt", lambda a: a["receipts"][0]["receipt"])),
               forged_alone],
        "PL": [_lie(_swap(0, "receipt", lambda a: _forged(a["receipts"][0]))), forged_alone],
    }  # fmt: skip
    alone: dict[str, list[Any]] = {"BY": ["ok", forged_alone], "PL": [forged_alone]}
    _lying(network, batched, alone, {"BY": 1, "PL": 0})
    pending = {k: v for k, v in _outcomes(network).items() if v[0] != "done"}
    assert set(pending) == {("BY", ids[1]), ("PL", ids[0])}
    for outcome in pending.values():
        assert outcome[:2] == ("pending", 1)
        assert outcome[2] == "envelope.bad_signature: signature: the signature does not verify"


def test_a_batch_cut_off_on_the_way_is_retried_after_its_backoff(network: Network) -> None:
    """The connection dropped on the batch, or its answer too slow: no answer at all, as
    from a node that is down: every message of the batch retried after its backoff, with
    the reason (not one by one at once, each waiting for the same timeout again); then
    all in one batch."""
    ids = _messages(network, 3)
    for lean in (True, False):
        _reset(network, {"BY": ["close"], "PL": ["slow"]})
        _step(network, lean, timeout=0.5)
        outcomes = _outcomes(network)
        for code in ("BY", "PL"):
            assert _sent(network.fakes[code]) == [ids], code  # the batch, nothing alone
            for m in ids:
                status, attempts, error, receipt = outcomes[(code, m)]
                assert (status, attempts, receipt) == ("pending", 1, None), (code, m)
                assert error is not None and error.startswith("peer.unreachable"), error
        for (code, m), outcome in outcomes.items():
            if code not in ("BY", "PL"):
                assert outcome == ("done", 1, None, _issued(network, code, m))
        for fake in network.fakes.values():
            fake.seen.clear()
        _step(network, lean, timeout=0.5, at=AT + timedelta(seconds=1))
        assert _sent(network.fakes["BY"]) == [ids] and _sent(network.fakes["PL"]) == [ids]
        for (code, m), outcome in _outcomes(network).items():
            attempts = 2 if code in ("BY", "PL") else 1
            assert outcome == ("done", attempts, None, _issued(network, code, m)), (code, m)


def test_a_node_down_keeps_its_messages_until_it_is_back(network: Network) -> None:
    """A node down: each of its messages tried, the attempt recorded, retried after the
    backoff; nothing lost: all in one batch once it is back. A node no longer
    registered: its messages refused, none sent."""
    ids = _messages(network, 3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]  # closed again: nothing listens there
    by = network.fakes["BY"]
    assert network.hub.unregister("PL")
    outcomes = []
    for lean in (True, False):
        _reset(network, {})
        network.hub.register("BY", by.node.key.verifier_key, f"http://127.0.0.1:{dead}",
                             by.node.key.fingerprint, T0)  # fmt: skip
        _step(network, lean)
        first = {k: v for k, v in _outcomes(network).items() if k[0] in ("BY", "PL")}
        due = [r[6] for r in _recorded(network, ids) if r[0] == "BY"]
        _step(network, lean, at=AT + timedelta(milliseconds=300))
        second = {k: v for k, v in _outcomes(network).items() if k[0] == "BY"}
        due += [r[6] for r in _recorded(network, ids) if r[0] == "BY"]
        network.hub.register("BY", by.node.key.verifier_key, f"http://127.0.0.1:{by.port}",
                             by.node.key.fingerprint, T0)  # fmt: skip
        _step(network, lean, at=AT + timedelta(seconds=1))
        outcomes.append((first, second, due, _recorded(network, ids), _sent(by),
                         _sent(network.fakes["PL"])))  # fmt: skip
    assert outcomes[0] == outcomes[1]
    first, second, due, rows, sent_by, sent_pl = outcomes[0]
    down = f"peer.unreachable: http://127.0.0.1:{dead}: cannot reach the node: ConnectError"
    assert first == {
        **{("BY", m): ("pending", 1, down, None) for m in ids},
        **{("PL", m): ("refused", 0, "the node is no longer registered", None) for m in ids},
    }
    assert second == {("BY", m): ("pending", 2, down, None) for m in ids}
    # base x 2^attempts, no jitter: 0.25 s after the first, 0.5 s after the second
    assert due == ["2026-03-01T09:05:00.250Z"] * 3 + ["2026-03-01T09:05:00.800Z"] * 3
    assert sent_by == [ids] and sent_pl == []
    assert [r[1:4] for r in rows if r[0] == "BY"] == [("done", 3, None)] * 3
    assert [r[4] for r in rows if r[0] == "BY"] == [_issued(network, "BY", m) for m in ids]
    assert all(r[1:4] == ("done", 1, None) for r in rows if r[0] in ("EE", "LV"))


def test_more_messages_than_a_batch_holds(network: Network) -> None:
    """More messages waiting for a node than one request carries: requests of at most
    MAX_BATCH, in order, every message done."""
    for code in ("PL", "EE", "LV"):  # one node (the hub takes 100 rows per step)
        assert network.hub.unregister(code)
    for count in (MAX_BATCH + 1, MAX_BATCH + 3):
        ids = _messages(network, count)
        outcomes = []
        for lean in (True, False):
            _reset(network, {})
            _step(network, lean)
            outcomes.append((_recorded(network, ids), _requests(network)))
        assert outcomes[0] == outcomes[1]
        # the one left over alone, or the three in a batch of their own
        assert _sent(network.fakes["BY"]) == (
            [ids[:MAX_BATCH], [ids[MAX_BATCH]]] if count == MAX_BATCH + 1
            else [ids[:MAX_BATCH], ids[MAX_BATCH:]]
        )  # fmt: skip
        rows = [r for r in outcomes[0][0] if r[0] == "BY"]
        assert [r[1:4] for r in rows] == [("done", 1, None)] * count
        assert [r[4] for r in rows] == [_issued(network, "BY", m) for m in ids]
