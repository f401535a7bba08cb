"""Fault tests (issue 11, item 7): a hub and four nodes, each its own ``csbm serve``
process with its own database on 127.0.0.1 -- LT, LV and EE on SQLite, PL and the hub on
PostgreSQL (one database each, made for the test and dropped after it).

``test_a_thousand_messages_under_faults``: 1,000 messages, bilateral and to all, sent
through the nodes' API by their signing officers while a fault proxy in front of every
node and the hub (:mod:`tests.e2e.faultproxy`; the peers' URLs point at it) drops,
delays, duplicates and reorders the requests they send each other, and a chaos thread
kills (SIGKILL) and restarts nodes and the hub at random on the same port and data. At the
end: every message is in each addressee's log exactly once, with exactly one receipt
issued; every sender holds a receipt from each addressee; every checkpoint any node holds
of another's log is a head of that log (so every pair is consistent) and no node holds
split-view evidence; ``csbm ledger verify`` passes everywhere; the hub holds a receipt
for every relay; and the procedures each node rebuilds from its log agree with the
sender's.

``test_refusals_each_with_its_reason`` (three nodes and a hub, no faults): a forged
envelope, a replayed one (a captured request replayed late, and the same message id with
other content), one signed with a revoked key, one claiming another State as sender, a
split view (two different checkpoints of the same size), and an unauthorised API call
for each role: each refused as problem+json with its reason, nothing stored.

Randomness is seeded (``CSBM_FAULT_SEED``, default below); a failure names the seed.
Every process ends by itself (``--exit-after``, ``--exit-with-parent``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from csbm.domain.time import now
from csbm.exchange.http import well_known
from csbm.exchange.wire import delivery_to_json, sign_request
from csbm.hub import Hub
from csbm.node import Node
from tests.e2e.servers import Server, csbm, csbm_many, fingerprint, free_port, start, start_many

SEED = int(os.environ.get("CSBM_FAULT_SEED", "20260311"))
PG_URL = os.environ.get("CSBM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MESSAGES = 1000
TO_ALL = 0.15
NODES = ("LT", "LV", "EE", "PL")
ON_PG = ("PL", "hub")
#: How long faults and kills go on (seconds), at most; then the network must settle.
FAULT_WINDOW = 40.0
SETTLE = 240.0
PROBLEM = "application/problem+json"


def _admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database() -> str:
    """A fresh PostgreSQL database for one server (``csbm_e2e_<random>``); its URL."""
    name = f"csbm_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    assert name is not None and name.startswith("csbm_e2e_")
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_url(data: Path) -> str:
    doc = json.loads((data / "config.json").read_text(encoding="utf-8"))
    db = str(doc["db"])
    return db if "://" in db else f"sqlite:///{data / db}"


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (seed {SEED})")


@dataclass
class Network:
    """Servers by name (States and ``hub``), the fault proxy's port for each, tokens."""

    root: Path
    servers: dict[str, Server]
    proxied: dict[str, int] = field(default_factory=dict)
    officers: dict[str, str] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)
    proxy: subprocess.Popen[bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        """Where the other nodes reach ``name``: through the proxy when there is one."""
        port = self.proxied.get(name, self.servers[name].port)
        return f"http://127.0.0.1:{port}"

    def restart(self, name: str) -> None:
        old = self.servers[name]
        self.servers[name] = start(
            old.data, port=old.port, exit_after=600, env=ENV, ready_timeout=60
        )

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            self.proxy.wait(10)


#: The test servers' settings: quick retries, a small clock skew.
ENV = {"CSBM_RETRY_BASE": "0.05", "CSBM_RETRY_CAP": "0.4", "CSBM_POLL": "0.2", "CSBM_SKEW": "60"}


def build(root: Path, nodes: tuple[str, ...], pg: tuple[str, ...], proxy: bool) -> Network:
    """Init every node and the hub (in parallel), start them, start the proxy, and join
    them: each node pins every other node and the hub; the hub registers every node."""
    names = (*nodes, "hub")
    urls = {name: create_database() for name in names if name in pg}
    network = Network(root, {}, databases=list(urls.values()))
    try:
        commands = []
        for name in names:
            args = ["init", "--hub"] if name == "hub" else ["init", "--state", name]
            args += ["--data", str(root / name)]
            if name in urls:
                args += ["--db", urls[name]]
            commands.append(args)
        csbm_many(*commands)
        launched = start_many([root / n for n in names], exit_after=600, env=ENV, ready_timeout=90)
        network.servers = dict(zip(names, launched, strict=True))
        if proxy:
            network.proxied = {name: free_port() for name in names}
            routes = [f"--route={network.proxied[n]}={network.servers[n].port}" for n in names]
            network.proxy = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.e2e.faultproxy",
                    f"--seed={SEED}",
                    *routes,
                    f"--faults-on={root / 'faults-on'}",
                    f"--stats={root / 'proxy.json'}",
                    "--exit-after=600",
                ],
                stdout=subprocess.DEVNULL,
                stderr=(root / "proxy.log").open("wb"),
            )
            wait_for(lambda: (root / "proxy.json").exists(), 20, "the fault proxy")
        from csbm.services.peers import add_peer
        from csbm.services.users import add_user

        prints = {name: fingerprint(root / name) for name in names}
        # to the whole second: the servers stamp receipts to the second (wall_clock), and a
        # key pinned at .231 would not yet be valid for a receipt stamped .000 of that second
        at = now().replace(microsecond=0)
        for code in nodes:
            with Node.open(root / code) as node:
                for other in names:
                    if other != code:
                        add_peer(node, other, network.url(other), prints[other], at, well_known)
                from csbm.accounts.policy import parse_role

                added = add_user(
                    node, "officer", parse_role("signing_officer"), at, "test", token=True
                )
                assert added.token is not None
                network.officers[code] = added.token
        with Hub.open(root / "hub") as hub:
            for code in nodes:
                add_peer(hub, code, network.url(code), prints[code], at, well_known)
    except BaseException:
        network.stop()
        for url in network.databases:
            drop_database(url)
        raise
    return network


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[Network]:
    network = build(tmp_path, NODES, ON_PG, proxy=True)
    try:
        yield network
    finally:
        network.stop()
        for url in network.databases:
            drop_database(url)


