"""A peer's rotation and revocation, delivered, update the recipient's key directory: the
next message signed with the new key is accepted; a forged statement changes nothing.
Both backends."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from csbm.ledger.envelope import EnvelopeError, seal
from csbm.ledger.keys import (
    KIND_REVOCATION,
    KIND_ROTATION,
    generate_state_key,
    revocation_body,
    rotation_body,
)
from csbm.ledger.receipt import ReceiptError
from csbm.node import Node
from tests.store.backends import backend, db_factory, db_url
from tests.store.nodes import T0, at, make_node, notification

__all__ = ["backend", "db_factory", "db_url"]


@pytest.fixture
def pair(tmp_path: Path, db_url: str, db_factory: Callable[[], str]) -> Iterator[tuple[Node, Node]]:
    ua = make_node(tmp_path, db_url, "UA")
    at_ = make_node(tmp_path, db_factory(), "AT")
    ua.add_peer_key("AT", at_.key.verifier_key, T0)
    at_.add_peer_key("UA", ua.key.verifier_key, T0)
    yield ua, at_
    ua.close()
    at_.close()


def _deliver(sender: Node, recipient: Node, index: int, when: int) -> None:
    raw = sender.store.entry(index).envelope
    seen = recipient.store.last_checkpoint(sender.origin)
    receipt = recipient.receive(
        sender.delivery(raw, index, seen.size if seen else 0, at(when)), at(when)
    )
    sender.record_receipt(receipt.raw)


def _ua_keys(node: Node) -> dict[str, tuple[str | None, str | None]]:
    return {r.key_id: (r.valid_until, r.revoked_at) for r in node.store.key_records("UA")}


def test_delivered_rotation_lets_the_new_key_sign(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    old = ua.key.key_id
    new, result = ua.rotate(at(1))
    _deliver(ua, at_, result.index, 2)
    keys = _ua_keys(at_)
    assert keys[new.key_id] == (None, None)
    assert keys[old][0] is not None  # the old key's period ended at the handover
    (sent,) = ua.append([ua.sign(notification(1), ["AT"], at(3))])
    _deliver(ua, at_, sent.index, 4)  # signed by the new key: accepted
    assert at_.store.entry_by_message_id(sent.message_id) is not None


def test_without_the_rotation_the_new_key_is_unknown(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    ua.rotate(at(1))
    (sent,) = ua.append([ua.sign(notification(1), ["AT"], at(3))])
    with pytest.raises((EnvelopeError, ReceiptError)) as caught:
        _deliver(ua, at_, sent.index, 4)
    assert "unknown_key" in caught.value.code


def test_delivered_revocation_revokes_the_peer_key(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    old = ua.key.key_id
    _, rotation = ua.rotate(at(1))
    _deliver(ua, at_, rotation.index, 2)
    revocation = ua.revoke(old, at(3), "compromised")
    _deliver(ua, at_, revocation.index, 4)
    assert _ua_keys(at_)[old][1] is not None


def test_forged_rotation_is_refused_and_changes_nothing(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    before = _ua_keys(at_)
    new = generate_state_key("UA")
    body = rotation_body(ua.key, new, at(1))
    body["new_key_signature"] = base64.b64encode(bytes(64)).decode("ascii")  # no proof
    statement = seal({"kind": KIND_ROTATION, "body": body}, ua.key, ["all"], at(1))
    (logged,) = ua.append([statement])
    with pytest.raises(ReceiptError) as caught:
        _deliver(ua, at_, logged.index, 2)
    assert caught.value.code == "delivery.key_statement"
    assert _ua_keys(at_) == before


def test_a_state_cannot_revoke_anothers_key(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    before = {r.key_id: r.revoked_at for r in at_.store.key_records("AT")}
    statement = seal(
        {"kind": KIND_REVOCATION, "body": revocation_body("AT", at_.key.key_id, at(1), "x")},
        ua.key, ["all"], at(1),
    )  # fmt: skip
    (logged,) = ua.append([statement])
    with pytest.raises(ReceiptError) as caught:
        _deliver(ua, at_, logged.index, 2)
    assert caught.value.code == "delivery.key_statement"
    assert {r.key_id: r.revoked_at for r in at_.store.key_records("AT")} == before
