"""The workbench's pages with 100,000 messages in the node's log (issue 12, item 6): p50
and p95 of every page, driven by four clients at once against a real ``csbm serve``, each
page against its bare JSON twin (``/api/v1/workbench/…``, the same service document
without the HTML) measured in the same run; on SQLite and on PostgreSQL.

- **The log**: a year of the area's traffic (bench_replay's ``synthetic_year``: Chapter
  III, inspections, evaluations, notifications, the yearly cycles…), each message sealed by
  its sender's key and appended to Lithuania's log in group commits (``Node.append``),
  the senders' keys in its key directory.
- **The run**: the server is started (it replays the log in the background as it starts,
  :mod:`csbm.web.replays`); each page is asked once (``cold``: the first requests wait for
  that replay, which the pages then share, refreshed in the background as the log grows
  or the clock moves on); then four clients, each signed in through the form (pages) or
  holding an API token (twins), ask every page and every twin in a shuffled order, for
  ``ROUNDS`` rounds.
- **Target**: every page's p95 < 200 ms.

Run: ``python -m bench --only bench_pages [--quick]`` (quick: 10,000 messages, SQLite
only). PostgreSQL: ``$CSBM_TEST_PG_URL`` (default the test server), skipped with its reason
when it does not answer.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

NAME = "pages"
P95_TARGET_MS = 200.0
CLIENTS = 4
ROUNDS = 10
PASSWORD = "correct horse battery staple"
START = datetime(2020, 1, 1, tzinfo=UTC)
#: Each page and its twin (None: the page has no read twin; the composer's is a POST).
PAGES: dict[str, tuple[str, str | None]] = {
    "today": ("/web/today", "/api/v1/workbench/today"),
    "map": ("/web/map?year=2021", "/api/v1/workbench/map?year=2021"),
    "calendar": ("/web/calendar?year=2021", "/api/v1/workbench/calendar?year=2021"),
    "procedures": ("/web/procedures", "/api/v1/workbench/procedures"),
    "record": ("/web/record", "/api/v1/workbench/record"),
    "compose": ("/web/compose?type=notification", None),
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def build_node(root: Path, n: int, db: str | None) -> tuple[Path, str]:
    """Lithuania's node holding ``n`` messages; its accounts; returns its data directory
    and an auditor's API token."""
    from bench.bench_replay import parse, synthetic_year
    from csbm.accounts.policy import Role
    from csbm.ledger.envelope import seal
    from csbm.ledger.keys import generate_state_key
    from csbm.node import init_node
    from csbm.projection import message_for
    from csbm.services.users import add_user

    data = root / "LT"
    node = init_node("LT", START, data=data, db=db)
    try:
        events = sorted(parse(synthetic_year(n)), key=lambda e: e.order)
        keys = {}
        for sender in sorted({e.sender for e in events} - {"LT"}):
            keys[sender] = generate_state_key(sender)
            node.add_peer_key(sender, keys[sender].verifier_key, START)
        keys["LT"] = node.key
        batch = []
        for event in events:
            batch.append(seal(message_for(event), keys[event.sender], list(event.recipients),
                              event.at))  # fmt: skip
            if len(batch) == 2000:
                node.append(batch)
                batch = []
        if batch:
            node.append(batch)
        add_user(node, "audrey", Role.AUDITOR, START, "bench", password=PASSWORD)
        add_user(node, "dora", Role.DRAFTER, START, "bench", password=PASSWORD)
        token = add_user(node, "bench-api", Role.AUDITOR, START, "bench", token=True).token
        assert token is not None
        return data, token
    finally:
        node.close()


def _signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120.0)
    form = client.get("/web/login")
    token = CSRF.search(form.text)
    assert token, form.text[:300]
    fields = {"name": name, "password": PASSWORD, "csrf": token.group(1), "next": "/web/today"}
    done = client.post("/web/login", data=fields)
    assert done.status_code == 303 and done.headers["location"] == "/web/today", done.text[:300]
    return client


def _timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise AssertionError(f"{path}: {response.status_code} {response.text[:300]}")
    return elapsed


def _cold(client: httpx.Client, path: str) -> float:
    """Milliseconds until ``path`` shows the page: after a start the first requests may get
    the notice of the log's replay (csbm.web.replays), which polls until the view is ready."""
    started = time.perf_counter()
    while True:
        response = client.get(path)
        if response.status_code != 200:
            raise AssertionError(f"{path}: {response.status_code} {response.text[:300]}")
        if 'data-testid="building"' not in response.text:
            return (time.perf_counter() - started) * 1000
        time.sleep(0.2)