# -- the plan


@dataclass(frozen=True)
class Planned:
    message_id: str
    sender: str
    to: str  # a State, or "all"
    case: str

    def addressees(self) -> list[str]:
        return [s for s in NODES if s != self.sender] if self.to == "all" else [self.to]


def plan(rng: random.Random) -> list[Planned]:
    out = []
    for i in range(MESSAGES):
        sender = rng.choice(NODES)
        to = "all" if rng.random() < TO_ALL else rng.choice([s for s in NODES if s != sender])
        mid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        out.append(Planned(mid, sender, to, f"fault-{i:04d}"))
    return out


def send_all(network: Network, planned: list[Planned], failures: list[str]) -> None:
    """Each State's officer sends its messages through its node's API, in order; a node
    that is down (killed) is retried with the same message id until it answers."""

    def one_state(code: str) -> None:
        mine = [p for p in planned if p.sender == code]
        headers = {"authorization": f"Bearer {network.officers[code]}"}
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            for p in mine:
                message = {
                    "type": "ch3.request",
                    "to": p.to,
                    "case": p.case,
                    "body": {"questions": [f"Why {p.case}?"]},
                    "message_id": p.message_id,
                }
                deadline = time.monotonic() + 60
                while True:
                    try:
                        answer = client.post(
                            network.servers[code].url + "/api/v1/messages",
                            json=message,
                            headers=headers,
                        )
                        if answer.status_code == 201:
                            assert answer.json()["message_id"] == p.message_id
                            break
                        if answer.status_code < 500:
                            failures.append(f"{code} {p.case}: {answer.status_code} {answer.text}")
                            return
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        failures.append(f"{code} {p.case}: the node never answered")
                        return
                    time.sleep(0.1)

    threads = [threading.Thread(target=one_state, args=(c,), daemon=True) for c in NODES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)


