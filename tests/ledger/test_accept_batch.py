"""Several deliveries received in order in one commit (``accept_deliveries``,
``Node.receive_many``): the same receipts and log as one by one, one commit; the first
refusal stops the batch with the prefix logged; duplicates get their receipt; a key
change ends the batch; split-view evidence is logged and ends it. Both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import event

from csbm.errors import CsbmError
from csbm.ledger.audit import audit
from csbm.ledger.envelope import parse_envelope
from csbm.ledger.receipt import Delivery, ReceiptError, accept_deliveries
from csbm.node import Node
from tests.store.backends import backend, db_factory, db_url
from tests.store.nodes import at, make_node, notification, trust

__all__ = ["backend", "db_factory", "db_url"]


@pytest.fixture
def trio(
    tmp_path: Path, db_url: str, db_factory: Callable[[], str]
) -> Iterator[tuple[Node, Node, Node]]:
    """UA sends; AT receives batches, BE the same deliveries one by one."""
    ua = make_node(tmp_path, db_url, "UA")
    at_ = make_node(tmp_path, db_factory(), "AT")
    be = make_node(tmp_path, db_factory(), "BE")
    for node in (at_, be):
        trust(ua, node)
        trust(node, ua)
    yield ua, at_, be
    for node in (ua, at_, be):
        node.close()


def _send(
    ua: Node, n: int, recipients: list[str] | None = None, payload: dict[str, object] | None = None
) -> tuple[bytes, int]:
    env = ua.sign(payload or notification(n), recipients or ["AT", "BE"], at(1 + n))
    (result,) = ua.append([env])
    return env.raw, result.index


def _size(delivery: Delivery) -> int:
    """The size of the sender's log the delivery's checkpoint names (its second line)."""
    return int(delivery.checkpoint.split("\n")[1])


def _chain(ua: Node, raws: list[tuple[bytes, int]], seen: int = 0) -> list[Delivery]:
    """A delivery per message, each under a fresh checkpoint proving from the one before
    (as the recipient sees the sender's log after the previous one)."""
    out = []
    for n, (raw, index) in enumerate(raws):
        delivery = ua.delivery(raw, index, seen, at(50 + n))
        seen = _size(delivery)
        out.append(delivery)
    return out


@contextmanager
def _commits(node: Node) -> Iterator[list[int]]:
    counted: list[int] = []

    def count(_conn: object) -> None:
        counted.append(1)

    event.listen(node.store.engine, "commit", count)
    try:
        yield counted
    finally:
        event.remove(node.store.engine, "commit", count)


def _logged(node: Node, raw: bytes) -> bool:
    return node.store.entry_by_message_id(parse_envelope(raw).message_id) is not None


@pytest.mark.parametrize("shared", [False, True], ids=["chained", "one_checkpoint"])
def test_a_batch_gives_what_one_by_one_gives_in_one_commit(
    trio: tuple[Node, Node, Node], shared: bool
) -> None:
    ua, at_, be = trio
    sent = [_send(ua, n) for n in range(4)]
    if shared:  # the worker's form: one signed checkpoint for all of them
        batch = ua.delivery_batch("AT", [i for _r, i in sent], ua.checkpoint(at(40)))
        deliveries = list(batch.deliveries)
    else:  # the hub's form: each proving from the checkpoint of the one before
        deliveries = _chain(ua, sent)
    assert at_.store.size() == be.store.size()
    with _commits(at_) as batch_commits:
        receipts, refusal = at_.receive_many(deliveries, at(60))
    assert refusal is None and len(batch_commits) == 1
    with _commits(be) as single_commits:
        alone = [be.receive(d, at(60)) for d in deliveries]
    assert len(single_commits) == len(deliveries)  # the counter counts each commit
    assert [r.body for r in receipts] == [r.body for r in alone]
    assert at_.store.size() == be.store.size()
    for (raw, _index), receipt in zip(sent, receipts, strict=True):
        body = receipt.body
        assert body["message_id"] == parse_envelope(raw).message_id
        assert at_.store.entry(body["log_index"]).envelope == raw  # logged once, there
        assert at_.store.entry(body["log_index"] + 1).envelope == receipt.raw
        assert at_.store.receipt_for(body["message_id"], "issued") is not None
    held = at_.store.last_checkpoint("csbm/UA")
    assert held is not None and held.size == _size(deliveries[-1])
    assert held.note == deliveries[-1].checkpoint
    assert [c.size for c in at_.store.checkpoints("csbm/UA")] == [
        c.size for c in be.store.checkpoints("csbm/UA")
    ]
    report = audit(at_.store, "AT", workers=0)
    assert report.ok and report.receipts == len(deliveries)
    # the sender takes every receipt; the next delivery proves from the last size
    for receipt in receipts:
        ua.record_receipt(receipt.raw)
    raw, index = _send(ua, 9)
    at_.receive(ua.delivery(raw, index, ua.peer_seen_size("AT"), at(70)), at(70))


def _middle(kind: str, ua: Node, first: Delivery) -> tuple[Delivery, str]:
    """A delivery after ``first`` that the recipient refuses, and the refusal's code."""
    seen = _size(first)
    if kind == "not_addressed":
        raw, index = _send(ua, 11, ["BY"])
        return ua.delivery(raw, index, seen, at(51)), "delivery.not_addressed"
    raw, index = _send(ua, 11)
    good = ua.delivery(raw, index, seen, at(51))
    if kind == "inclusion":
        assert good.inclusion
        bad = replace(good, inclusion=(b"\x01" * 32, *good.inclusion[1:]))
        return bad, "delivery.inclusion"
    if kind == "stale_view":  # proves from 0 while the recipient now holds ``seen``
        return ua.delivery(raw, index, 0, at(51)), "delivery.stale_view"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["not_addressed", "inclusion", "stale_view"])
