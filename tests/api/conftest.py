"""What the API's tests share: three nodes (LT, BY, PL) that know each other's keys; a
hub that registered some nodes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from csbm.hub import init_hub
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


def registered(tmp_path: Path, codes: Sequence[str]) -> tuple[Path, dict[str, Node]]:
    """A hub in ``tmp_path / "hub"`` that registered a node of each of ``codes`` (made
    here, left open: the caller closes them); the hub's directory and the nodes."""
    hub = init_hub(T0, tmp_path / "hub")
    made = {code: init_node(code, T0, data=tmp_path / code) for code in codes}
    try:
        for node in made.values():
            hub.register(node.state, node.key.verifier_key, "http://127.0.0.1:9",
                         node.key.fingerprint, T0)  # fmt: skip
        return hub.directory, made
    finally:
        hub.close()
