"""An idle delivery worker costs next to nothing (issue 11, item 9: 58 processes on one
machine): it sleeps until the earliest outbox row falls due, at most ``poll`` (rows another
process writes), and a message queued in its own process wakes it at once. And a node's
geography is loaded at its first page, not when it starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from csbm.api.config import load_settings
from csbm.exchange.worker import MIN_SLEEP, Worker
from csbm.hub import init_hub
from csbm.ledger.keys import stamp
from csbm.node import Node, init_node
from csbm.store.outbox import PeerRecord
from tests.store.backends import backend, db_factory, db_url

__all__ = ["backend", "db_factory", "db_url"]

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _worker(due: list[str | None], poll: float = 30.0) -> Worker:
    return Worker(lambda _at: 0, lambda: T0, poll=poll, next_due=lambda: due[0])


def test_the_idle_sleep_lasts_until_the_next_row_falls_due_at_most_poll() -> None:
    due: list[str | None] = [None]
    worker = _worker(due)
    assert worker.idle() == 30.0  # nothing queued: the fallback poll
    due[0] = stamp(T0 + timedelta(seconds=2.5))
    assert worker.idle() == pytest.approx(2.5)  # a retry due in 2.5 s
    due[0] = stamp(T0 + timedelta(hours=1))
    assert worker.idle() == 30.0  # never longer than the poll
    due[0] = stamp(T0 - timedelta(seconds=1))
    assert worker.idle() == MIN_SLEEP  # overdue: looked for again soon, not in a busy loop


def test_a_broken_next_due_falls_back_to_the_poll() -> None:
    def broken() -> str | None:
        raise RuntimeError("database gone")

    worker = Worker(lambda _at: 0, lambda: T0, poll=7.0, next_due=broken)
    assert worker.idle() == 7.0
    assert Worker(lambda _at: 0, lambda: T0, poll=7.0, next_due=lambda: "garbage").idle() == 7.0


def test_an_idle_worker_sleeps_and_a_wake_runs_the_next_step_at_once() -> None:
    steps: list[float] = []
    stepped = threading.Event()

    def step(_at: datetime) -> int:
        steps.append(time.monotonic())
        stepped.set()
        return 0

    worker = Worker(step, lambda: T0, poll=60.0, next_due=lambda: None)
    worker.start()
    try:
        assert stepped.wait(10)
        time.sleep(0.3)
        assert len(steps) == 1  # idle: no poll every 0.1 s
        stepped.clear()
        worker.wake.set()  # a message queued in this process
        assert stepped.wait(10)
        assert len(steps) == 2
    finally:
        worker.close(timeout=10)
    assert worker._thread is not None and not worker._thread.is_alive()


@pytest.fixture
def lt(tmp_path: Path) -> Iterator[Node]:
    init_node("LT", T0, data=tmp_path / "lt").close()
    node = Node.open(tmp_path / "lt")
    node.put_peer(PeerRecord("BY", "http://127.0.0.1:9", "csbm/BY", b"\x01" * 32,
                             "SHA256:x", "2026-03-01T09:00:00Z"))  # fmt: skip
    yield node
    node.close()


def test_next_due_is_the_earliest_row_still_to_attempt(lt: Node) -> None:
    assert lt.outbox_next_due() is None
    message = {"kind": "ch3.request", "case": "c", "body": {}}
    first = lt.queue_message(message, ["BY"], ["BY"], T0 + timedelta(seconds=5))
    lt.queue_message(message, ["BY"], ["BY"], T0 + timedelta(seconds=9))
    assert lt.outbox_next_due() == stamp(T0 + timedelta(seconds=5))
    (row,) = lt.outbox_rows(first.message_id)
    later = stamp(T0 + timedelta(seconds=20))
    lt.outbox_mark(row.id, attempted=True, next_attempt_at=later)  # a retry backs off
    assert lt.outbox_next_due() == stamp(T0 + timedelta(seconds=9))
    for r in lt.outbox_rows():
        lt.outbox_mark(r.id, status="done", done_at=stamp(T0))
    assert lt.outbox_next_due() is None  # done rows are not waited for


def test_a_hub_says_when_its_next_relay_falls_due(tmp_path: Path) -> None:
    with init_hub(T0, tmp_path / "hub") as hub:
        assert hub.next_due() is None


def test_the_default_poll_is_a_second_and_still_configurable(tmp_path: Path) -> None:
    init_node("LT", T0, data=tmp_path / "lt").close()
    assert load_settings(tmp_path / "lt", env={}).poll == 1.0
    assert load_settings(tmp_path / "lt", env={"CSBM_POLL": "0.05"}).poll == 0.05


def test_the_map_is_warmed_at_start_unless_lazy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``csbm serve`` loads the map's geography at start (the first map page and the first
    replay of a message with an area find it loaded); ``--lazy-map`` / ``CSBM_WARM_MAP=0``
    / ``serve.warm_map: false`` leave it to the first page (the network benchmark's 56
    nodes); anything but a yes or a no is refused with the setting's name."""
    from fastapi import FastAPI

    import csbm.web
    from csbm.errors import InputError

    init_node("LT", T0, data=tmp_path / "lt").close()
    lt = tmp_path / "lt"
    assert load_settings(lt, env={}).warm_map is True
    assert load_settings(lt, env={"CSBM_WARM_MAP": "0"}).warm_map is False
    assert load_settings(lt, {"warm_map": False}, env={"CSBM_WARM_MAP": "yes"}).warm_map is False
    with pytest.raises(InputError) as bad:
        load_settings(lt, env={"CSBM_WARM_MAP": "maybe"})
    assert bad.value.problems[0].path == "CSBM_WARM_MAP"
    started: list[int] = []
    monkeypatch.setattr(csbm.web, "warm_up", lambda: started.append(1))
    warm, lazy = FastAPI(), FastAPI()
    csbm.web.install(warm)
    assert started == [1]
    csbm.web.install(lazy, warm=False)
    assert started == [1]
    lazy_kinds: list[object] = [m.cls for m in lazy.user_middleware]
    warm_kinds: list[object] = [m.cls for m in warm.user_middleware]
    assert csbm.web.WarmOnFirstPage in lazy_kinds
    assert csbm.web.WarmOnFirstPage not in warm_kinds


