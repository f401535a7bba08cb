"""The inbox's lean path (:meth:`csbm.api.app.App.inbox`) against the plain path it
replaces (the FastAPI route, through the framework's middleware): every answer --
receipt, duplicate, each refusal, unreadable bodies, a bug -- the same status, headers
and bytes, the same log lines, and the same exception raised to the server on a bug."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from csbm.api import Settings, create_app
from csbm.exchange.wire import delivery_to_json, sign_request
from csbm.ledger.keys import StateKey, generate_state_key
from csbm.node import Node
from tests.api.conftest import T0, registered

NOW = T0 + timedelta(hours=1)
INBOX = "/api/v1/inbox"


def _signed(
    doc: Any, key: StateKey, signer: str, at: datetime = NOW
) -> tuple[bytes, dict[str, str]]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    headers = sign_request(key, signer, "POST", INBOX, body, at)
    headers["content-type"] = "application/json"
    return body, headers


def _answer(client: TestClient, lean: bool, body: bytes, headers: dict[str, str]) -> Any:
    app = client.app
    assert app._inbox_pool is not None  # type: ignore[attr-defined]  # the lifespan ran
    app.lean_inbox = lean  # type: ignore[attr-defined]
    try:
        with structlog.testing.capture_logs() as logs:
            response = client.post(INBOX, content=body, headers=headers)
    finally:
        app.lean_inbox = True  # type: ignore[attr-defined]
    kept = {k: v for k, v in response.headers.items() if k not in ("date",)}
    return response.status_code, kept, response.content, logs


def _same(client: TestClient, body: bytes, headers: dict[str, str], lean_first: bool) -> Any:
    first = _answer(client, lean_first, body, headers)
    second = _answer(client, not lean_first, body, headers)
    assert first == second
    return first


def test_every_answer_of_the_lean_inbox_is_the_routes(nodes: dict[str, Node]) -> None:
    lt, pl, by = nodes["LT"], nodes["PL"], nodes["BY"]
    app = create_app(Settings(data=by.directory, worker=False), clock=lambda: NOW)
    cases: list[tuple[bytes, dict[str, str]]] = []
    with TestClient(app) as client:
        # receipts: a new message, then the same (a duplicate) by the other path
        for n in range(4):
            mid = lt.append_message({"kind": "ch3.request", "case": f"c{n}", "body": {}},
                                    ["BY"], T0).message_id  # fmt: skip
            seen = by.store.last_checkpoint(lt.origin)
            doc = delivery_to_json(lt.delivery_for(mid, 0 if seen is None else seen.size, NOW))
            status, _h, content, logs = _same(client, *_signed(doc, lt.key, "LT"), n % 2 == 0)
            assert status == 200 and b'"receipt"' in content
            assert [e["event"] for e in logs] == ["received"]
        doc = delivery_to_json(lt.delivery_for(mid, 0, NOW))
        size = by.size()
        cases += [
            _signed(doc, lt.key, "LT"),  # the last one again: its receipt (200)
            _signed(doc, generate_state_key("LT"), "LT"),  # unknown key (401)
            _signed(doc, lt.key, "LT", NOW - timedelta(minutes=6)),  # clock skew (401)
            (json.dumps(doc).encode(), {"content-type": "application/json"}),  # unsigned
            _signed(doc, pl.key, "PL"),  # another State's message (403)
            _signed(b"not json", lt.key, "LT"),  # 422
            _signed(b"[]", lt.key, "LT"),
            _signed(b"", lt.key, "LT"),
            _signed(b"\xff\xfe", lt.key, "LT"),
            _signed(b'{"envelope": 1}', lt.key, "LT"),  # 400
        ]
        other = lt.append_message({"kind": "ch3.request", "case": "x", "body": {}}, ["PL"], T0)
        cases.append(_signed(delivery_to_json(lt.delivery_for(other.message_id, 0, NOW)),
                             lt.key, "LT"))  # not addressed  # fmt: skip
        text_plain = _signed(b"{}", lt.key, "LT")
        text_plain[1]["content-type"] = "text/plain"
        cases.append(text_plain)
        statuses = []
        for n, (body, headers) in enumerate(cases):
            status, got_headers, content, logs = _same(client, body, headers, n % 2 == 0)
            statuses.append(status)
            if status == 200:
                continue
            assert got_headers["content-type"] == "application/problem+json"
            if status != 422:
                assert [e["event"] for e in logs] == ["refused"] * len(logs) and logs
        assert statuses == [200, 401, 401, 401, 403, 422, 422, 422, 422, 400, 400, 422]
        assert by.size() == size  # nothing stored by a refusal, on either path


def test_a_bug_in_the_lean_inbox_is_answered_and_raised_as_by_the_route(
    nodes: dict[str, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    lt, by = nodes["LT"], nodes["BY"]
    app = create_app(Settings(data=by.directory, worker=False), clock=lambda: NOW)
    mid = lt.append_message({"kind": "ch3.request", "case": "c", "body": {}}, ["BY"], T0)
    body, headers = _signed(delivery_to_json(lt.delivery_for(mid.message_id, 0, NOW)),
                            lt.key, "LT")  # fmt: skip

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        monkeypatch.setattr(client.app.state.site, "receive", broken)  # type: ignore[attr-defined]
        status, _h, content, logs = _same(client, body, headers, True)
        assert status == 500 and json.loads(content)["code"] == "internal"
        assert [e["event"] for e in logs] == ["internal_error"]
    with TestClient(app) as client:
        monkeypatch.setattr(client.app.state.site, "receive", broken)  # type: ignore[attr-defined]
        for lean in (True, False):
            client.app.lean_inbox = lean  # type: ignore[attr-defined]
            with pytest.raises(RuntimeError, match="a bug"):
                client.post(INBOX, content=body, headers=headers)


def test_a_hubs_lean_inbox_answers_as_its_route(tmp_path: Path) -> None:
    directory, made = registered(tmp_path, ("LT",))
    lt = made["LT"]
    app = create_app(Settings(data=directory, worker=False), clock=lambda: NOW)
    try:
        with TestClient(app) as client:
            to_one = lt.append_message({"kind": "ch3.request", "case": "c", "body": {}},
                                       ["BY"], T0)  # fmt: skip
            refused = _same(client, *_signed(delivery_to_json(lt.delivery_for(
                to_one.message_id, 0, NOW)), lt.key, "LT"), True)  # fmt: skip
            assert refused[0] == 400, refused  # the hub relays only messages to all
            to_all = lt.append_message({"kind": "ch3.request", "case": "d", "body": {}},
                                       ["all"], T0)  # fmt: skip
            doc = delivery_to_json(lt.delivery_for(to_all.message_id, 0, NOW))
            status, _h, content, _logs = _same(client, *_signed(doc, lt.key, "LT"), True)
            assert status == 202 and json.loads(content)["message_id"] == to_all.message_id
    finally:
        lt.close()


def test_the_hubs_acknowledgements_are_the_bytes_fastapis_encoder_gave(tmp_path: Path) -> None:
    """The answer made as JSON at once against the plain path it replaces: the same
    document returned as a ``dict[str, Any]`` and encoded by FastAPI."""
    import base64

    from fastapi import FastAPI

    directory, made = registered(tmp_path, ("LT", "BY", "PL", "EE"))
    lt = made["LT"]
    app = create_app(Settings(data=directory, worker=False), clock=lambda: NOW)
    try:
        with TestClient(app) as client:
            ids = []
            for n in range(3):
                sent = lt.append_message({"kind": "ch3.request", "case": f"c{n}", "body": {}},
                                         ["all"], T0)  # fmt: skip
                doc = delivery_to_json(lt.delivery_for(sent.message_id, 0, NOW))
                assert client.post(INBOX, content=(s := _signed(doc, lt.key, "LT"))[0],
                                   headers=s[1]).status_code == 202  # fmt: skip
                ids.append(sent.message_id)
            site = client.app.state.site  # type: ignore[attr-defined]
            rows = site.relay_rows_of(ids)
            site.mark_done([(r.id, bytes([r.id]) * 40, "2026-03-01T10:00:00.123Z")
                            for r in rows[::2]])  # fmt: skip
            wanted = [*ids, "unknown", ids[0]]
            body = json.dumps({"message_ids": wanted}).encode()
            path = "/api/v1/hub/acknowledgements"
            headers = sign_request(lt.key, "LT", "POST", path, body, NOW)
            headers["content-type"] = "application/json"
            answer = client.post(path, content=body, headers=headers)
            assert answer.status_code == 200
            grouped: dict[str, list[dict[str, Any]]] = {}
            for row in site.relay_rows_of(list(dict.fromkeys(wanted))):
                grouped.setdefault(row.message_id, []).append({
                    "state": row.destination, "status": row.status,
                    "receipt": None if row.receipt is None
                    else base64.b64encode(row.receipt).decode(),
                    "acknowledged_at": row.done_at,
                })  # fmt: skip
            plain_doc = {"messages": [{"message_id": m, "recipients": items}
                                      for m, items in grouped.items()]}  # fmt: skip
            assert sum(len(v) for v in grouped.values()) == 9
            assert any(item["receipt"] for v in grouped.values() for item in v)
    finally:
        for node in made.values():
            node.close()
    plain = FastAPI()

    @plain.get("/plain")
    def as_before() -> dict[str, Any]:
        return plain_doc

    with TestClient(plain) as reference:
        before = reference.get("/plain")
    assert answer.content == before.content
    assert answer.headers["content-type"] == before.headers["content-type"]


def test_the_worker_gets_the_clock_it_read_before(nodes: dict[str, Node]) -> None:
    """serve's worker is handed the precise clock (``now``, to the millisecond: a retry
    due in 0.25 s falls due then), not the whole-second wall clock; a test's clock as
    given."""
    from csbm.domain.time import now

    fixed = lambda: NOW  # noqa: E731
    for given, expected in ((None, now), (fixed, fixed)):
        app = create_app(Settings(data=nodes["BY"].directory, worker=True), clock=given)
        with TestClient(app) as client:
            assert client.app.state.worker._clock is expected  # type: ignore[attr-defined]


def test_every_answer_to_a_batch_is_the_routes(nodes: dict[str, Node]) -> None:
    """Several deliveries in one request (``{"deliveries": [...]}``): the receipts, a
    refusal after some were accepted, the first one refused, every refusal of the whole
    request -- the same on the lean path as on the route."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from csbm.exchange.wire import MAX_BATCH
    from csbm.hub import HUB, HUB_KEY_NAME
    from csbm.ledger.keys import stamp
    from csbm.store.outbox import PeerRecord

    lt, pl, by = nodes["LT"], nodes["PL"], nodes["BY"]
    hub_key = StateKey(HUB, HUB_KEY_NAME, Ed25519PrivateKey.generate())
    by.put_peer(PeerRecord(HUB, "http://127.0.0.1:9", hub_key.name, hub_key.public_key,
                           hub_key.fingerprint, stamp(T0)))  # fmt: skip

    def message(to: str, case: str, at: datetime = T0) -> str:
        payload = {"kind": "ch3.request", "case": case, "body": {}}
        return lt.append_message(payload, [to], at).message_id

    def chain(ids: list[str]) -> list[dict[str, Any]]:
        seen = by.store.last_checkpoint(lt.origin)
        size = 0 if seen is None else seen.size
        out = []
        for mid in ids:
            delivery = lt.delivery_for(mid, size, NOW)
            size = int(delivery.checkpoint.split("\n")[1])
            out.append(delivery_to_json(delivery))
        return out

    with TestClient(create_app(Settings(data=by.directory, worker=False),
                               clock=lambda: NOW)) as client:  # fmt: skip
        # receipts in order (then, by the other path, the same batch: the same receipts)
        ids = [message("BY", f"b{n}") for n in range(3)]
        body = {"deliveries": chain(ids)}
        status, headers, content, logs = _same(client, *_signed(body, lt.key, "LT"), True)
        assert status == 200 and headers["content-type"] == "application/json"
        assert [r["message_id"] for r in json.loads(content)["receipts"]] == ids
        assert [(e["event"], e["message_ids"]) for e in logs] == [("received", ids)]
        # a refusal after some were accepted: 200, the refusal named
        ids = [message("BY", "p0"), message("PL", "p1"), message("BY", "p2")]
        body = {"deliveries": chain(ids)}
        status, _h, content, logs = _same(client, *_signed(body, lt.key, "LT"), False)
        answer = json.loads(content)
        assert status == 200 and [r["message_id"] for r in answer["receipts"]] == ids[:1]
        assert answer["refused"]["index"] == 1
        assert answer["refused"]["code"] == "delivery.not_addressed"
        assert [e["event"] for e in logs] == ["received", "refused"]
        size = by.size()
        good = chain([ids[2]])[0]
        stray = chain([ids[1]])[0]
        future = delivery_to_json(lt.delivery_for(
            message("BY", "ahead", NOW + timedelta(minutes=10)), 0, NOW))  # fmt: skip
        pl_mid = pl.append_message({"kind": "ch3.request", "case": "t", "body": {}},
                                   ["BY"], T0).message_id  # fmt: skip
        theirs = delivery_to_json(pl.delivery_for(pl_mid, 0, NOW))
        cases = [
            _signed({"deliveries": [stray, good]}, lt.key, "LT"),  # the first refused
            _signed({"deliveries": []}, lt.key, "LT"),
            _signed({"deliveries": [good] * (MAX_BATCH + 1)}, lt.key, "LT"),
            _signed({"deliveries": good}, lt.key, "LT"),
            _signed({"deliveries": [good], "extra": 1}, lt.key, "LT"),
            _signed({"deliveries": [good, {**good, "envelope": 1}]}, lt.key, "LT"),
            _signed({"deliveries": [good, theirs]}, lt.key, "LT"),  # 403
            _signed({"deliveries": [good, future]}, lt.key, "LT"),  # created ahead
            _signed({"deliveries": [good]}, hub_key, HUB),  # the hub, not to all (403)
            (json.dumps({"deliveries": [good]}).encode(),
             {"content-type": "application/json"}),  # unsigned (401)
        ]  # fmt: skip
        got = []
        for n, (raw, request_headers) in enumerate(cases):
            status, headers, content, logs = _same(client, raw, request_headers, n % 2 == 1)
            assert headers["content-type"] == "application/problem+json", content
            assert logs and {e["event"] for e in logs} == {"refused"}, (n, logs)
            got.append((status, json.loads(content)["problems"][0]["path"]))
        assert got == [
            (400, "recipients"), (400, "deliveries"), (400, "deliveries"), (400, "deliveries"),
            (400, "extra"), (400, "deliveries[1].envelope"), (403, "deliveries[1].sender"),
            (400, "deliveries[1].created_at"), (403, "deliveries[0].recipients"),
            (401, "csbm-signer"),
        ]  # fmt: skip
        assert by.size() == size  # nothing stored by a refusal, on either path


