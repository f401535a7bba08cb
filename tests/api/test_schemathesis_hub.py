"""API fuzzing of the hub (issue 11, item 8, as :mod:`tests.api.test_schemathesis` does
for a State's node): schemathesis against the hub's own ``/openapi.json``, served by a
real ``csbm serve`` process on 127.0.0.1 (its own SQLite database).

Every operation of the hub gets a bounded number of generated requests (positive and
negative data, deterministic). Each is signed with a registered node's key (LT), so the
fuzzed bodies, paths and queries reach the code behind the signature check. For every
answer: never a 5xx, and every 4xx an RFC 9457 problem document.
"""

from __future__ import annotations

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
from csbm.hub import init_hub
from csbm.ledger.keys import StateKey
from csbm.node import init_node
from tests.api.test_schemathesis import EXAMPLES, _body, check_answer
from tests.e2e.servers import Server, start


@dataclass
class HubTarget:
    server: Server
    peer_key: StateKey


@pytest.fixture(scope="module")
def hub_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubTarget]:
    root = tmp_path_factory.mktemp("fuzz-hub")
    at = now() - timedelta(minutes=1)
    lt = init_node("LT", at, data=root / "LT")
    hub = init_hub(at, root / "hub")
    try:
        hub.register("LT", lt.key.verifier_key, "http://127.0.0.1:9", lt.key.fingerprint, at)
        key = lt.key
    finally:
        lt.close()
        hub.close()
    server = start(root / "hub", exit_after=300)
    try:
        yield HubTarget(server, key)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hub_schema(hub_target: HubTarget) -> Any:
    return schemathesis.openapi.from_url(hub_target.server.url + "/openapi.json")


def _operations() -> list[str]:
    """Every operation of a hub's app, read in-process (see the node's test)."""
    from unittest import mock

    from csbm.api import Settings, create_app

    with mock.patch("csbm.api.app.is_hub", return_value=True):
        spec = create_app(Settings(data=Path("/nonexistent/csbm-hub"), worker=False)).openapi()
    methods = ("get", "post", "put", "patch", "delete")
    return [f"{m.upper()} {path}" for path, ops in spec["paths"].items() for m in ops
            if m in methods]  # fmt: skip


OPERATIONS = _operations()
SEEN: dict[str, Counter[int]] = defaultdict(Counter)


def test_the_hub_serves_its_own_operations(hub_schema: Any) -> None:
    served = sorted(op.ok().label for op in hub_schema.get_all_operations())
    assert served == sorted(OPERATIONS)
    assert "POST /api/v1/hub/acknowledgements" in served
    assert "GET /api/v1/hub/messages/{message_id}" in served
    assert not any("/api/v1/messages" in label for label in served)  # no State's routes


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error_and_every_refusal_a_problem(
    label: str, hub_schema: Any, hub_target: HubTarget
) -> None:
    (operation,) = [op.ok() for op in hub_schema.get_all_operations() if op.ok().label == label]
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
        call(case, hub_target)

    fuzz()
    print(label, dict(SEEN[label]))
    assert sum(SEEN[label].values()) >= 1, (label, SEEN[label])


def call(case: Any, target: HubTarget) -> None:
    kwargs = case.as_transport_kwargs(base_url=target.server.url)
    body = _body(kwargs)
    request = httpx.Request(kwargs["method"], kwargs["url"], params=kwargs.get("params") or None)
    target_path = request.url.raw_path.decode("ascii")
    headers = {
        k: str(v)
        for k, v in (case.headers or {}).items()
        if k.lower() not in {"authorization", "content-length"}
        and not k.lower().startswith("csbm-")
    }
    headers.update(
        sign_request(target.peer_key, "LT", kwargs["method"].upper(), target_path, body, now())
    )
    if body and "content-type" not in {k.lower() for k in headers}:
        headers["content-type"] = "application/json"
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        response = client.request(
            kwargs["method"], target.server.url + target_path, content=body, headers=headers
        )
    check_answer(response, f"{kwargs['method']} {target_path}")
    SEEN[case.operation.label][response.status_code] += 1