class Chaos(threading.Thread):
    """Kills (SIGKILL) a random node or the hub every 2-5 s and restarts it on the same
    port and data after 0.2-1 s, until stopped (the hub at least once)."""

    def __init__(self, network: Network, rng: random.Random) -> None:
        super().__init__(daemon=True, name="chaos")
        self.network = network
        self.rng = rng
        self.halt = threading.Event()
        self.kills: Counter[str] = Counter()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.halt.wait(self.rng.uniform(2.0, 5.0)):
                victim = "hub" if not self.kills else self.rng.choice([*NODES, "hub"])
                self.network.servers[victim].kill()
                self.kills[victim] += 1
                time.sleep(self.rng.uniform(0.2, 1.0))
                self.network.restart(victim)
        except BaseException as exc:  # reported by the test
            self.error = exc


def waiting(network: Network) -> int:
    """Outbox rows still waiting, over every node and the hub (read straight from SQL)."""
    total = 0
    for server in network.servers.values():
        engine = create_engine(db_url(server.data))
        try:
            with engine.connect() as conn:
                total += int(
                    conn.execute(
                        text("SELECT count(*) FROM outbox WHERE status IN ('pending','relayed')")
                    ).scalar_one()
                )
        finally:
            engine.dispose()
    return total


def report(network: Network) -> str:
    """What still waits, for a failure's message: a few rows of each outbox."""
    lines = []
    for name, server in network.servers.items():
        engine = create_engine(db_url(server.data))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT message_id, destination, status, attempts, last_error FROM outbox"
                        " WHERE status IN ('pending','relayed') ORDER BY id LIMIT 4"
                    )
                ).all()
        finally:
            engine.dispose()
        lines += [f"{name}: {tuple(r)}" for r in rows]
    return "\n".join(lines)


def test_a_thousand_messages_under_faults(faulty: Network) -> None:
    rng = random.Random(SEED)
    planned = plan(rng)
    network, root = faulty, faulty.root
    chaos = Chaos(network, random.Random(SEED + 1))
    (root / "faults-on").touch()
    started = time.monotonic()
    chaos.start()
    failures: list[str] = []
    try:
        send_all(network, planned, failures)
        assert not failures, f"seed {SEED}: {failures[:5]}"
        sent_in = time.monotonic() - started
        while time.monotonic() - started < FAULT_WINDOW and waiting(network):
            time.sleep(0.5)
    finally:
        chaos.halt.set()
        chaos.join(60)
        (root / "faults-on").unlink()
    assert chaos.error is None, f"seed {SEED}: {chaos.error!r}"
    for name, server in list(network.servers.items()):
        if server.process.poll() is not None:
            network.restart(name)
    try:
        wait_for(lambda: waiting(network) == 0, SETTLE, "every receipt")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{report(network)}") from None
    settled = time.monotonic() - started
    time.sleep(3.5)  # the proxy's late copies (reordered) arrive and change nothing
    network.stop()
    stats = json.loads((root / "proxy.json").read_text())
    print(
        f"seed {SEED}: sent in {sent_in:.1f} s, settled in {settled:.1f} s, "
        f"kills {dict(chaos.kills)}, proxy {stats}"
    )
    for fault in ("dropped", "answer_dropped", "delayed", "duplicated", "reordered"):
        assert stats.get(fault, 0) > 0, f"seed {SEED}: no request was {fault}: {stats}"
    assert sum(chaos.kills.values()) >= 3 and chaos.kills["hub"] >= 1, (SEED, chaos.kills)
    check_network(root, planned)


