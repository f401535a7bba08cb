"""The projection kept between requests (csbm.web.replays): kept while the log keeps its
size and the clock moves less than its time to live; when the log grows or the clock
moves on, the last complete projection is served at once and a fresh one is made in the
background; each entry is parsed once; a quick replay is never kept; a failed refresh
leaves the last projection serving."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from csbm.node import Node
from csbm.services.replay import replay_node
from csbm.web.replays import (
    NotReady,
    Progress,
    Projection,
    ReplayCache,
    ReplayFailed,
    projection,
    replay_counted,
    warm,
)
from tests.web.conftest import CLOCK


def _settled(cache: ReplayCache, node: Node, at: Any) -> Projection:
    """Ask (which starts the background replay when one is due), wait for it, ask again."""
    cache.get(node, at)
    worker = cache._worker
    if worker is not None:
        worker.join(60)
    return cache.get(node, at)


def test_a_slow_replay_is_kept_while_the_log_and_clock_hold(network: dict[str, Path]) -> None:
    # every replay counts as slow
    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0, cost_factor=0)
    with Node.open(network["PL"]) as node:
        first = cache.get(node, CLOCK)
        assert cache.replays == 1 and first.size == node.size() and first.at == CLOCK
        assert first.value.document() == replay_node(node, CLOCK).document()
        assert cache.get(node, CLOCK + timedelta(seconds=29)) is first
        assert cache.get(node, CLOCK - timedelta(seconds=29)) is first
        assert cache.replays == 1 and cache.background == 0


def test_a_moved_clock_serves_the_kept_projection_and_refreshes_it_behind(
    network: dict[str, Path],
) -> None:
    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0, cost_factor=0)
    later = CLOCK + timedelta(seconds=30)
    with Node.open(network["PL"]) as node:
        first = cache.get(node, CLOCK)
        assert cache.get(node, later) is first  # served at once, as of the old clock
        fresh = _settled(cache, node, later)
        assert fresh is not first and fresh.at == later
        assert cache.replays == 2 and cache.background == 1
        assert fresh.value.document() == replay_node(node, later).document()


def test_a_grown_log_is_seen_after_the_background_refresh(network: dict[str, Path]) -> None:
    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0, cost_factor=0)
    with Node.open(network["EE"]) as node:
        kept = cache.get(node, CLOCK)
        request = {"kind": "ch3.request", "case": "kept-cache", "body": {"questions": ["?"]}}
        node.append_message(request, ["LT"], CLOCK - timedelta(hours=1))
        stale = cache.get(node, CLOCK)
        assert stale is kept and stale.size == node.size() - 1  # "as of log size N"
        assert "kept-cache" not in {c.case for c in stale.value.result.cases}
        fresh = _settled(cache, node, CLOCK)
        assert fresh.size == node.size()
        assert "kept-cache" in {c.case for c in fresh.value.result.cases}
        assert fresh.value.document() == replay_node(node, CLOCK).document()


def test_each_entry_is_parsed_once(network: dict[str, Path], monkeypatch: Any) -> None:
    cache = ReplayCache(slow=0.0, cost_factor=0)
    read: list[tuple[int, int]] = []
    with Node.open(network["LV"]) as node:
        original = node.entries_between

        def spy(start: int, end: int) -> Any:
            read.append((start, end))
            return original(start, end)

        monkeypatch.setattr(node, "entries_between", spy)
        size = node.size()
        cache.get(node, CLOCK)
        assert read == [(0, size)]
        request = {"kind": "ch3.request", "case": "parsed-once", "body": {"questions": ["?"]}}
        node.append_message(request, ["LT"], CLOCK - timedelta(hours=1))
        _settled(cache, node, CLOCK + timedelta(seconds=1))
        assert read == [(0, size), (size, size + 1)]


def test_a_clock_moved_far_back_is_replayed_in_the_request(network: dict[str, Path]) -> None:
    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0, cost_factor=0)
    with Node.open(network["PL"]) as node:
        first = cache.get(node, CLOCK)
        back = cache.get(node, CLOCK - timedelta(days=30))
        assert back is not first and back.at == CLOCK - timedelta(days=30)
        assert cache.replays == 2 and cache.background == 0


def test_a_quick_replay_is_not_kept(network: dict[str, Path]) -> None:
    cache = ReplayCache(slow=3600.0)  # no replay is that slow
    with Node.open(network["EE"]) as node:
        first = cache.get(node, CLOCK)
        second = cache.get(node, CLOCK)
    assert first is not second and cache.replays == 2 and cache.kept is None
    assert first.value.document() == second.value.document()


def test_a_costly_projection_lives_twenty_times_its_cost() -> None:
    cache = ReplayCache(ttl=timedelta(seconds=30))
    cheap = Projection(1, CLOCK, None, 0.5)  # type: ignore[arg-type]
    costly = Projection(1, CLOCK, None, 5.0)  # type: ignore[arg-type]
    assert cache.live(cheap) == timedelta(seconds=30)
    assert cache.live(costly) == timedelta(seconds=100)


def test_a_failed_refresh_leaves_the_last_projection_serving(
    network: dict[str, Path], monkeypatch: Any
) -> None:
    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0, cost_factor=0)
    with Node.open(network["PL"]) as node:
        first = cache.get(node, CLOCK)

        def broken(*_a: Any, **_k: Any) -> Any:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(cache, "replay", broken)
        later = CLOCK + timedelta(minutes=5)
        assert cache.get(node, later) is first
        assert _settled(cache, node, later) is first  # the refresh failed; still served
        assert cache.kept is first


def test_warm_starts_the_first_replay_and_a_closed_cache_starts_none(
    network: dict[str, Path],
) -> None:
    class State:
        pass

    state = State()
    with Node.open(network["PL"]) as node:
        thread = warm(state, node, CLOCK)
        assert thread is not None
        thread.join(60)
        cache: ReplayCache = state.web_replays  # type: ignore[attr-defined]
        assert cache.replays == 1
        if cache.kept is not None:  # kept when it was slow to make (a loaded machine)
            assert projection(state, node, CLOCK) is cache.kept
        cache.close()
        assert cache.refresh(node, CLOCK + timedelta(hours=1)) is None


@pytest.mark.parametrize("page", ["today", "procedures", "calendar", "map"])
def test_each_page_says_which_log_size_its_projection_is_of(
    served: Any, page: str
) -> None:
    from tests.web.conftest import signed_in

    signed_in(served.client, "rita")
    html = served.client.get(f"/web/{page}").text
    with Node.open(served.data) as node:
        size = node.size()
    shown = re.search(r'data-testid="as-of-size">([^<]+)<', html)
    assert shown is not None, html[:500]
    assert int(re.sub(r"\D", "", shown.group(1))) == size


def test_the_replay_counts_its_progress_a_chunk_at_a_time(
    network: dict[str, Path], monkeypatch: Any
) -> None:
    import csbm.procedures.runner as runner
    import csbm.web.replays as replays

    monkeypatch.setattr(replays, "CHUNK", 10)
    monkeypatch.setattr(runner, "COUNT_EVERY", 4)
    seen: list[Progress] = []

    def watched(events: Any, ctx: Any, at: Any, counted: Any) -> Any:
        def spy(done: int) -> None:
            counted(done)
            seen.append(cache.progress)

        return replay_counted(events, ctx, at, spy)

    cache = ReplayCache(slow=0.0, replay=watched)
    with Node.open(network["LV"]) as node:
        original = node.entries_between

        def reading(start: int, end: int) -> Any:
            seen.append(cache.progress)
            return original(start, end)

        monkeypatch.setattr(node, "entries_between", reading)
        size = node.size()
        made = cache.get(node, CLOCK)
        assert made.value.document() == replay_node(node, CLOCK).document()
    read = [p for p in seen if p.stage == "read"]
    assert [p.done for p in read] == list(range(0, size, 10))
    assert {p.total for p in read} == {size}
    replayed = [p for p in seen if p.stage == "replay"]
    total = replayed[0].total
    assert total > 4 and {p.total for p in replayed} == {total}
    assert [p.done for p in replayed] == [min(d, total) for d in range(4, total + 4, 4)]


def test_the_counted_replay_is_the_runners(network: dict[str, Path]) -> None:
    from csbm.procedures.runner import replay
    from csbm.projection import events_from_log, node_context
    from csbm.services.replay import ReplayDocument

    with Node.open(network["LT"]) as node:
        events = events_from_log(node).events
    for at in (CLOCK, CLOCK - timedelta(days=400)):
        counted = replay_counted(events, node_context(), at, lambda _d: None)
        plain = replay(events, node_context(), at)
        assert ReplayDocument.of(counted) == ReplayDocument.of(plain)


def _held() -> tuple[Any, threading.Event, threading.Event]:
    """A replay function held until ``release`` is set; ``entered`` when it starts."""
    entered, release = threading.Event(), threading.Event()

    def held(events: Any, ctx: Any, at: Any, counted: Any) -> Any:
        entered.set()
        assert release.wait(60)
        return replay_counted(events, ctx, at, counted)

    return held, entered, release


def test_nothing_kept_and_a_long_replay_answers_not_ready_at_once(
    network: dict[str, Path],
) -> None:
    held, entered, release = _held()
    cache = ReplayCache(slow=0.0, small=0, replay=held)
    with Node.open(network["PL"]) as node:
        started = time.monotonic()
        with pytest.raises(NotReady) as first:
            cache.serve(node, CLOCK)
        assert time.monotonic() - started < 10 and entered.is_set()
        assert first.value.progress.stage == "replay"
        with pytest.raises(NotReady):  # a second request starts no second replay
            cache.serve(node, CLOCK)
        assert cache.replays == 0
        release.set()
        worker = cache._worker
        assert worker is not None
        worker.join(60)
        made = cache.serve(node, CLOCK)
        assert made is cache.kept and cache.replays == 1


def test_a_small_log_is_waited_for_and_a_quick_one_replayed_in_the_request(
    network: dict[str, Path],
) -> None:
    held, entered, release = _held()
    cache = ReplayCache(slow=3600.0, replay=held)  # the test network is small
    with Node.open(network["PL"]) as node:
        threading.Timer(0.5, release.set).start()
        first = cache.serve(node, CLOCK)  # waited for: no notice for a small log
        assert entered.is_set() and cache.replays >= 1 and cache.kept is None
        worker = cache._worker
        second = cache.serve(node, CLOCK)
        assert cache._worker is worker  # quick: replayed in the request, not behind
        assert first.value.document() == second.value.document()


def test_a_failed_first_replay_is_reported_then_tried_again(network: dict[str, Path]) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("disk on fire")

    cache = ReplayCache(slow=0.0, small=0, replay=broken, retry=3600.0)
    with Node.open(network["PL"]) as node:
        thread = cache.refresh(node, CLOCK)
        assert thread is not None
        thread.join(60)
        with pytest.raises(ReplayFailed, match="RuntimeError: disk on fire"):
            cache.serve(node, CLOCK)
        assert not cache.running()
        cache.retry = 0.0
        cache.replay = replay_counted
        try:
            made = cache.serve(node, CLOCK)
        except NotReady:
            worker = cache._worker
            assert worker is not None
            worker.join(60)
            made = cache.serve(node, CLOCK)
        assert made is cache.kept
