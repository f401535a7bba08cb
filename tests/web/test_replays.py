"""The projection kept between requests (csbm.web.replays): kept while the log keeps its
size and the clock moves less than its time to live; when the log grows or the clock
moves on, the last complete projection is served at once and a fresh one is made in the
background; each entry is parsed once; a quick replay is never kept; a failed refresh
leaves the last projection serving."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from csbm.node import Node
from csbm.services.replay import replay_node
from csbm.web.replays import Projection, ReplayCache, projection, warm
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
    import csbm.procedures.runner as runner

    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0, cost_factor=0)
    with Node.open(network["PL"]) as node:
        first = cache.get(node, CLOCK)

        def broken(*_a: Any, **_k: Any) -> Any:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(runner, "replay", broken)
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
