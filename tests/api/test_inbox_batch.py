"""Several deliveries in one inbox request (``{"deliveries": [...]}``) through the API
(in-process app, real SQLite logs): the receipts in order, a refusal after some were
accepted named in the answer, the first one refused answered as alone, and every
refusal of the whole request as problem+json with nothing stored."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from csbm.api import Settings, create_app
from csbm.exchange.wire import MAX_BATCH, delivery_to_json, sign_request
from csbm.hub import HUB, HUB_KEY_NAME
from csbm.ledger.envelope import parse_envelope
from csbm.ledger.keys import StateKey, stamp
from csbm.node import Node
from csbm.store.outbox import PeerRecord
from tests.api.conftest import T0, registered

PROBLEM = "application/problem+json"
INBOX = "/api/v1/inbox"
NOW = T0 + timedelta(hours=1)


@pytest.fixture
def hub_key(nodes: dict[str, Node]) -> StateKey:
    """The hub's request-signing key, pinned by BY (as ``csbm peers add hub`` does)."""
    key = StateKey(HUB, HUB_KEY_NAME, Ed25519PrivateKey.generate())
    nodes["BY"].put_peer(PeerRecord(HUB, "http://127.0.0.1:9", key.name, key.public_key,
                                    key.fingerprint, stamp(T0)))  # fmt: skip
    return key


@pytest.fixture
def by_api(nodes: dict[str, Node], hub_key: StateKey) -> Iterator[TestClient]:
    app = create_app(Settings(data=nodes["BY"].directory, worker=False), clock=lambda: NOW)
    with TestClient(app) as client:
        yield client


def _message(node: Node, to: str = "BY", at: datetime = T0, case: str = "c1") -> str:
    payload = {"kind": "ch3.request", "case": case, "body": {}}
    return node.append_message(payload, [to], at).message_id


def _post(client: TestClient, doc: Any, key: StateKey, signer: str, at: datetime = NOW) -> Any:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    headers = sign_request(key, signer, "POST", INBOX, body, at)
    headers["content-type"] = "application/json"
    with structlog.testing.capture_logs() as logs:
        response = client.post(INBOX, content=body, headers=headers)
    response.logs = logs
    return response


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert doc["status"] == status and doc["code"] == code, doc
    assert doc["title"] and doc["detail"] and doc["problems"]
    for problem in doc["problems"]:
        assert problem["path"] and problem["reason"], problem
    return doc  # type: ignore[no-any-return]


def _chain(sender: Node, ids: list[str]) -> list[dict[str, Any]]:
    """Deliveries of ``ids`` to BY, each proving from the checkpoint of the one before."""
    out: list[dict[str, Any]] = []
    seen = 0
    for mid in ids:
        delivery = sender.delivery_for(mid, seen, NOW)
        seen = int(delivery.checkpoint.split("\n")[1])
        out.append(delivery_to_json(delivery))
    return out