def test_a_refusal_in_the_middle_keeps_what_came_before(
    trio: tuple[Node, Node, Node], kind: str
) -> None:
    ua, at_, _be = trio
    raw0, index0 = _send(ua, 0)
    first = ua.delivery(raw0, index0, 0, at(50))
    bad, code = _middle(kind, ua, first)
    raw2, index2 = _send(ua, 12)
    last = ua.delivery(raw2, index2, _size(first), at(52))  # valid after the first alone
    size = at_.store.size()
    with _commits(at_) as commits:
        receipts, refusal = at_.receive_many([first, bad, last], at(60))
    assert len(commits) == 1
    assert isinstance(refusal, CsbmError) and refusal.code == code
    if kind == "stale_view":
        assert refusal.problems[0].value == _size(first)  # the size to prove from
    assert [r.body["message_id"] for r in receipts] == [parse_envelope(raw0).message_id]
    assert at_.store.size() == size + 2  # the first message and its receipt only
    assert _logged(at_, raw0)
    assert not _logged(at_, bad.envelope) and not _logged(at_, raw2)
    held = at_.store.last_checkpoint("csbm/UA")
    assert held is not None and held.note == first.checkpoint
    assert at_.store.split_view_evidence() == []
    # the ones after the refusal were not looked at: alone, the last one is accepted
    again = at_.receive(last, at(61))
    assert at_.store.entry(again.body["log_index"]).envelope == raw2


def test_the_first_refused_stores_nothing(trio: tuple[Node, Node, Node]) -> None:
    ua, at_, _be = trio
    raw, index = _send(ua, 0, ["BY"])
    raw1, index1 = _send(ua, 1)
    size = at_.store.size()
    receipts, refusal = at_.receive_many(
        [ua.delivery(raw, index, 0, at(50)), ua.delivery(raw1, index1, 0, at(50))], at(60)
    )
    assert receipts == [] and refusal is not None and refusal.code == "delivery.not_addressed"
    assert at_.store.size() == size and at_.store.last_checkpoint("csbm/UA") is None


def test_duplicates_in_and_before_a_batch_get_their_receipt_and_change_nothing(
    trio: tuple[Node, Node, Node],
) -> None:
    ua, at_, _be = trio
    sent = [_send(ua, n) for n in range(3)]
    d0, d1, d2 = _chain(ua, sent)
    r0 = at_.receive(d0, at(60))
    size = at_.store.size()
    receipts, refusal = at_.receive_many([d0, d1, d1, d0, d2, d2], at(61))
    assert refusal is None and len(receipts) == 6
    assert receipts[0].raw == r0.raw and receipts[3].raw == r0.raw  # the original receipt
    assert receipts[2].raw == receipts[1].raw and receipts[5].raw == receipts[4].raw
    assert receipts[1].raw != receipts[4].raw
    assert at_.store.size() == size + 4  # two messages, two receipts: once each
    assert audit(at_.store, "AT", workers=0).receipts == 3
    held = at_.store.last_checkpoint("csbm/UA")
    assert held is not None and held.note == d2.checkpoint
    # the whole batch again: the same receipts, nothing written
    size = at_.store.size()
    again, refusal = at_.receive_many([d0, d1, d2], at(62))
    assert refusal is None and [r.raw for r in again] == [receipts[i].raw for i in (0, 1, 4)]
    assert at_.store.size() == size