def test_a_lazy_map_is_warmed_at_the_first_page_not_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    import csbm.web
    from csbm.web import WarmOnFirstPage

    started: list[int] = []
    monkeypatch.setattr(csbm.web, "warm_up", lambda: started.append(1))
    seen: list[str] = []

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(scope["path"])

    middleware = WarmOnFirstPage(app)

    def request(path: str, kind: str = "http") -> None:
        asyncio.run(middleware({"type": kind, "path": path}, None, None))

    request("/", kind="lifespan")
    request("/api/v1/nodes/inbox")
    request("/.well-known/csbm")
    assert started == []  # deliveries and protocol requests: no geography
    request("/web/login")
    request("/api/v1/workbench/map")
    request("/web/map")
    assert started == [1]  # once, at the first page
    assert seen == ["/", "/api/v1/nodes/inbox", "/.well-known/csbm", "/web/login",
                    "/api/v1/workbench/map", "/web/map"]  # fmt: skip


def test_the_first_replay_prepares_no_geography(
    lt: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay warmed at start (csbm serve) makes the pages' views, not the map's
    border zones: those are geography, made by csbm.web.warm_up (at start, or at the
    first page with --lazy-map)."""
    from types import SimpleNamespace

    import csbm.services.map
    from csbm.web.replays import prepare, replayed

    calls: list[object] = []
    monkeypatch.setattr(csbm.services.map, "border_zones", lambda packs: calls.append(packs))
    prepare(replayed(SimpleNamespace(), lt, T0))
    assert calls == []


def test_mark_done_records_every_receipt_in_one_statement_on_both_backends(
    tmp_path: Path, db_url: str
) -> None:
    """The hub's fan-out step marks its rows done in one executemany (driver SQL): the
    same outcome as one UPDATE per row, on SQLite and PostgreSQL."""
    from csbm.store import outbox
    from tests.store.nodes import make_node

    node = make_node(tmp_path, db_url, "LT")
    try:
        message = {"kind": "ch3.request", "case": "c", "body": {}}
        node.put_peer(PeerRecord("BY", "http://127.0.0.1:9", "csbm/BY", b"\x01" * 32,
                                 "SHA256:x", "2026-03-01T09:00:00Z"))  # fmt: skip
        ids = [node.queue_message(message, ["BY"], ["BY"], T0).message_id for _ in range(3)]
        rows = [r for mid in ids for r in node.outbox_rows(mid)]
        node.outbox_mark(rows[0].id, attempted=True, error="down")
        outbox.mark_done(node.store, [
            (rows[0].id, b"\x00r0", "2026-03-01T09:00:01.000Z"),
            (rows[1].id, b"r1\xff", "2026-03-01T09:00:02.000Z"),
        ])  # fmt: skip
        after = {r.id: r for r in node.outbox_rows()}
        first, second, third = (after[r.id] for r in rows)
        assert (first.status, first.attempts, first.last_error, first.receipt, first.done_at) \
            == ("done", 2, None, b"\x00r0", "2026-03-01T09:00:01.000Z")  # fmt: skip
        assert (second.status, second.attempts, second.receipt) == ("done", 1, b"r1\xff")
        assert (third.status, third.attempts, third.receipt) == ("pending", 0, None)
        outbox.mark_done(node.store, [])  # nothing to do: no transaction
    finally:
        node.close()
