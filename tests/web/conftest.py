"""A node holding real data for the workbench's tests: Poland's 2014 calendar and its
Anakonda-14 notification (examples/anakonda-2014.yaml) and the Chapter III case of the
Baltic States and Belarus of February 2022 (examples/baltic-belarus-2022.yaml), sent
through the real exchange (sign, log, deliver, verify, receipt) between five nodes on
SQLite; then Lithuania's node is served by ``create_app`` -- the same app as ``csbm
serve`` -- with one account per role.

Also usable by later tests (browser, benchmark): :func:`build_network` and
:func:`signed_in`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from csbm.accounts.policy import Role
from csbm.api import Settings, create_app
from csbm.exchange.inprocess import InProcessTransport
from csbm.exchange.outbox import Outgoing, send
from csbm.node import Node, init_node
from csbm.procedures.base import Event
from csbm.procedures.scenario import load_scenario
from csbm.projection import message_for
from csbm.services.peers import add_peer, well_known
from csbm.services.users import add_user

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("anakonda-2014.yaml", "baltic-belarus-2022.yaml")
STATES = ("BY", "EE", "LT", "LV", "PL")
START = datetime(2013, 1, 1, tzinfo=UTC)
CLOCK = datetime(2022, 2, 17, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
"""Hostile text inside a received message: every page shows it escaped."""
USERS = {
    "dora": Role.DRAFTER,
    "sofia": Role.SIGNING_OFFICER,
    "rita": Role.READER,
    "audrey": Role.AUDITOR,
    "adam": Role.ADMIN,
}


class Clock:
    """The app's clock, movable by a test."""

    def __init__(self, at: datetime = CLOCK) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _fetch(peer: Node) -> Callable[[str], dict[str, Any]]:
    """What ``csbm peer add`` fetches from ``URL/.well-known/csbm``, read from the peer
    node itself (the nodes meet in-process here)."""
    return lambda _url: well_known(peer)


def build_network(directory: Path) -> dict[str, Path]:
    """Five nodes under ``directory``, each knowing the others' keys and URLs, loaded by
    sending the two scenarios' messages through the in-process exchange, plus a request
    for explanation from Belarus to Lithuania at the clock (whose reply is owed). Returns
    each node's data directory (the nodes are closed)."""
    nodes: dict[str, Node] = {}
    try:
        for code in STATES:
            nodes[code] = init_node(code, START, data=directory / code)
        for code, node in nodes.items():
            for other, peer in nodes.items():
                if other != code:
                    node.add_peer_key(other, peer.key.verifier_key, START)
                    add_peer(node, other, f"http://127.0.0.1:9/{other}",
                             well_known(peer)["fingerprint"], START, _fetch(peer))  # fmt: skip
        transport = InProcessTransport(nodes)
        events: list[Event] = []
        for name in SCENARIOS:
            events.extend(load_scenario(ROOT / "examples" / name).events)
        events.sort(key=lambda e: e.at)
        for event in events:
            outgoing = Outgoing(message_for(event), tuple(event.recipients), event.at)
            send(nodes[event.sender], transport, [outgoing], list(STATES), event.at)
        late = CLOCK - timedelta(hours=2)
        body = {"activity": "Unusual movements", "questions": ["numbers of troops", HOSTILE]}
        request = {"kind": "ch3.request", "case": "by-lt-2022", "body": body}
        send(nodes["BY"], transport, [Outgoing(request, ("LT",), late)], list(STATES), late)
        for code in ("dora", "sofia", "rita", "audrey", "adam"):
            add_user(nodes["LT"], code, USERS[code], START, "test", password=PASSWORD)
    finally:
        for node in nodes.values():
            node.close()
    return {code: directory / code for code in STATES}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_network(tmp_path_factory.mktemp("web-network"))


@dataclass
class Served:
    client: TestClient
    clock: Clock
    data: Path


@pytest.fixture(scope="module")
def served(network: dict[str, Path]) -> Iterator[Served]:
    """Lithuania's node served by the app of ``csbm serve`` (no delivery worker)."""
    clock = Clock()
    app = create_app(Settings(data=network["LT"], worker=False), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        settled(app)
        yield Served(client, clock, network["LT"])


def settled(app: Any) -> None:
    """Wait for the replay ``csbm serve`` starts with (:func:`csbm.web.replays.warm`)."""
    cache = getattr(app.state, "web_replays", None)
    worker = getattr(cache, "_worker", None)
    if worker is not None:
        worker.join(120)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def signed_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign ``name`` in through the sign-in form; the CSRF token of its session."""
    client.cookies.clear()
    form = client.get("/web/login")
    assert form.status_code == 200, form.text
    response = client.post(
        "/web/login",
        data={"name": name, "password": password, "csrf": csrf_of(form.text),
              "next": "/web/today", "zone": "Europe/Vilnius"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    today = client.get("/web/today")
    return csrf_of(today.text)