def test_a_replay_in_a_batch_is_refused_there(trio: tuple[Node, Node, Node]) -> None:
    ua, at_, _be = trio
    raw0, index0 = _send(ua, 0)
    d0 = ua.delivery(raw0, index0, 0, at(50))
    twin = ua.sign(notification(99), ["AT"], at(4), message_id=parse_envelope(raw0).message_id)
    raw1, index1 = _send(ua, 1)
    # the sender's log cannot hold the twin: it rides a delivery of another message
    d_twin = replace(ua.delivery(raw1, index1, _size(d0), at(51)), envelope=twin.raw)
    receipts, refusal = at_.receive_many([d0, d_twin], at(60))
    assert len(receipts) == 1 and refusal is not None and refusal.code == "envelope.replayed"
    assert at_.store.entry_by_message_id(parse_envelope(raw0).message_id) is not None
    assert at_.store.entry(receipts[0].body["log_index"]).envelope == raw0


def test_a_key_rotation_ends_the_batch_without_a_refusal(trio: tuple[Node, Node, Node]) -> None:
    ua, at_, _be = trio
    raw0, index0 = _send(ua, 0)
    d0 = ua.delivery(raw0, index0, 0, at(2))  # under the old key
    old = ua.key.key_id
    new, rotation = ua.rotate(at(3))
    statement = ua.store.entry(rotation.index).envelope
    d_rot = ua.delivery(statement, rotation.index, _size(d0), at(4))  # under the new key
    raw1, index1 = _send(ua, 5)  # signed by the new key
    d1 = ua.delivery(raw1, index1, _size(d_rot), at(6))
    assert parse_envelope(raw1).key_id == new.key_id != old
    receipts, refusal = at_.receive_many([d0, d_rot, d1], at(7))
    assert refusal is None
    assert [r.body["message_id"] for r in receipts] == [
        parse_envelope(raw0).message_id, parse_envelope(statement).message_id
    ]  # fmt: skip
    assert not _logged(at_, raw1)
    keys = {r.key_id: r for r in at_.store.key_records("UA")}
    assert new.key_id in keys and keys[old].valid_until is not None
    # sent again, it is checked against the new key
    receipt = at_.receive(d1, at(8))
    assert at_.store.entry(receipt.body["log_index"]).envelope == raw1


def test_a_revocation_ends_the_batch_without_a_refusal(trio: tuple[Node, Node, Node]) -> None:
    ua, at_, _be = trio
    old = ua.key.key_id
    _new, rotation = ua.rotate(at(1))
    statement = ua.store.entry(rotation.index).envelope
    d_rot = ua.delivery(statement, rotation.index, 0, at(2))
    at_.receive(d_rot, at(2))
    revocation = ua.revoke(old, at(3), "compromised")
    raw_rev = ua.store.entry(revocation.index).envelope
    d_rev = ua.delivery(raw_rev, revocation.index, _size(d_rot), at(4))
    raw1, index1 = _send(ua, 5)
    d1 = ua.delivery(raw1, index1, _size(d_rev), at(6))
    receipts, refusal = at_.receive_many([d_rev, d1], at(7))
    assert refusal is None and len(receipts) == 1
    assert receipts[0].body["message_id"] == parse_envelope(raw_rev).message_id
    assert not _logged(at_, raw1)
    assert {r.key_id: r.revoked_at for r in at_.store.key_records("UA")}[old] is not None
    at_.receive(d1, at(8))
    assert _logged(at_, raw1)


