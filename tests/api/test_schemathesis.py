"""API fuzzing (issue 11, item 8): schemathesis 4 against the node's ``/openapi.json``,
served by a real ``csbm serve`` process on 127.0.0.1 (its own SQLite log).

Every operation gets a bounded number of generated requests (positive and negative
data, deterministic: ``derandomize``), a few hundred in all. Each is sent with the
credentials that let it past the door -- the account whose role may use the operation
(Bearer token), and for the node-to-node inbox a request signed with a registered
peer's key (LT) -- so the fuzzed bodies, paths and queries reach the code behind it. The
properties, for every answer:

- never a 5xx;
- every 4xx is an RFC 9457 problem document: content type ``application/problem+json``,
  with ``type``, ``title`` and ``status`` (equal to the HTTP status).

One exception to "past the door": ``POST /api/v1/peers`` is fuzzed as a signing officer
(refused, 403), never as an admin, because an admin's request makes the node fetch the
fuzzed URL -- the test stays on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from csbm.domain.time import now
from csbm.exchange.wire import sign_request
from csbm.ledger.keys import StateKey
from csbm.node import init_node
from csbm.store.outbox import PeerRecord
from tests.e2e.servers import Server, start

PROBLEM = "application/problem+json"
#: Generated requests per operation (positive and negative data together).
EXAMPLES = 15
ROLES = ("drafter", "signing_officer", "reader", "auditor", "admin")
#: Who fuzzes each operation: (method, path) -> role; the rest go as a reader.
WHO = {
    ("POST", "/api/v1/messages"): "signing_officer",
    ("POST", "/api/v1/drafts"): "drafter",
    ("GET", "/api/v1/drafts"): "drafter",
    ("POST", "/api/v1/drafts/{draft_id}/approve"): "signing_officer",
    ("GET", "/api/v1/peers"): "admin",
    ("POST", "/api/v1/peers"): "signing_officer",  # not admin: no fetch of fuzzed URLs
    ("DELETE", "/api/v1/peers/{state}"): "admin",
    ("GET", "/api/v1/accounts"): "admin",
    ("POST", "/api/v1/accounts"): "admin",
    ("DELETE", "/api/v1/accounts/{name}"): "admin",
    ("GET", "/api/v1/accounts/events"): "auditor",
}
SIGNED = {("POST", "/api/v1/inbox")}


@dataclass
class Target:
    server: Server
    tokens: dict[str, str]
    peer_key: StateKey


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    from csbm.accounts.policy import parse_role
    from csbm.services.users import add_user

    root = tmp_path_factory.mktemp("fuzz")
    at = now() - timedelta(minutes=1)
    lt = init_node("LT", at, data=root / "LT")
    by = init_node("BY", at, data=root / "BY")
    try:
        by.add_peer_key("LT", lt.key.verifier_key, at)
        by.put_peer(PeerRecord("LT", "http://127.0.0.1:9", lt.key.name, lt.key.public_key,
                               lt.key.fingerprint, "2026-01-01T00:00:00Z"))  # fmt: skip
        tokens = {}
        for role in ROLES:
            added = add_user(by, f"fuzz-{role}", parse_role(role), at, "test", token=True)
            assert added.token is not None
            tokens[role] = added.token
        key = lt.key
    finally:
        lt.close()
        by.close()
    server = start(root / "BY", exit_after=300)
    try:
        yield Target(server, tokens, key)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api_schema(target: Target) -> Any:
    """The schema as the running node serves it at ``/openapi.json``."""
    return schemathesis.openapi.from_url(target.server.url + "/openapi.json")


def _operations() -> list[str]:
    """Every operation of a node's app (``METHOD /path``), read from the app in-process
    so that pytest can name the tests before any server runs; the test checks that the
    server's ``/openapi.json`` has the same."""
    from csbm.api import Settings, create_app

    spec = create_app(Settings(data=Path("/nonexistent/csbm-node"), worker=False)).openapi()
    methods = ("get", "post", "put", "patch", "delete")
    return [f"{m.upper()} {path}" for path, ops in spec["paths"].items() for m in ops
            if m in methods]  # fmt: skip


OPERATIONS = _operations()
#: Answers by operation and status (a run that sent nothing would prove nothing).
SEEN: dict[str, Counter[int]] = defaultdict(Counter)


def _body(kwargs: dict[str, Any]) -> bytes:
    if "json" in kwargs:
        return json.dumps(kwargs["json"], allow_nan=False).encode("utf-8")
    data = kwargs.get("data")
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes):
        return data
    return b""


def _headers(case: Any, target: Target, body: bytes, path_and_query: str) -> dict[str, str]:
    method, path = case.operation.method.upper(), case.operation.path
    headers = {
        k: str(v)
        for k, v in (case.headers or {}).items()
        if k.lower() not in {"authorization", "content-length"}
    }
    if (method, path) in SIGNED:
        headers.update(sign_request(target.peer_key, "LT", method, path_and_query, body, now()))
    else:
        role = WHO.get((method, path), "reader")
        headers["authorization"] = f"Bearer {target.tokens[role]}"
    return headers


def check_answer(response: httpx.Response, what: str) -> None:
    """No 5xx; every 4xx a problem+json document with type, title and status."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    if 400 <= response.status_code < 500:
        kind = response.headers.get("content-type", "")
        assert kind.startswith(PROBLEM), f"{what}: {response.status_code} as {kind!r}"
        doc = response.json()
        assert isinstance(doc, dict), what
        for member in ("type", "title", "status"):
            assert member in doc, f"{what}: no {member} in {doc}"
        assert doc["status"] == response.status_code, f"{what}: {doc}"


def test_the_served_schema_has_every_operation(api_schema: Any) -> None:
    served = sorted(op.ok().label for op in api_schema.get_all_operations())
    assert served == sorted(OPERATIONS)
    assert len(served) >= 15


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error_and_every_refusal_a_problem(
    label: str, api_schema: Any, target: Target
) -> None:
    (operation,) = [op.ok() for op in api_schema.get_all_operations() if op.ok().label == label]
    strategy = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        call(case, target)

    fuzz()
    print(label, dict(SEEN[label]))
    assert sum(SEEN[label].values()) >= 1, (label, SEEN[label])


def call(case: Any, target: Target) -> None:
    kwargs = case.as_transport_kwargs(base_url=target.server.url)
    body = _body(kwargs)
    request = httpx.Request(kwargs["method"], kwargs["url"], params=kwargs.get("params") or None)
    target_path = request.url.raw_path.decode("ascii")
    headers = _headers(case, target, body, target_path)
    if body and "content-type" not in {k.lower() for k in headers}:
        headers["content-type"] = "application/json"
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        response = client.request(
            kwargs["method"], target.server.url + target_path, content=body, headers=headers
        )
    check_answer(response, f"{kwargs['method']} {target_path}")
    SEEN[case.operation.label][response.status_code] += 1