def check_network(root: Path, planned: list[Planned]) -> None:
    """The end state (see the module doc)."""
    logs: dict[str, Counter[str]] = {}
    issued: dict[str, Counter[str]] = {}
    received: dict[str, dict[str, set[str]]] = {}
    for code in NODES:
        with Node.open(root / code) as node:
            logs[code] = Counter(e.message_id for e in node.entries())
            issued[code] = Counter()
            received[code] = {}
            for row in node.receipt_rows():
                if row["direction"] == "issued":
                    issued[code][row["message_id"]] += 1
                else:
                    received[code].setdefault(row["message_id"], set()).add(row["peer"])
            assert node.store.split_view_evidence() == [], f"seed {SEED}: {code}"
    for p in planned:
        assert logs[p.sender][p.message_id] == 1, (SEED, p)
        for a in p.addressees():
            assert logs[a][p.message_id] == 1, f"seed {SEED}: {p} in {a}'s log"
            assert issued[a][p.message_id] == 1, f"seed {SEED}: {a} issued receipts for {p}"
        got = received[p.sender].get(p.message_id, set())
        assert got == set(p.addressees()), f"seed {SEED}: receipts of {p}: {got}"
        others = set(NODES) - {p.sender, *p.addressees()}
        for o in others:  # bilateral traffic never reaches a third State
            assert logs[o][p.message_id] == 0, f"seed {SEED}: {p} in {o}'s log"
    # every checkpoint a node holds of another's log is a head of that log
    for code in NODES:
        with Node.open(root / code) as holder:
            for other in NODES:
                if other == code:
                    continue
                held = holder.store.checkpoints(f"csbm/{other}")
                assert held, f"seed {SEED}: {code} holds no checkpoint of {other}"
                with Node.open(root / other) as origin:
                    for record in held:
                        assert origin.root(record.size) == record.root, (SEED, code, other)
    # the hub: a receipt for every relay, none waiting
    with Hub.open(root / "hub") as hub:
        rows = hub.relay_rows()
        assert len(rows) == 3 * sum(p.to == "all" for p in planned)
        assert all(r.status == "done" and r.receipt for r in rows), SEED
    # csbm ledger verify passes everywhere
    verified = [
        subprocess.Popen(
            [sys.executable, "-m", "csbm", "ledger", "verify", "--data", str(root / code)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in NODES
    ]
    for code, process in zip(NODES, verified, strict=True):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"seed {SEED}: ledger verify {code}: {out} {err}"
    # the procedures each node rebuilds agree with the sender's
    from csbm.services.replay import replay_node

    at = now() + timedelta(minutes=1)
    cases: dict[str, dict[str, Any]] = {}
    for code in NODES:
        with Node.open(root / code) as node:
            doc = replay_node(node, at).document()
        assert doc.refused == [], (SEED, code, doc.refused[:3])
        cases[code] = {c.case: _comparable(c.to_json()) for c in doc.cases}
    for p in planned:
        mine = cases[p.sender][p.case]
        for a in p.addressees():
            assert cases[a][p.case] == mine, f"seed {SEED}: {a} rebuilds {p.case} otherwise"


def _comparable(value: Any) -> Any:
    """A rebuilt case without what is local to the node that rebuilt it: ``seq``, an
    event's place in that node's own stream of events (in its history and findings)."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "seq"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


# -- refusals, each with its reason


@pytest.fixture
def calm(tmp_path: Path) -> Iterator[Network]:
    network = build(tmp_path, ("LT", "BY", "PL"), (), proxy=False)
    try:
        yield network
    finally:
        network.stop()


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    doc = response.json()
    assert doc["status"] == status and doc["code"].startswith(code), doc
    assert doc["type"] and doc["title"] and doc["detail"], doc
    return doc  # type: ignore[no-any-return]


def _post(url: str, doc: Any, key: Any, signer: str, at: Any = None) -> httpx.Response:
    body = json.dumps(doc).encode()
    headers = sign_request(key, signer, "POST", "/api/v1/inbox", body, at or now())
    headers["content-type"] = "application/json"
    return httpx.post(url + "/api/v1/inbox", content=body, headers=headers, trust_env=False)


def _stored(data: Path) -> tuple[int, int, int]:
    """What a refusal must not change: log size, receipts, outbox rows."""
    with Node.open(data) as node:
        return node.size(), len(node.receipt_rows()), len(node.outbox_rows())


def test_refusals_each_with_its_reason(calm: Network, tmp_path: Path) -> None:
    from csbm.ledger.checkpoint import Checkpoint
    from csbm.ledger.envelope import seal
    from csbm.ledger.keys import StateKey
    from csbm.ledger.merkle import MemoryNodeStore, MerkleLog
    from csbm.ledger.receipt import Delivery
    from csbm.node import init_node

    root, by_url = calm.root, calm.servers["BY"].url
    lt = Node.open(root / "LT")
    pl = Node.open(root / "PL")
    hub = Hub.open(root / "hub")
    try:
        # a first message LT -> BY, delivered: BY has seen a checkpoint of LT
        first = lt.append_message({"kind": "ch3.request", "case": "r-1", "body": {}}, ["BY"], now())
        answer = _post(
            by_url, delivery_to_json(lt.delivery_for(first.message_id, 0, now())), lt.key, "LT"
        )
        assert answer.status_code == 200, answer.text
        lt.record_receipt(base64.b64decode(answer.json()["receipt"]))
        before = _stored(root / "BY")

        # the same delivery twice at once: one receipt, the same one
        again = lt.append_message({"kind": "ch3.request", "case": "r-2", "body": {}}, ["BY"], now())
        seen = lt.peer_seen_size("BY")
        twice = delivery_to_json(lt.delivery_for(again.message_id, seen, now()))
        results: list[httpx.Response] = []
        pair = [
            threading.Thread(target=lambda: results.append(_post(by_url, twice, lt.key, "LT")))
            for _ in range(2)
        ]
        for t in pair:
            t.start()
        for t in pair:
            t.join(30)
        assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
        assert results[0].json()["receipt"] == results[1].json()["receipt"]
        with Node.open(root / "BY") as by:
            issued = [r for r in by.receipt_rows() if r["message_id"] == again.message_id]
            assert len(issued) == 1
        lt.record_receipt(base64.b64decode(results[0].json()["receipt"]))
        before = _stored(root / "BY")

        # a forged envelope: one byte of the signed message changed
        msg = lt.append_message({"kind": "ch3.request", "case": "r-3", "body": {}}, ["BY"], now())
        doc = delivery_to_json(lt.delivery_for(msg.message_id, lt.peer_seen_size("BY"), now()))
        raw = base64.b64decode(doc["envelope"])
        forged = raw.replace(b'"case":"r-3"', b'"case":"r-4"')
        assert forged != raw
        _problem(
            _post(by_url, {**doc, "envelope": base64.b64encode(forged).decode()}, lt.key, "LT"),
            400,
            "envelope.bad_signature",
        )
        assert _stored(root / "BY") == before

        # replayed: a captured request replayed after the allowed skew ...
        late = now() - timedelta(seconds=120)
        _problem(_post(by_url, doc, lt.key, "LT", late), 401, "auth.clock_skew")
        # ... and a message id BY holds, with other content
        other = lt.sign(
            {"kind": "ch3.request", "case": "r-x", "body": {}},
            ["BY"],
            now(),
            message_id=first.message_id,
        )
        replay = {**doc, "envelope": base64.b64encode(other.raw).decode()}
        _problem(_post(by_url, replay, lt.key, "LT"), 400, "envelope.replayed")
        assert _stored(root / "BY") == before

        # another State as sender: PL delivers LT's message; PL forges LT's name
        _problem(_post(by_url, doc, pl.key, "PL"), 403, "auth.forbidden")
        fake = StateKey("LT", "csbm/LT", pl.key.private)  # PL's key, LT's name
        posing = seal({"kind": "ch3.request", "case": "r-5", "body": {}}, fake, ["all"], now())
        assert posing.sender == "LT"
        posing_doc = {**doc, "envelope": base64.b64encode(posing.raw).decode()}
        _problem(_post(by_url, posing_doc, pl.key, "PL"), 403, "auth.forbidden")
        _problem(_post(by_url, posing_doc, hub.key, "hub"), 400, "envelope.unknown_key")
        assert _stored(root / "BY") == before

        # a key BY revoked: EE's node, known to BY, its key revoked
        ee = init_node("EE", now(), data=tmp_path / "EE")
        try:
            with Node.open(root / "BY") as by:
                by.add_peer_key("EE", ee.key.verifier_key, now() - timedelta(minutes=1), at=now())
                by.revoke(ee.key.key_id, now(), "compromised")
            before = _stored(root / "BY")
            to_all = ee.append_message(
                {"kind": "ch3.request", "case": "r-6", "body": {}}, ["all"], now()
            )
            ee_doc = delivery_to_json(ee.delivery_for(to_all.message_id, 0, now()))
            _problem(_post(by_url, ee_doc, ee.key, "EE"), 401, "auth.unknown_key")
            _problem(_post(by_url, ee_doc, hub.key, "hub"), 400, "envelope.revoked_key")
            assert _stored(root / "BY") == before
        finally:
            ee.close()

        # a split view: LT's key signs another checkpoint of the size BY last saw
        with Node.open(root / "BY") as by:
            last = by.last_checkpoint_of("LT")
            evidence_before = len(by.store.split_view_evidence())
        assert last is not None
        fork = lt.sign({"kind": "ch3.request", "case": "r-7", "body": {}}, ["BY"], now())
        tree = MerkleLog(MemoryNodeStore())
        tree.append_data([f"other history {i}".encode() for i in range(last.size - 1)])
        tree.append_data([fork.raw])
        assert tree.size() == last.size and tree.root() != last.root
        note = Checkpoint(lt.origin, last.size, tree.root()).sign(lt.key.name, lt.key.private)
        split = Delivery(
            fork.raw,
            note.note,
            tuple(tree.inclusion_proof(last.size - 1)),
            last.size - 1,
            (),
            consistency_from=last.size,
        )
        _problem(_post(by_url, delivery_to_json(split), lt.key, "LT"), 400, "delivery.split_view")
        assert _stored(root / "BY") == before
        with Node.open(root / "BY") as by:
            assert len(by.store.split_view_evidence()) == evidence_before + 1  # kept
    finally:
        lt.close()
        pl.close()
        hub.close()

    # an unauthorised API call for each role, and none without credentials
    from csbm.accounts.policy import parse_role
    from csbm.services.users import add_user

    tokens = {}
    with Node.open(root / "BY") as by:
        for role in ("drafter", "signing_officer", "reader", "auditor", "admin"):
            added = add_user(by, f"u-{role}", parse_role(role), now(), "test", token=True)
            tokens[role] = {"authorization": f"Bearer {added.token}"}
    message = {"type": "ch3.request", "to": "LT", "case": "r-8", "body": {}}
    peer = {"state": "PL", "url": calm.servers["PL"].url, "fingerprint": "SHA256:x"}
    calls = {
        "drafter": ("POST", "/api/v1/messages", message),
        "signing_officer": ("GET", "/api/v1/peers", None),
        "reader": ("POST", "/api/v1/messages", message),
        "auditor": ("POST", "/api/v1/peers", peer),
        "admin": ("GET", "/api/v1/inbox", None),
    }
    before = _stored(root / "BY")
    with httpx.Client(base_url=by_url, trust_env=False) as client:
        for role, (method, path, body) in calls.items():
            answer = client.request(method, path, json=body, headers=tokens[role])
            _problem(answer, 403, "auth.forbidden")
        _problem(client.get("/api/v1/inbox"), 401, "auth.unauthenticated")
        _problem(
            client.post(
                "/api/v1/messages", json=message, headers={"authorization": "Bearer csbm_nope"}
            ),
            401,
            "auth.unauthenticated",
        )
    assert _stored(root / "BY") == before
    history = json.loads(csbm("user", "history", "--json", data=root / "BY").stdout)
    refused = [e for e in history["events"] if e["action"] == "auth.refused"]
    assert {e["account"] for e in refused} >= {f"u-{r}" for r in calls}


def test_the_same_delivery_twice_at_once_gets_one_receipt(tmp_path: Path) -> None:
    """A retry racing its original (what the proxy's duplicates do): both calls pass the
    duplicate check before either writes -- forced here by a barrier in the log lookup --
    yet the node signs one receipt and answers both with it."""
    from csbm.node import init_node

    at = now() - timedelta(minutes=1)
    lt = init_node("LT", at, data=tmp_path / "LT")
    by = init_node("BY", at, data=tmp_path / "BY")
    try:
        by.add_peer_key("LT", lt.key.verifier_key, at)
        mid = lt.append_message({"kind": "ch3.request", "case": "race", "body": {}}, ["BY"],
                                now()).message_id  # fmt: skip
        delivery = lt.delivery_for(mid, 0, now())
        barrier = threading.Barrier(2)
        lookup = by.store.entry_by_message_id

        def racing_lookup(message_id: str) -> Any:
            found = lookup(message_id)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=0.5)
            return found

        by.store.entry_by_message_id = racing_lookup  # type: ignore[method-assign]
        receipts: list[bytes] = []
        threads = [
            threading.Thread(target=lambda: receipts.append(by.receive(delivery, now()).raw))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(receipts) == 2 and receipts[0] == receipts[1]
        issued = [r for r in by.receipt_rows() if r["direction"] == "issued"]
        assert len(issued) == 1
    finally:
        lt.close()
        by.close()