def drive(base: str, token: str, rounds: int = ROUNDS) -> dict[str, Any]:
    """Cold first requests (until the page shows), then ``CLIENTS`` clients at once:
    milliseconds per page."""
    pages = _signed_in(base, "audrey")
    drafter = _signed_in(base, "dora")
    cold = {}
    for name, (path, _twin) in PAGES.items():
        cold[name] = round(_cold(drafter if name == "compose" else pages, path), 1)
    pages.close()
    drafter.close()
    samples: dict[str, list[float]] = {f"{k}{s}": [] for k in PAGES for s in ("", ":json")}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            rng = random.Random(number)
            reader = _signed_in(base, "audrey")
            drafter = _signed_in(base, "dora")
            api = httpx.Client(base_url=base, timeout=120.0,
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            work = [(name, kind) for name in PAGES for kind in ("", ":json")
                    if kind == "" or PAGES[name][1] is not None]  # fmt: skip
            for _ in range(rounds):
                rng.shuffle(work)
                for name, kind in work:
                    path, twin = PAGES[name]
                    if kind:
                        assert twin is not None
                        ms = _timed(api, twin)
                    else:
                        ms = _timed(drafter if name == "compose" else reader, path)
                    with lock:
                        samples[name + kind].append(ms)
            for c in (reader, drafter, api):
                c.close()
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    out: dict[str, Any] = {"cold_ms": cold, "wall_seconds": round(wall, 2), "pages": {}}
    for name, (_path, twin) in PAGES.items():
        values = samples[name]
        row: dict[str, Any] = {
            "n": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(_percentile(values, 0.95), 1),
        }
        if twin is not None:
            json_values = samples[name + ":json"]
            row["json_p50_ms"] = round(statistics.median(json_values), 1)
            row["json_p95_ms"] = round(_percentile(json_values, 0.95), 1)
            row["ratio_p50"] = round(row["p50_ms"] / max(row["json_p50_ms"], 0.001), 2)
        row["met"] = row["p95_ms"] < P95_TARGET_MS
        out["pages"][name] = row
    return out


def _one_backend(backend: str, n: int, rounds: int) -> dict[str, Any]:
    from tests.e2e.servers import start

    db: str | None = None
    drop = None
    if backend == "postgresql":
        from tests.store.backends import create_pg_database, drop_pg_database

        try:
            db = create_pg_database()
        except Exception as exc:  # the server may be absent on a desk
            return {"backend": backend, "skipped": str(exc)[:200]}
        drop = drop_pg_database
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        try:
            started = time.perf_counter()
            data, token = build_node(Path(tmp), n, db)
            built = time.perf_counter() - started
            server = start(data, exit_after=1800, ready_timeout=120)
            try:
                result = drive(server.url, token, rounds)
            finally:
                server.stop()
        finally:
            if drop is not None and db is not None:
                drop(db)
    return {"backend": backend, "messages": n, "build_seconds": round(built, 1), **result}


def run(quick: bool = False) -> dict[str, Any]:
    os.environ.setdefault("CSBM_LOG_LEVEL", "warning")
    n = 10_000 if quick else 100_000
    backends = ("sqlite",) if quick else ("sqlite", "postgresql")
    results = [_one_backend(b, n, ROUNDS) for b in backends]
    measured = [r for r in results if "pages" in r]
    met = bool(measured) and all(row["met"] for r in measured for row in r["pages"].values())
    parts = []
    for r in results:
        if "pages" not in r:
            parts.append(f"{r['backend']}: skipped ({r['skipped']})")
            continue
        worst = max(r["pages"].items(), key=lambda kv: kv[1]["p95_ms"])
        parts.append(
            f"{r['backend']}: " + ", ".join(
                f"{k} p50 {v['p50_ms']:.0f}/p95 {v['p95_ms']:.0f} ms"
                + (f" ({v['ratio_p50']:.1f}x json)" if "ratio_p50" in v else "")
                for k, v in r["pages"].items()
            ) + f"; worst p95 {worst[0]} {worst[1]['p95_ms']:.0f} ms"
        )  # fmt: skip
    return {
        "name": NAME,
        "quick": quick,
        "messages": n,
        "clients": CLIENTS,
        "rounds": ROUNDS,
        "target_p95_ms": P95_TARGET_MS,
        "results": results,
        "targets_met": met,
        "summary": f"{n:,} messages, {CLIENTS} clients: " + " | ".join(parts)
        + f"; target p95 < {P95_TARGET_MS:g} ms: {'met' if met else 'NOT met'}",
    }
