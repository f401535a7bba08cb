"""While the first view of the log is being built (``csbm serve`` has just started on a
large log), the pages answer at once with a notice of the replay's progress that asks
for the page again every second; their JSON twins answer 503 with ``Retry-After`` and
problem+json; the pages that do not need the view answer as usual; once the replay is
done the same requests get the page; a failed replay is a clear error page, logged.

The replay is held by the test (a gated replay function, :class:`Stepper`), never by a
guess of how long something takes."""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from csbm.api import Settings, create_app
from csbm.node import Node
from csbm.procedures.base import Context, Event
from csbm.procedures.runner import ReplayResult
from csbm.web.replays import ReplayCache, replay_counted
from tests.web.conftest import PASSWORD, Clock, signed_in

POLL = {"HX-Request": "true", "HX-Trigger": "building"}
TWIN = "/api/v1/workbench/today"


class Stepper:
    """A replay function the test drives: it says when it has started, then tells its
    progress in two steps (half the events, all of them), each when the test lets it,
    then, when the test lets it, replays for real -- or fails when the test says
    ``fail``."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go: queue.Queue[str] = queue.Queue()
        self.stepped: queue.Queue[int] = queue.Queue()

    def __call__(
        self, events: Sequence[Event], ctx: Context, at: datetime,
        counted: Callable[[int], None],
    ) -> ReplayResult:  # fmt: skip
        self.entered.set()
        for done in (len(events) // 2, len(events)):
            if self.go.get(timeout=60) == "fail":
                raise RuntimeError("disk on fire")
            counted(done)
            self.stepped.put(done)
        if self.go.get(timeout=60) == "fail":
            raise RuntimeError("disk on fire")
        return replay_counted(events, ctx, at, lambda _done: None)

    def step(self) -> int:
        self.go.put("step")
        return self.stepped.get(timeout=60)


@dataclass
class Starting:
    app: FastAPI
    client: TestClient
    cache: ReplayCache
    stepper: Stepper
    data: Path

    def finish(self) -> None:
        """Let the replay end and wait for it."""
        for _ in range(3):
            self.stepper.go.put("step")
        worker = self.cache._worker
        assert worker is not None
        worker.join(60)
        assert not worker.is_alive()


def _start(data: Path, stepper: Stepper) -> tuple[FastAPI, ReplayCache]:
    app = create_app(Settings(data=data, worker=False), clock=Clock())
    # slow=0: every replay is kept (as on a large log); small=0: none is waited for
    cache = ReplayCache(slow=0.0, small=0, replay=stepper)
    app.state.web_replays = cache  # the cache warm() starts the first replay in
    return app, cache


@pytest.fixture
def starting(network: dict[str, Path]) -> Iterator[Starting]:
    stepper = Stepper()
    app, cache = _start(network["LT"], stepper)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert stepper.entered.wait(60), "the replay at start-up did not begin"
        try:
            yield Starting(app, client, cache, stepper, network["LT"])
        finally:
            for _ in range(3):
                stepper.go.put("step")


def _timed_get(client: TestClient, url: str, **kw: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.get(url, **kw)
    return response, time.monotonic() - started


@pytest.mark.parametrize("page", ["today", "map", "calendar", "procedures"])
def test_a_page_answers_at_once_with_the_progress_then_shows_itself(
    starting: Starting, page: str
) -> None:
    client = starting.client
    signed_in(client, "rita")
    response, took = _timed_get(client, f"/web/{page}")
    assert response.status_code == 200 and took < 10  # the replay is held: never waited for
    html = response.text
    assert 'data-testid="building"' in html and 'role="status"' in html
    assert 'aria-live="polite"' in html
    assert f'hx-get="/web/{page}"' in html and 'hx-trigger="every 1s"' in html
    assert '<meta http-equiv="refresh"' in html  # inside <noscript>: without scripts
    assert "Building the view of the log" in html
    assert "replaying the procedures, 0 of" in html
    assert 'data-testid="as-of-size"' not in html  # not the page
    nav = re.search(rf'<a href="/web/{page}" id="nav-{page}"( aria-current="page")?>', html)
    assert nav is not None and nav.group(1)

    poll = client.get(f"/web/{page}", headers=POLL)  # the notice's own poll: its content
    assert poll.status_code == 200 and "<html" not in poll.text
    assert 'data-testid="building-line"' in poll.text and "HX-Refresh" not in poll.headers

    starting.finish()
    done = client.get(f"/web/{page}")
    assert done.status_code == 200 and 'data-testid="as-of-size"' in done.text
    assert 'data-testid="building"' not in done.text
    ready = client.get(f"/web/{page}", headers=POLL)  # the poll now reloads the page
    assert ready.status_code == 200 and ready.headers["HX-Refresh"] == "true"


def test_the_progress_shown_increases(starting: Starting) -> None:
    client = starting.client
    signed_in(client, "rita")
    auth = ("rita", PASSWORD)

    def shown() -> tuple[int, int, int, int]:
        poll = client.get("/web/today", headers=POLL).text
        bar = re.search(r'data-done="(\d+)" data-total="(\d+)"', poll)
        assert bar is not None, poll
        progress = client.get(TWIN, auth=auth).json()["progress"]
        assert progress["stage"] == "replay" and progress["step"] == 2 == progress["steps"] - 1
        return int(bar.group(1)), int(bar.group(2)), progress["done"], progress["total"]

    first = shown()
    half = starting.stepper.step()
    second = shown()
    whole = starting.stepper.step()
    third = shown()
    assert first[0] == first[2] == 0 and first[1] == first[3] > 1
    assert second[0] == second[2] == half and 0 < half < whole
    assert third[0] == third[2] == whole == third[1]


def test_the_json_twin_answers_503_with_retry_after_then_the_document(
    starting: Starting,
) -> None:
    auth = ("rita", PASSWORD)
    for twin in (TWIN, "/api/v1/workbench/map", "/api/v1/workbench/calendar",
                 "/api/v1/workbench/procedures"):  # fmt: skip
        response, took = _timed_get(starting.client, twin, auth=auth)
        assert response.status_code == 503 and took < 10, twin
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["Retry-After"]) >= 1
        body = response.json()
        assert body["type"] == "about:blank" and body["title"] == "Service Unavailable"
        assert body["status"] == 503 and body["code"] == "web.not_ready"
        assert "building the view of the log" in body["detail"]
        assert "replaying the procedures: 0 of" in body["detail"]
        assert body["progress"]["done"] == 0 and body["progress"]["total"] > 0
    starting.finish()
    done = starting.client.get(TWIN, auth=auth)
    assert done.status_code == 200 and "deadlines" in done.json()


def test_the_pages_that_do_not_need_the_view_do_not_wait(starting: Starting) -> None:
    client = starting.client
    login, took = _timed_get(client, "/web/login")
    assert login.status_code == 200 and took < 10
    signed_in(client, "audrey")
    record, took = _timed_get(client, "/web/record")
    assert record.status_code == 200 and took < 10 and 'data-testid="building"' not in record.text
    with Node.open(starting.data) as node:
        message_id = next(e.message_id for e in node.entries() if e.kind == "notification")
    message, took = _timed_get(client, f"/web/messages/{message_id}")
    assert message.status_code == 200 and took < 10
    assert 'data-testid="building"' not in message.text
    signed_in(client, "dora")
    compose, took = _timed_get(client, "/web/compose?type=notification")
    assert compose.status_code == 200 and took < 10
    assert 'data-testid="building"' not in compose.text
    assert starting.cache.running()  # all the while the replay was held


def test_a_failed_replay_is_an_error_page_and_logged(network: dict[str, Path]) -> None:
    stepper = Stepper()
    app, cache = _start(network["LT"], stepper)
    with capture_logs() as logs, TestClient(app, base_url="http://127.0.0.1") as client:
        assert stepper.entered.wait(60)
        signed_in(client, "rita")
        stepper.go.put("fail")
        worker = cache._worker
        assert worker is not None
        worker.join(60)
        page = client.get("/web/today")
        assert page.status_code == 500
        assert "The view of the log could not be built" in page.text
        assert "RuntimeError: disk on fire" in page.text
        assert 'data-testid="building"' not in page.text  # no notice that never ends
        poll = client.get("/web/today", headers=POLL)
        assert poll.headers.get("HX-Refresh") == "true"  # a notice on screen shows it
        twin = client.get(TWIN, auth=("rita", PASSWORD))
        assert twin.status_code == 500 and twin.json()["code"] == "web.replay_failed"
        assert "disk on fire" in twin.json()["detail"]
        assert not cache.running()  # not tried again at once
    failed = [e for e in logs if e.get("event") == "replay_failed"]
    assert failed and failed[0]["log_level"] == "error"
    assert "disk on fire" in failed[0]["error"]


def test_a_failed_replay_is_tried_again_after_a_while(network: dict[str, Path]) -> None:
    stepper = Stepper()
    app, cache = _start(network["LT"], stepper)
    cache.retry = 0.0  # tried again at the next request
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert stepper.entered.wait(60)
        signed_in(client, "rita")
        stepper.go.put("fail")
        worker = cache._worker
        assert worker is not None
        worker.join(60)
        again = client.get("/web/today")
        assert again.status_code == 200 and 'data-testid="building"' in again.text
        assert cache.running() and cache._worker is not worker
        for _ in range(3):
            stepper.go.put("step")
        assert cache._worker is not None
        cache._worker.join(60)
        assert 'data-testid="as-of-size"' in client.get("/web/today").text


def test_the_notice_is_in_the_readers_language(starting: Starting) -> None:
    client = starting.client
    signed_in(client, "rita")
    client.cookies.set("csbm_lang", "uk")
    try:
        html = client.get("/web/today").text
    finally:
        client.cookies.delete("csbm_lang")
    assert '<html lang="uk">' in html
    assert "Побудова подання журналу" in html and "відтворення процедур" in html
