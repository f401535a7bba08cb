"""The hub's fan-out (issue 11, item 9): its lean client (one event loop, kept-alive
connections, the delivery's body and signature made once for every node) against the
plain path it replaces (each POST by httpx, :meth:`HttpClient.post_delivery`).

Each node here is a scriptable HTTP/1.1 server in front of a real node (its receipts are
the node's own; a duplicate gets the receipt signed the first time): it answers each
request as its script says -- a receipt, a stale view, a refusal, garbage, a closed
connection, an answer too slow. The same scripts are run once through each path, and
the requests the nodes saw (method, path, signed headers, body) and what the hub
recorded (status, attempts, error, receipt, payload) must be the same."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from csbm.exchange import worker as worker_module
from csbm.exchange.fanout import target_of
from csbm.exchange.http import HttpClient, refusal_of
from csbm.exchange.wire import delivery_from_json, delivery_to_json, sign_request
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


def _ok(node: Node, body: bytes) -> tuple[int, bytes]:
    receipt = node.receive(delivery_from_json(json.loads(body)), AT)
    doc = {"message_id": receipt.body["message_id"], "log_index": receipt.body["log_index"],
           "receipt": base64.b64encode(receipt.raw).decode("ascii")}  # fmt: skip
    return 200, json.dumps(doc).encode()


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
        yield Network(tmp_path, hub, sender, fakes, servers, result.message_id, payload)
    finally:
        servers.stop()
        hub.close()
        sender.close()
        for fake in fakes.values():
            fake.node.close()


def _step(net: Network, lean: bool, timeout: float = 10.0, **kwargs: Any) -> HubFanOut:
    client = HttpClient(net.hub.key, "hub", timeout=timeout)
    fan = HubFanOut(net.hub, client, Backoff(jitter=0.0), lean=lean, **kwargs)
    try:
        fan(AT)
    finally:
        fan.close()
        client.close()
    return fan


def _recorded(net: Network) -> list[tuple[Any, ...]]:
    return [
        (r.destination, r.status, r.attempts, r.last_error, r.receipt, r.done_at,
         r.next_attempt_at, r.payload)
        for r in net.hub.relay_rows(net.message_id)
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
        txn.conn.exec_driver_sql(
            "UPDATE outbox SET status = 'pending', attempts = 0, last_error = NULL, "
            "receipt = NULL, done_at = NULL, next_attempt_at = ?, payload = ?",
            ("2026-03-01T09:04:55.000Z", net.payload),
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
