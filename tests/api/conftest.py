"""What the API's tests share: three nodes (LT, BY, PL) that know each other's keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from csbm.node import Node, init_node

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
"""When the three nodes are made (their keys valid from then on)."""


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[str, Node]]:
    made = {code: init_node(code, T0, data=tmp_path / code) for code in ("LT", "BY", "PL")}
    for code, node in made.items():
        for other, peer in made.items():
            if other != code:
                node.add_peer_key(other, peer.key.verifier_key, T0)
    yield made
    for node in made.values():
        node.close()