def test_a_batch_from_the_hub_gets_the_receipts_in_order(
    nodes: dict[str, Node], by_api: TestClient, hub_key: StateKey
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    ids = [_message(lt, "all", case=f"c{n}") for n in range(3)]
    docs = [delivery_to_json(lt.delivery_to_all(mid, NOW)) for mid in ids]
    response = _post(by_api, {"deliveries": docs}, hub_key, HUB)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert set(answer) == {"receipts"}
    assert [r["message_id"] for r in answer["receipts"]] == ids
    for item, doc in zip(answer["receipts"], docs, strict=True):
        logged = by.store.entry(item["log_index"])
        assert logged.envelope == base64.b64decode(doc["envelope"])
        receipt = parse_envelope(base64.b64decode(item["receipt"]))
        assert receipt.sender == "BY" and receipt.body["log_index"] == item["log_index"]
        assert by.store.entry(item["log_index"] + 1).envelope == receipt.raw
        assert lt.record_receipt(receipt.raw) > 0  # the sender takes it
    (line,) = response.logs  # one line for the batch, the message ids in order
    assert line["event"] == "received" and line["log_level"] == "info"
    assert line["message_ids"] == ids and line["senders"] == ["LT"] * 3 and line["via"] == HUB
    held = by.store.last_checkpoint(lt.origin)
    assert held is not None and held.note == docs[-1]["checkpoint"]
    # the same batch again: the same receipts, nothing written
    size = by.size()
    again = _post(by_api, {"deliveries": docs}, hub_key, HUB)
    assert again.status_code == 200 and again.json() == answer
    assert by.size() == size


def test_a_refusal_after_some_were_accepted_is_named_in_the_answer(
    nodes: dict[str, Node], by_api: TestClient
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    first, stray, last = _message(lt), _message(lt, "PL"), _message(lt)
    docs = _chain(lt, [first, stray, last])
    size = by.size()
    response = _post(by_api, {"deliveries": docs}, lt.key, "LT")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["message_id"] for r in answer["receipts"]] == [first]
    refused = answer["refused"]
    assert refused["index"] == 1 and refused["code"] == "delivery.not_addressed"
    assert "BY" in refused["detail"]
    assert by.size() == size + 2
    assert by.entry_by_message_id(stray) is None and by.entry_by_message_id(last) is None
    assert [(e["event"], e["log_level"]) for e in response.logs] == [
        ("received", "info"), ("refused", "warning")
    ]  # fmt: skip
    assert response.logs[0]["message_ids"] == [first]
    assert response.logs[1]["code"] == "delivery.not_addressed" and response.logs[1]["index"] == 1


def test_a_batch_ended_by_a_rotation_answers_the_receipts_without_a_refusal(
    nodes: dict[str, Node], by_api: TestClient
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    old = lt.key
    first = _message(lt)
    d0 = lt.delivery_for(first, 0, NOW)
    _new, rotation = lt.rotate(NOW - timedelta(minutes=30))
    statement = lt.store.entry(rotation.index).envelope
    d_rot = lt.delivery(statement, rotation.index, int(d0.checkpoint.split("\n")[1]), NOW)
    after = _message(lt, at=NOW - timedelta(minutes=20))
    d1 = lt.delivery_for(after, int(d_rot.checkpoint.split("\n")[1]), NOW)
    docs = [delivery_to_json(d) for d in (d0, d_rot, d1)]
    response = _post(by_api, {"deliveries": docs}, old, "LT")  # BY knows only the old key
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "refused" not in answer
    assert [r["message_id"] for r in answer["receipts"]] == [
        first, parse_envelope(statement).message_id
    ]  # fmt: skip
    assert by.entry_by_message_id(after) is None
    # the rest, sent again (now under the new key), is accepted
    again = _post(by_api, {"deliveries": docs[2:]}, lt.key, "LT")
    assert again.status_code == 200, again.text
    assert [r["message_id"] for r in again.json()["receipts"]] == [after]


def test_the_first_refused_is_answered_as_alone(nodes: dict[str, Node], by_api: TestClient) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    stray, good = _message(lt, "PL"), _message(lt)
    docs = _chain(lt, [stray, good])
    size = by.size()
    batch = _post(by_api, {"deliveries": docs}, lt.key, "LT")
    alone = _post(by_api, docs[0], lt.key, "LT")
    doc = _problem(batch, 400, "delivery.not_addressed")
    assert batch.content == alone.content
    assert batch.status_code == alone.status_code
    assert batch.headers["content-type"] == alone.headers["content-type"]
    assert doc["problems"][0]["path"] == "recipients" and doc["problems"][0]["value"] == "PL"
    assert [e["event"] for e in batch.logs] == [e["event"] for e in alone.logs] == ["refused"]
    assert by.size() == size and by.entry_by_message_id(good) is None


Case = tuple[str, Any, StateKey, str, int, str, str, Any]


def _cases(nodes: dict[str, Node], hub_key: StateKey) -> tuple[dict[str, Any], list[Case]]:
    """A good delivery, and requests with it refused whole: (name, body, key, signer,
    status, code, path, value)."""
    lt, pl = nodes["LT"], nodes["PL"]
    good = delivery_to_json(lt.delivery_for(_message(lt), 0, NOW))
    junk = {**good, "envelope": base64.b64encode(b"not an envelope").decode()}
    theirs = delivery_to_json(pl.delivery_for(_message(pl), 0, NOW))
    ahead = _message(lt, at=NOW + timedelta(minutes=10), case="ahead")
    future = delivery_to_json(lt.delivery_for(ahead, 0, NOW))
    to_all = delivery_to_json(lt.delivery_to_all(_message(lt, "all", case="all"), NOW))
    bad_envelope = {**good, "envelope": 1}
    return good, [
        ("empty", {"deliveries": []}, lt.key, "LT", 400, "csbm.input", "deliveries", 0),
        ("too many", {"deliveries": [good] * (MAX_BATCH + 1)}, lt.key, "LT", 400,
         "csbm.input", "deliveries", MAX_BATCH + 1),
        ("not a list", {"deliveries": good}, lt.key, "LT", 400, "csbm.input", "deliveries",
         None),
        ("unknown member", {"deliveries": [good], "envelope": good["envelope"]}, lt.key, "LT",
         400, "csbm.input", "envelope", None),
        ("malformed item", {"deliveries": [good, bad_envelope]}, lt.key, "LT", 400,
         "csbm.input", "deliveries[1].envelope", None),
        ("not an object", {"deliveries": [good, 5]}, lt.key, "LT", 400, "csbm.input",
         "deliveries[1]", None),
        ("unreadable envelope", {"deliveries": [good, junk]}, lt.key, "LT", 400,
         "envelope.malformed", "deliveries[1].envelope", None),
        ("another State's", {"deliveries": [good, theirs]}, lt.key, "LT", 403,
         "auth.forbidden", "deliveries[1].sender", "PL"),
        ("hub, not to all", {"deliveries": [to_all, good]}, hub_key, HUB, 403,
         "auth.forbidden", "deliveries[1].recipients", "hub"),
        ("created ahead", {"deliveries": [good, future]}, lt.key, "LT", 400,
         "delivery.clock_skew", "deliveries[1].created_at", None),
    ]  # fmt: skip


def test_a_bad_item_refuses_the_whole_request_and_stores_nothing(
    nodes: dict[str, Node], by_api: TestClient, hub_key: StateKey
) -> None:
    by = nodes["BY"]
    good, cases = _cases(nodes, hub_key)
    size, checkpoints = by.size(), by.store.checkpoints()
    for name, body, key, signer, status, code, path, value in cases:
        response = _post(by_api, body, key, signer)
        doc = _problem(response, status, code)
        first = doc["problems"][0]
        assert first["path"] == path, (name, doc)
        if value is not None:
            assert first.get("value") == value, (name, doc)
        if name == "created ahead":
            assert first["value"].startswith(stamp(NOW + timedelta(minutes=10))[:16])
        assert "receipts" not in doc
        assert [e["event"] for e in response.logs] == ["refused"], (name, response.logs)
    assert by.size() == size and by.store.checkpoints() == checkpoints
    # the good item alone is accepted: the refusals were the bad items'
    assert _post(by_api, {"deliveries": [good]}, nodes["LT"].key, "LT").status_code == 200


def test_an_unsigned_batch_is_refused(nodes: dict[str, Node], by_api: TestClient) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    doc = {"deliveries": [delivery_to_json(lt.delivery_for(_message(lt), 0, NOW))]}
    size = by.size()
    response = by_api.post(INBOX, json=doc)
    _problem(response, 401, "auth.unsigned")
    late = _post(by_api, doc, lt.key, "LT", NOW - timedelta(minutes=6))
    _problem(late, 401, "auth.clock_skew")
    assert by.size() == size


def test_a_hub_takes_several_messages_to_all_in_order(tmp_path: Path) -> None:
    """On a hub, a batch of messages to all: each accepted (stored and queued for every
    node) in order (202 ``accepted``); one the hub refuses after some were accepted is
    named (``refused``); the first one refused is answered as alone."""
    directory, made = registered(tmp_path, ("LT", "BY", "PL"))
    lt = made["LT"]
    app = create_app(Settings(data=directory, worker=False), clock=lambda: NOW)
    try:
        with TestClient(app) as client:
            site = client.app.state.site  # type: ignore[attr-defined]
            ids = [_message(lt, "all", case=f"a{n}") for n in range(2)]
            docs = [delivery_to_json(lt.delivery_to_all(mid, NOW)) for mid in ids]
            response = _post(client, {"deliveries": docs}, lt.key, "LT")
            assert response.status_code == 202, response.text
            answer = response.json()
            assert "refused" not in answer
            assert [a["message_id"] for a in answer["accepted"]] == ids
            for item in answer["accepted"]:
                assert sorted(item["relayed_to"]) == ["BY", "PL"]
            rows = site.relay_rows_of(ids)
            assert sorted((r.message_id, r.destination) for r in rows) == sorted(
                (m, s) for m in ids for s in ("BY", "PL")
            )
            # one not to all after one to all: the first accepted, the second named
            later = _message(lt, "all", case="a2")
            one = _message(lt, "BY", case="one")
            docs = [delivery_to_json(lt.delivery_for(m, 0, NOW)) for m in (later, one)]
            response = _post(client, {"deliveries": docs}, lt.key, "LT")
            assert response.status_code == 202, response.text
            answer = response.json()
            assert [a["message_id"] for a in answer["accepted"]] == [later]
            assert answer["refused"]["index"] == 1 and answer["refused"]["code"] == "hub.not_all"
            assert site.relay_rows_of([one]) == []
            # the first one refused: as alone, nothing queued
            last = _message(lt, "all", case="a3")
            docs = [delivery_to_json(lt.delivery_for(m, 0, NOW)) for m in (one, last)]
            batch = _post(client, {"deliveries": docs}, lt.key, "LT")
            alone = _post(client, docs[0], lt.key, "LT")
            _problem(batch, 400, "hub.not_all")
            assert batch.content == alone.content
            assert site.relay_rows_of([one, last]) == []
    finally:
        for node in made.values():
            node.close()


def test_the_inbox_documents_the_batch_form_in_openapi(by_api: TestClient) -> None:
    spec = by_api.get("/openapi.json")
    assert spec.status_code == 200
    body = spec.json()["paths"][INBOX]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True and schema["type"] == "object"
    assert '{"deliveries": [delivery, ...]}' in schema["description"]
    assert str(MAX_BATCH) in schema["description"] and "refused" in schema["description"]
