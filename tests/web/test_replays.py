"""The replay kept between requests (csbm.web.replays): kept while the log keeps its size
and the clock moves less than the TTL forward; replayed afresh otherwise; a quick replay
is never kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csbm.node import Node
from csbm.services.replay import replay_node
from csbm.web.replays import ReplayCache
from tests.web.conftest import CLOCK


def test_a_slow_replay_is_kept_while_the_log_and_clock_hold(network: dict[str, Path]) -> None:
    cache = ReplayCache(ttl=timedelta(seconds=30), slow=0.0)  # every replay counts as slow
    with Node.open(network["PL"]) as node:
        first = cache.get(node, CLOCK)
        assert cache.replays == 1
        assert first.document() == replay_node(node, CLOCK).document()
        assert cache.get(node, CLOCK + timedelta(seconds=29)) is first
        assert cache.replays == 1
        # the clock moved by the TTL, or back: replayed afresh
        assert cache.get(node, CLOCK + timedelta(seconds=30)) is not first
        assert cache.replays == 2
        cache.get(node, CLOCK - timedelta(seconds=1))
        assert cache.replays == 3
        # the log grew: replayed afresh, the new entry in it
        kept = cache.get(node, CLOCK)
        request = {"kind": "ch3.request", "case": "kept-cache", "body": {"questions": ["?"]}}
        node.append_message(request, ["LT"], CLOCK - timedelta(hours=1))
        fresh = cache.get(node, CLOCK)
        assert fresh is not kept
        assert "kept-cache" in {c.case for c in fresh.result.cases}
        assert "kept-cache" not in {c.case for c in kept.result.cases}


def test_a_quick_replay_is_not_kept(network: dict[str, Path]) -> None:
    cache = ReplayCache(slow=3600.0)  # no replay is that slow
    with Node.open(network["EE"]) as node:
        first = cache.get(node, CLOCK)
        second = cache.get(node, CLOCK)
    assert first is not second and cache.replays == 2
    assert first.document() == second.document()
