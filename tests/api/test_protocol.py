"""The node-to-node protocol through the API (in-process app, real SQLite logs): each
refusal with its reason as RFC 9457 problem+json and nothing stored; a duplicate gets the
original receipt back (issue 11, items 2, 4 and 5)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from csbm.api import Settings, create_app
from csbm.exchange.wire import delivery_to_json, sign_request
from csbm.ledger.keys import StateKey, generate_state_key
from csbm.node import Node, init_node
from tests.api.conftest import T0

PROBLEM = "application/problem+json"


class Clock:
    def __init__(self) -> None:
        self.at = T0 + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def by_api(nodes: dict[str, Node], clock: Clock) -> Iterator[TestClient]:
    app = create_app(Settings(data=nodes["BY"].directory, worker=False), clock=clock)
    with TestClient(app) as client:
        yield client


def _message(node: Node, to: str = "BY", at: datetime = T0) -> str:
    payload = {"kind": "ch3.request", "case": "c1", "body": {}}
    return node.append_message(payload, [to], at).message_id


def _post(
    client: TestClient,
    doc: Any,
    key: StateKey,
    signer: str,
    at: datetime,
    path: str = "/api/v1/inbox",
) -> Any:
    body = json.dumps(doc).encode()
    headers = sign_request(key, signer, "POST", path, body, at)
    headers["content-type"] = "application/json"
    return client.post(path, content=body, headers=headers)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc = response.json()
    assert doc["status"] == status and doc["code"] == code, doc
    assert doc["title"] and doc["detail"]
    return doc  # type: ignore[no-any-return]


def test_a_delivery_gets_a_signed_receipt_and_a_duplicate_the_same(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    mid = _message(lt)
    doc = delivery_to_json(lt.delivery_for(mid, 0, clock.at))
    first = _post(by_api, doc, lt.key, "LT", clock.at)
    assert first.status_code == 200, first.text
    size = by.size()
    again = _post(by_api, doc, lt.key, "LT", clock.at)
    assert again.json()["receipt"] == first.json()["receipt"]
    assert by.size() == size  # nothing changed
    assert lt.record_receipt(base64.b64decode(first.json()["receipt"])) > 0


def test_unsigned_unknown_and_stale_requests_are_refused(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    doc = delivery_to_json(lt.delivery_for(_message(lt), 0, clock.at))
    size = by.size()
    _problem(by_api.post("/api/v1/inbox", json=doc), 401, "auth.unsigned")
    stranger = generate_state_key("LT")
    _problem(_post(by_api, doc, stranger, "LT", clock.at), 401, "auth.unknown_key")
    late = clock.at - timedelta(minutes=6)
    _problem(_post(by_api, doc, lt.key, "LT", late), 401, "auth.clock_skew")
    body = json.dumps(doc).encode()
    headers = sign_request(lt.key, "LT", "POST", "/api/v1/inbox", b"{}", clock.at)
    bad = by_api.post("/api/v1/inbox", content=body, headers=headers)
    _problem(bad, 401, "auth.bad_signature")  # the body is not the one signed
    assert by.size() == size


def test_a_state_cannot_deliver_in_another_states_name(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock
) -> None:
    lt, pl, by = nodes["LT"], nodes["PL"], nodes["BY"]
    doc = delivery_to_json(lt.delivery_for(_message(lt), 0, clock.at))
    size = by.size()
    _problem(_post(by_api, doc, pl.key, "PL", clock.at), 403, "auth.forbidden")
    assert by.size() == size


def test_forged_misaddressed_and_future_envelopes_are_refused(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    size = by.size()
    doc = delivery_to_json(lt.delivery_for(_message(lt), 0, clock.at))
    raw = base64.b64decode(doc["envelope"])
    forged = raw.replace(b'"case":"c1"', b'"case":"c2"')
    assert forged != raw
    forged_doc = {**doc, "envelope": base64.b64encode(forged).decode()}
    _problem(_post(by_api, forged_doc, lt.key, "LT", clock.at), 400, "envelope.bad_signature")
    other = delivery_to_json(lt.delivery_for(_message(lt, to="PL"), 0, clock.at))
    _problem(_post(by_api, other, lt.key, "LT", clock.at), 400, "delivery.not_addressed")
    ahead = _message(lt, at=clock.at + timedelta(minutes=10))
    future = delivery_to_json(lt.delivery_for(ahead, 0, clock.at))
    _problem(_post(by_api, future, lt.key, "LT", clock.at), 400, "delivery.clock_skew")
    assert by.size() == size


def test_a_lost_receipt_is_a_stale_view_not_a_split_view(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    first = _message(lt)
    assert _post(by_api, delivery_to_json(lt.delivery_for(first, 0, clock.at)), lt.key, "LT",
                 clock.at).status_code == 200  # fmt: skip
    # the receipt is lost: LT still thinks BY saw nothing of its log
    second = _message(lt)
    doc = delivery_to_json(lt.delivery_for(second, 0, clock.at))
    refused = _problem(_post(by_api, doc, lt.key, "LT", clock.at), 400, "delivery.stale_view")
    seen = refused["problems"][0]["value"]
    assert isinstance(seen, int) and seen > 0
    assert by.store.split_view_evidence() == []
    retry = delivery_to_json(lt.delivery_for(second, seen, clock.at))
    assert _post(by_api, retry, lt.key, "LT", clock.at).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 422),
        (b"[]", 422),
        (b'{"envelope": 1}', 400),
        (b'{"envelope": "AA==", "checkpoint": "x", "leaf_index": -1, "inclusion": []}', 400),
        (b'{"envelope": "AA==", "checkpoint": "x", "leaf_index": 0, "inclusion": [], '
         b'"alternatives": {}}', 400),
        (b'{"envelope": "AA==", "checkpoint": "x", "leaf_index": 0, "inclusion": [], '
         b'"alternatives": [{"from": 1}]}', 400),
        (b'{"envelope": "AA==", "checkpoint": "x", "leaf_index": 0, "inclusion": [], '
         b'"alternatives": [{"from": -1, "proof": []}]}', 400),
        (b'{"envelope": "AA==", "checkpoint": "x", "leaf_index": 0, "inclusion": [], '
         b'"alternatives": [{"from": 1, "proof": ["AA=="]}]}', 400),
    ],
)
def test_malformed_deliveries_are_problems(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock, body: bytes, status: int
) -> None:
    headers = sign_request(nodes["LT"].key, "LT", "POST", "/api/v1/inbox", body, clock.at)
    headers["content-type"] = "application/json"
    response = by_api.post("/api/v1/inbox", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),  # no document
        (b"{}", None),  # no media type: not read as JSON (as FastAPI reads a JSON body)
        (b"{}", "text/plain"),
        (b"\xff\xfe", "application/json"),  # not UTF-8
    ],
)
def test_an_unreadable_inbox_request_is_422_problem(
    nodes: dict[str, Node], by_api: TestClient, clock: Clock, body: bytes, content_type: str | None
) -> None:
    by = nodes["BY"]
    size = by.size()
    headers = sign_request(nodes["LT"].key, "LT", "POST", "/api/v1/inbox", body, clock.at)
    if content_type is not None:
        headers["content-type"] = content_type
    _problem(by_api.post("/api/v1/inbox", content=body, headers=headers), 422,
             "request.invalid")  # fmt: skip
    assert by.size() == size


def test_the_signature_is_checked_before_the_body_is_read(by_api: TestClient) -> None:
    # an unsigned request is refused as unsigned, whatever its body (nothing is parsed)
    response = by_api.post(
        "/api/v1/inbox", content=b"not json", headers={"content-type": "application/json"}
    )
    _problem(response, 401, "auth.unsigned")


def test_the_inbox_documents_its_body_in_openapi(by_api: TestClient) -> None:
    operation = by_api.get("/openapi.json").json()["paths"]["/api/v1/inbox"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["type"] == "object"
    assert {"401", "403", "400", "422"} <= set(operation["responses"])


def test_a_hub_sees_a_node_registered_after_it_read_its_keys(tmp_path: Path) -> None:
    from csbm.hub import init_hub

    hub = init_hub(T0, tmp_path / "hub")
    node = init_node("EE", T0, data=tmp_path / "EE")
    try:
        assert hub.directory_of_keys().get("EE", node.key.key_id) is None
        hub.register("EE", node.key.verifier_key, "http://127.0.0.1:9", node.key.fingerprint, T0)
        assert hub.directory_of_keys().get("EE", node.key.key_id) is not None
    finally:
        node.close()
        hub.close()


def test_openapi_well_known_and_unknown_paths(by_api: TestClient, nodes: dict[str, Node]) -> None:
    spec = by_api.get("/openapi.json").json()
    assert "/api/v1/inbox" in spec["paths"] and "/api/v1/messages" in spec["paths"]
    me = by_api.get("/.well-known/csbm").json()
    assert me["state"] == "BY" and me["fingerprint"] == nodes["BY"].key.fingerprint
    _problem(by_api.get("/nope"), 404, "http.404")
    _problem(by_api.get("/api/v1/status"), 401, "auth.unauthenticated")
    _problem(by_api.post("/api/v1/messages", json={}), 401, "auth.unauthenticated")
    _problem(by_api.get("/api/v1/peers"), 401, "auth.unauthenticated")


def _token(node: Node, name: str, role: str) -> dict[str, str]:
    from csbm.accounts.policy import parse_role
    from csbm.services.users import add_user

    added = add_user(node, name, parse_role(role), T0, "test", token=True)
    assert added.token is not None
    return {"authorization": f"Bearer {added.token}"}


def test_only_a_signing_officer_sends_and_the_message_is_queued(
    nodes: dict[str, Node], by_api: TestClient
) -> None:
    from csbm.store.outbox import PeerRecord

    by, lt = nodes["BY"], nodes["LT"]
    by.put_peer(PeerRecord("LT", "http://127.0.0.1:9", lt.key.name, lt.key.public_key,
                           lt.key.fingerprint, "2026-03-01T09:00:00Z"))  # fmt: skip
    message = {"type": "ch3.request", "to": "LT", "case": "api-1", "body": {}}
    size = by.size()
    for role in ("reader", "drafter", "admin", "auditor"):
        refused = by_api.post("/api/v1/messages", json=message, headers=_token(by, role, role))
        _problem(refused, 403, "auth.forbidden")
    assert by.size() == size
    officer = _token(by, "officer", "signing_officer")
    bad = by_api.post("/api/v1/messages", json={**message, "to": "PL"}, headers=officer)
    _problem(bad, 400, "peer.unknown")  # no peer PL: nothing logged
    invalid = by_api.post("/api/v1/messages", json={**message, "type": "nope"}, headers=officer)
    _problem(invalid, 400, "message.invalid")
    assert by.size() == size
    sent = by_api.post("/api/v1/messages", json=message, headers=officer)
    assert sent.status_code == 201, sent.text
    mid = sent.json()["message_id"]
    assert [r.destination for r in by.outbox_rows(mid)] == ["LT"]
    status = by_api.get("/api/v1/status", headers=_token(by, "r2", "reader")).json()
    (row,) = [m for m in status["sent"] if m["message_id"] == mid]
    assert row["waiting_for"] == ["LT"] and status["outbox_depth"] == 1


def test_a_delivery_with_alternative_proofs_travels_whole() -> None:
    """The wire form of a delivery to all keeps its alternative consistency proofs."""
    from csbm.exchange.wire import delivery_from_json
    from csbm.ledger.receipt import Delivery

    delivery = Delivery(b"env", "note", (b"\1" * 32,), 3, (b"\2" * 32,), 2,
                        ((1, (b"\3" * 32, b"\4" * 32)), (5, ())))  # fmt: skip
    doc = json.loads(json.dumps(delivery_to_json(delivery)))
    assert doc["alternatives"][0]["from"] == 1
    back = delivery_from_json(doc)
    assert back == replace(delivery, inclusion=tuple(delivery.inclusion),
                           consistency=tuple(delivery.consistency))  # fmt: skip
    assert back.from_size(5).consistency == () and back.from_size(5).consistency_from == 5
    assert back.from_size(1).consistency == (b"\3" * 32, b"\4" * 32)
    assert back.from_size(7) is back
    assert "alternatives" not in delivery_to_json(replace(delivery, alternatives=()))