def test_a_hubs_lean_inbox_answers_a_batch_as_its_route(tmp_path: Path) -> None:
    directory, made = registered(tmp_path, ("LT", "BY"))
    lt, by = made["LT"], made["BY"]
    app = create_app(Settings(data=directory, worker=False), clock=lambda: NOW)
    try:
        with TestClient(app) as client:
            ids = [lt.append_message({"kind": "ch3.request", "case": f"d{n}", "body": {}},
                                     [to], T0).message_id
                   for n, to in enumerate(("all", "all", "BY"))]  # fmt: skip
            docs = [delivery_to_json(lt.delivery_for(m, 0, NOW)) for m in ids]
            answers = []
            for n, batch in enumerate((docs[:2], docs, docs[2:])):
                body, headers = _signed({"deliveries": batch}, lt.key, "LT")
                answers.append(_same(client, body, headers, n % 2 == 0))
            (s1, _h1, c1, l1), (s2, _h2, c2, l2), (s3, h3, _c3, l3) = answers
            assert s1 == 202 and [a["message_id"] for a in json.loads(c1)["accepted"]] == ids[:2]
            assert [e["event"] for e in l1] == ["relay.accepted"] * 2
            assert s2 == 202 and json.loads(c2)["refused"]["index"] == 2
            assert [e["event"] for e in l2] == ["relay.accepted"] * 2 + ["refused"]
            assert s3 == 400 and h3["content-type"] == "application/problem+json"
            assert [e["event"] for e in l3] == ["refused"]
    finally:
        lt.close()
        by.close()