def test_a_body_its_schema_refuses_stops_the_batch_there(trio: tuple[Node, Node, Node]) -> None:
    ua, at_, _be = trio
    raw0, index0 = _send(ua, 0)
    d0 = ua.delivery(raw0, index0, 0, at(50))
    bad_payload: dict[str, object] = {"kind": "ch3.request", "case": "c1", "body": {"nope": 1}}
    raw1, index1 = _send(ua, 1, payload=bad_payload)
    d1 = ua.delivery(raw1, index1, _size(d0), at(51))
    raw2, index2 = _send(ua, 2)
    d2 = ua.delivery(raw2, index2, _size(d0), at(52))
    size = at_.store.size()
    receipts, refusal = at_.receive_many([d0, d1, d2], at(60))
    assert refusal is not None and refusal.code == "message.invalid"
    assert len(receipts) == 1 and _logged(at_, raw0)
    assert not _logged(at_, raw1) and not _logged(at_, raw2)
    assert at_.store.size() == size + 2
    # first in the batch: nothing stored at all
    size = at_.store.size()
    receipts, refusal = at_.receive_many([d1, d2], at(61))
    assert receipts == [] and refusal is not None and refusal.code == "message.invalid"
    assert at_.store.size() == size
    # the caller's parse of other bytes is not trusted: the item's own bytes are checked
    receipts, refusal = at_.receive_many([d1], at(62), envelopes=[parse_envelope(raw2)])
    assert receipts == [] and refusal is not None and refusal.code == "message.invalid"
    assert at_.store.size() == size


def test_split_view_evidence_in_the_middle_is_logged_and_ends_the_batch(
    trio: tuple[Node, Node, Node],
) -> None:
    ua, at_, _be = trio
    raw0, index0 = _send(ua, 0)
    d0 = ua.delivery(raw0, index0, 0, at(50))
    raw1, index1 = _send(ua, 1)
    d1 = ua.delivery(raw1, index1, _size(d0), at(51))
    bare = replace(d1, consistency=())  # from the right size, without the proof
    raw2, index2 = _send(ua, 2)
    d2 = ua.delivery(raw2, index2, _size(d0), at(52))
    size = at_.store.size()
    with _commits(at_) as commits:
        receipts, refusal = at_.receive_many([d0, bare, d2], at(60))
    assert len(commits) == 1
    assert isinstance(refusal, ReceiptError)
    assert refusal.code == "delivery.split_view.inconsistent"
    assert len(receipts) == 1 and _logged(at_, raw0)
    assert not _logged(at_, raw1) and not _logged(at_, raw2)
    assert at_.store.size() == size + 2
    evidence = at_.store.split_view_evidence()
    assert len(evidence) == 1 and "csbm/UA" in evidence[0]["evidence"]
    held = at_.store.last_checkpoint("csbm/UA")
    assert held is not None and held.note == d0.checkpoint


def test_accept_deliveries_takes_the_callers_parse(trio: tuple[Node, Node, Node]) -> None:
    """The ledger function itself, without the node's schema check: envelopes parsed by
    the caller or not, the same receipts."""
    ua, at_, be = trio
    sent = [_send(ua, n) for n in range(2)]
    deliveries = _chain(ua, sent)
    items = [(d, parse_envelope(d.envelope)) for d in deliveries]
    receipts, refusal = accept_deliveries(
        at_.store, at_.key, at_.directory_of_keys(), items, at(60)
    )
    plain, refusal2 = accept_deliveries(
        be.store, be.key, be.directory_of_keys(), [(d, None) for d in deliveries], at(60)
    )
    assert refusal is None and refusal2 is None
    assert [r.body for r in receipts] == [r.body for r in plain] and len(receipts) == 2


def test_an_older_checkpoint_held_earlier_in_the_same_batch(trio: tuple[Node, Node, Node]) -> None:
    """A batch whose third delivery carries the checkpoint of the first (older than the
    second's): accepted as one by one would be, because the checkpoints the batch held so
    far are read in its own transaction (they were read on another connection before,
    which did not see them: ``delivery.stale_checkpoint``)."""
    ua, at_, be = trio
    sent = [_send(ua, n) for n in range(2)]
    signed = ua.checkpoint(at(40))
    d_a, d_c = ua.delivery_batch("AT", [i for _r, i in sent], signed).deliveries
    raw2, index2 = _send(ua, 2)
    d_b = ua.delivery(raw2, index2, _size(d_a), at(41))
    alone = [be.receive(d, at(60)) for d in (d_a, d_b, d_c)]  # one by one: all accepted
    receipts, refusal = at_.receive_many([d_a, d_b, d_c], at(60))
    assert refusal is None, refusal.lines()
    assert [r.body for r in receipts] == [r.body for r in alone]
