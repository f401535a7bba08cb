"""The audit on healthy logs: inline and with the worker pool, progress, the report; a
bad signature by a directory key, an unknown key, a false rotation. Both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import rfc8785

from csbm.ledger.audit import audit
from csbm.ledger.envelope import seal
from csbm.ledger.keys import KIND_ROTATION, generate_state_key, rotation_body
from csbm.node import Node
from tests.store.backends import backend, db_url
from tests.store.nodes import at, make_node, notification

__all__ = ["backend", "db_url"]


@pytest.fixture
def node(tmp_path: Path, db_url: str) -> Iterator[Node]:
    ua = make_node(tmp_path, db_url, "UA")
    for batch in range(6):
        ua.append(
            [ua.sign(notification(10 * batch + i), ["all"], at(batch + 1)) for i in range(10)]
        )
    ua.checkpoint(at(10))
    yield ua
    ua.close()


def test_inline_and_pool_audits_agree_on_a_healthy_log(node: Node) -> None:
    seen: list[tuple[int, int]] = []
    inline = audit(node.store, "UA", workers=0, chunk=7, progress=lambda d, t: seen.append((d, t)))
    pooled = audit(node.store, "UA", workers=2, chunk=7)
    for report in (inline, pooled):
        assert report.ok, [f.line() for f in report.faults]
        assert (report.size, report.entries, report.signatures) == (61, 61, 61)
        assert report.nodes == 61 - bin(61).count("1")  # perfect subtrees above the leaves
        assert report.checkpoints == 1
    assert pooled.workers == 2
    assert seen[-1] == (61, 61) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    doc = inline.to_json()
    assert doc["ok"] is True and doc["first_fault"] is None and doc["checked"]["entries"] == 61
    json.dumps(doc)


def test_entries_signed_by_a_stranger_or_badly_are_named(node: Node) -> None:
    stranger = generate_state_key("UA")
    foreign = seal(notification(), stranger, ["all"], at(20))
    # a validly formed envelope whose signature is by another key than the one it names
    doc = json.loads(seal(notification(1), stranger, ["all"], at(20)).raw)
    doc["key_id"] = node.key.key_id
    lying = rfc8785.dumps(doc)
    from csbm.store import EntryRecord

    node.store.append(
        [
            foreign.record(),
            EntryRecord(
                doc["message_id"],
                doc["message"]["kind"],
                "UA",
                node.key.key_id,
                doc["created_at"],
                lying,
            ),
        ]
    )
    report = audit(node.store, "UA", workers=0)
    assert [(f.index, f.code) for f in report.faults] == [
        (61, "envelope.unknown_key"),
        (62, "envelope.bad_signature"),
    ]
    assert report.first_fault is not None and report.first_fault.line().startswith("entry 61: ")


def test_rotation_without_proof_of_the_new_key_is_named(node: Node) -> None:
    body = rotation_body(node.key, generate_state_key("UA"), at(30))
    body["new_key"] = generate_state_key("UA").verifier_key
    statement = node.sign({"kind": KIND_ROTATION, "body": body}, ["all"], at(30))
    (res,) = node.append([statement])
    report = audit(node.store, "UA", workers=0)
    assert [(f.index, f.code) for f in report.faults] == [(res.index, "key.rotation")]


def test_fault_list_is_capped(node: Node) -> None:
    stranger = generate_state_key("UA")
    node.store.append([seal(notification(i), stranger, ["all"], at(40)).record() for i in range(5)])
    report = audit(node.store, "UA", workers=0, max_faults=3)
    assert len(report.faults) == 3 and report.faults_truncated
    assert report.to_json()["faults_truncated"] is True


def test_empty_directory_of_a_fresh_node_verifies(tmp_path: Path, db_url: str) -> None:
    fresh = make_node(tmp_path / "fresh", db_url, "AT")
    try:
        report = audit(fresh.store, "AT")
        assert report.ok and report.size == 1 and report.nodes == 0
    finally:
        fresh.close()
