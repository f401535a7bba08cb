"""Receipts between two nodes: delivery, receipt, the sender logging it; every refusal
(replay, wrong addressee, bad checkpoint, truncated proof, split view, forged receipt).
Both backends."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import rfc8785

from csbm.ledger.audit import audit
from csbm.ledger.envelope import EnvelopeError, parse_envelope
from csbm.ledger.keys import generate_state_key
from csbm.ledger.receipt import KIND_RECEIPT, ReceiptError, message_hash
from csbm.node import Node
from csbm.store import EntryRecord
from tests.store.backends import backend, db_factory, db_url
from tests.store.nodes import at, make_node, notification, trust

__all__ = ["backend", "db_factory", "db_url"]


@pytest.fixture
def pair(tmp_path: Path, db_url: str, db_factory: Callable[[], str]) -> Iterator[tuple[Node, Node]]:
    ua = make_node(tmp_path, db_url, "UA")
    at_ = make_node(tmp_path, db_factory(), "AT")
    trust(ua, at_)
    trust(at_, ua)
    yield ua, at_
    ua.close()
    at_.close()


def _send(ua: Node, n: int = 0, recipients: list[str] | None = None) -> tuple[bytes, int]:
    env = ua.sign(notification(n), recipients or ["AT"], at(1 + n))
    (result,) = ua.append([env])
    return env.raw, result.index


def test_delivery_receipt_and_sender_record(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    receipt = at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    assert receipt.kind == KIND_RECEIPT and receipt.sender == "AT"
    body = receipt.body
    assert body["message_id"] == parse_envelope(raw).message_id
    assert base64.b64decode(body["message_hash"]) == message_hash(raw)
    logged = at_.store.entry(body["log_index"])
    assert logged.envelope == raw
    assert body["sender_checkpoint"]["origin"] == "csbm/UA"
    assert body["sender_checkpoint"]["size"] == index + 1
    # the receipt is itself an entry of the recipient's log, right after the message
    assert at_.store.entry(body["log_index"] + 1).envelope == receipt.raw
    where = ua.record_receipt(receipt.raw)
    assert ua.store.entry(where).envelope == receipt.raw
    assert ua.store.receipt_for(body["message_id"], "received") is not None
    for node in (ua, at_):
        report = audit(node.store, node.state, workers=0)
        assert report.ok, [f.line() for f in report.faults]
        assert report.receipts == 1


def test_redelivery_returns_the_same_receipt_and_changes_nothing(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    delivery = ua.delivery(raw, index, 0, at(2))
    first = at_.receive(delivery, at(3))
    size = at_.store.size()
    again = at_.receive(delivery, at(4))
    assert again.raw == first.raw
    assert at_.store.size() == size
    index1 = ua.record_receipt(first.raw)
    assert ua.record_receipt(first.raw) == index1
    assert ua.store.count_receipts() == 1


def test_message_already_logged_gets_a_receipt_naming_its_index(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    (imported,) = at_.store.append([parse_envelope(raw).record()])
    size = at_.store.size()
    receipt = at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    assert receipt.body["log_index"] == imported.index
    assert at_.store.size() == size + 1  # only the receipt was added
    assert audit(at_.store, "AT", workers=0).ok


def test_second_message_needs_a_consistency_proof_from_the_last_size(
    pair: tuple[Node, Node],
) -> None:
    ua, at_ = pair
    raw, index = _send(ua, 0)
    at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    seen = at_.store.last_checkpoint("csbm/UA")
    assert seen is not None
    raw2, index2 = _send(ua, 1)
    at_.receive(ua.delivery(raw2, index2, seen.size, at(4)), at(5))
    assert len(at_.store.checkpoints("csbm/UA")) == 2
    # a proof from a size the recipient did not see last (a lost receipt) is a stale
    # view: refused with the size to prove from, no evidence kept (issue 11, item 4)
    last = at_.store.last_checkpoint("csbm/UA")
    assert last is not None
    raw3, index3 = _send(ua, 2)
    with pytest.raises(ReceiptError) as caught:
        at_.receive(ua.delivery(raw3, index3, 0, at(6)), at(7))
    assert caught.value.code == "delivery.stale_view"
    assert caught.value.problems[0].value == last.size
    assert at_.store.split_view_evidence() == []
    # from the right size but without the proof, the new checkpoint cannot be shown to
    # extend the old one: split-view evidence
    bare = replace(ua.delivery(raw3, index3, last.size, at(6)), consistency=())
    with pytest.raises(ReceiptError) as caught:
        at_.receive(bare, at(7))
    assert caught.value.code == "delivery.split_view.inconsistent"
    assert len(at_.store.split_view_evidence()) == 1
    # and retried from the size named in the refusal, it is accepted
    at_.receive(ua.delivery(raw3, index3, last.size, at(8)), at(9))


def test_same_message_id_with_other_content_is_a_replay(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    mid = parse_envelope(raw).message_id
    twin = ua.sign(notification(99), ["AT"], at(4), message_id=mid)
    size = at_.store.size()
    with pytest.raises(EnvelopeError) as caught:
        at_.receive(ua.delivery(twin.raw, 0, 0, at(5)), at(6))
    assert caught.value.code == "envelope.replayed"
    assert at_.store.size() == size


def test_message_not_addressed_to_the_recipient_is_refused(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua, recipients=["BY"])
    with pytest.raises(ReceiptError) as caught:
        at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    assert caught.value.code == "delivery.not_addressed"
    assert at_.store.size() == 1


def test_unknown_sender_key_is_refused(
    tmp_path: Path, pair: tuple[Node, Node], db_factory: Callable[[], str]
) -> None:
    _ua, at_ = pair
    by = make_node(tmp_path, db_factory(), "BY")
    try:
        env = by.sign(notification(), ["AT"], at(1))
        (res,) = by.append([env])
        with pytest.raises(EnvelopeError) as caught:
            at_.receive(by.delivery(env.raw, res.index, 0, at(2)), at(3))
        assert caught.value.code == "envelope.unknown_key"
    finally:
        by.close()


def test_checkpoint_signed_by_another_key_is_refused(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    delivery = ua.delivery(raw, index, 0, at(2))
    text = delivery.checkpoint[: delivery.checkpoint.rfind("\n\n") + 1]
    from csbm.ledger.note import sign_note

    impostor = generate_state_key("UA")
    forged = replace(delivery, checkpoint=sign_note(text, "csbm/UA", impostor.private))
    with pytest.raises(ReceiptError) as caught:
        at_.receive(forged, at(3))
    assert caught.value.code == "delivery.checkpoint"
    tampered = replace(delivery, checkpoint=delivery.checkpoint.replace("\n2\n", "\n3\n", 1))
    with pytest.raises(ReceiptError):
        at_.receive(tampered, at(3))
    assert at_.store.size() == 1


def test_truncated_or_wrong_inclusion_proof_is_refused(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    for n in range(4):
        _send(ua, n)
    raw, index = _send(ua, 4)
    delivery = ua.delivery(raw, index, 0, at(9))
    assert len(delivery.inclusion) >= 2
    for bad in (
        replace(delivery, inclusion=delivery.inclusion[:-1]),
        replace(delivery, inclusion=(*delivery.inclusion, b"\x00" * 32)),
        replace(delivery, leaf_index=index - 1),
        replace(delivery, inclusion=(b"\x01" * 32, *delivery.inclusion[1:])),
    ):
        with pytest.raises(ReceiptError) as caught:
            at_.receive(bad, at(10))
        assert caught.value.code == "delivery.inclusion"
    assert at_.store.size() == 1


def test_forked_sender_log_leaves_split_view_evidence(
    tmp_path: Path, pair: tuple[Node, Node], db_factory: Callable[[], str]
) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    # a second log under the same key, with different content at the same size
    fork_store_url = db_factory()
    from csbm.store import LedgerStore

    fork = LedgerStore.open(fork_store_url)
    try:
        first = ua.store.entry(0)
        other = ua.sign(notification(42), ["AT"], at(1))
        fork.append([replace_record(first), other.record()])
        from csbm.ledger.checkpoint import Checkpoint

        cp = Checkpoint("csbm/UA", fork.size(), fork.root())
        note = cp.sign(ua.key.name, ua.key.private).note
        inclusion = fork.prove_inclusion(1, 2)
        from csbm.ledger.receipt import Delivery

        delivery = Delivery(other.raw, note, tuple(inclusion.proof), 1, ())
        with pytest.raises(ReceiptError) as caught:
            at_.receive(delivery, at(4))
        assert caught.value.code == "delivery.split_view.fork"
        evidence = at_.store.split_view_evidence()
        assert len(evidence) == 1
        doc = json.loads(evidence[0]["evidence"])
        assert doc["kind"] == "fork" and doc["origin"] == "csbm/UA"
    finally:
        fork.close()


def replace_record(entry: object) -> EntryRecord:
    from csbm.store import StoredEntry

    assert isinstance(entry, StoredEntry)
    return EntryRecord(
        entry.message_id, entry.kind, entry.sender, entry.key_id, entry.created_at, entry.envelope
    )


def test_forged_receipts_are_refused_by_the_sender(pair: tuple[Node, Node]) -> None:
    ua, at_ = pair
    raw, index = _send(ua)
    receipt = at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    # a receipt naming another hash, re-signed by the recipient
    body = dict(receipt.body, message_hash=base64.b64encode(b"\x00" * 32).decode())
    wrong_hash = at_.sign({"kind": KIND_RECEIPT, "body": body}, ["UA"], at(4))
    with pytest.raises(ReceiptError) as caught:
        ua.record_receipt(wrong_hash.raw)
    assert caught.value.code == "receipt.hash"
    dangling = at_.sign(
        {
            "kind": KIND_RECEIPT,
            "body": dict(receipt.body, message_id="00000000-0000-4000-8000-000000000000"),
        },
        ["UA"],
        at(4),
    )
    with pytest.raises(ReceiptError) as caught:
        ua.record_receipt(dangling.raw)
    assert caught.value.code == "receipt.dangling"
    not_receipt = at_.sign(notification(), ["UA"], at(4))
    with pytest.raises(ReceiptError) as caught:
        ua.record_receipt(not_receipt.raw)
    assert caught.value.code == "receipt.kind"
    malformed = at_.sign({"kind": KIND_RECEIPT, "body": {"message_id": 5}}, ["UA"], at(4))
    with pytest.raises(ReceiptError) as caught:
        ua.record_receipt(malformed.raw)
    assert caught.value.code == "receipt.malformed"
    doc = json.loads(receipt.raw)
    doc["message"]["body"]["log_index"] += 1
    with pytest.raises(EnvelopeError) as caught2:
        ua.record_receipt(rfc8785.dumps(doc))
    assert caught2.value.code == "envelope.bad_signature"
    assert ua.store.count_receipts() == 0


@contextmanager
def _sender_and(
    tmp_path: Path, db_url: str, db_factory: Callable[[], str], states: Sequence[str]
) -> Iterator[tuple[Node, list[Node]]]:
    """The sender UA and a node of each of ``states``, each trusting the other; closed
    after."""
    ua = make_node(tmp_path, db_url, "UA")
    others = [make_node(tmp_path, db_factory(), s) for s in states]
    try:
        for node in others:
            trust(ua, node)
            trust(node, ua)
        yield ua, others
    finally:
        ua.close()
        for node in others:
            node.close()


def test_a_delivery_to_all_carries_a_proof_from_each_size_its_addressees_saw(
    tmp_path: Path, db_url: str, db_factory: Callable[[], str]
) -> None:
    """Issue 11, item 9: the nodes the hub relays a message to all to last saw different
    sizes of the sender's log; the one delivery carries a consistency proof from each
    size the sender holds receipts for, and each node verifies it from its own view (no
    stale-view refusal, no fresh delivery fetched per node). A node whose size is not
    among them still gets the stale-view refusal naming its size."""
    with _sender_and(tmp_path, db_url, db_factory, ("AT", "BE", "CY")) as (ua, others):
        # AT and BE acknowledge different sizes of UA's log; CY's receipt is lost
        for n, node in enumerate(others):
            raw, index = _send(ua, n, [node.state])
            receipt = node.receive(ua.delivery(raw, index, 0, at(1 + n)), at(1 + n))
            if node.state != "CY":
                ua.record_receipt(receipt.raw)
        seen = ua.peers_seen_sizes()
        assert seen["AT"] < seen["BE"] and "CY" not in seen
        raw, index = _send(ua, 9, ["all"])
        message_id = parse_envelope(raw).message_id
        delivery = ua.delivery_to_all(message_id, at(10))
        starts = {delivery.consistency_from, *(s for s, _p in delivery.alternatives)}
        assert starts == {seen["AT"], seen["BE"]}
        for node in others[:2]:
            receipt = node.receive(delivery, at(11))
            assert receipt.body["message_id"] == message_id
            assert node.store.split_view_evidence() == []
        last = others[2].store.last_checkpoint("csbm/UA")
        assert last is not None
        with pytest.raises(ReceiptError) as caught:
            others[2].receive(delivery, at(11))
        assert caught.value.code == "delivery.stale_view"
        assert caught.value.problems[0].value == last.size
        # a forged alternative proof is checked like any other: split-view evidence
        fresh = make_node(tmp_path, db_factory(), "DE")
        trust(fresh, ua)
        raw_at, index_at = _send(ua, 20, ["DE"])
        fresh.receive(ua.delivery(raw_at, index_at, 0, at(12)), at(12))
        saw = fresh.store.last_checkpoint("csbm/UA")
        assert saw is not None
        _send(ua, 21, ["AT"])  # the log grows past what DE saw
        delivery2 = ua.delivery_to_all(message_id, at(13))
        forged = replace(
            delivery2, consistency_from=None, consistency=(),
            alternatives=[(saw.size, [b"\0" * 32] * 3)],
        )  # fmt: skip
        with pytest.raises(ReceiptError) as caught:
            fresh.receive(forged, at(14))
        assert caught.value.code.startswith("delivery.split_view")
        assert len(fresh.store.split_view_evidence()) == 1
        fresh.close()


def test_messages_to_all_sent_at_once_are_verified_each_from_the_one_before(
    tmp_path: Path, db_url: str, db_factory: Callable[[], str]
) -> None:
    """Several messages to all sent at once: the hub relays them to each node in order
    before any receipt is back at the sender, so each node's view is the checkpoint of
    the message before. Each later delivery to all carries a proof from the sizes the
    sender handed out lately (at most RECENT_SIZES): every node verifies every one from
    its own view, also a node that missed one; none is refused as a stale view."""
    from csbm.node import RECENT_SIZES

    with _sender_and(tmp_path, db_url, db_factory, ("AT", "BE")) as (ua, others):
        deliveries, sizes = [], []
        for n in range(4):
            raw, _index = _send(ua, 30 + n, ["all"])
            deliveries.append(ua.delivery_to_all(parse_envelope(raw).message_id, at(10 + n)))
            sizes.append(ua.size())  # the size of that delivery's checkpoint
        assert ua.peers_seen_sizes() == {}  # no receipt back yet
        last = deliveries[-1]
        assert {s for s, _p in last.alternatives} | {last.consistency_from} >= set(sizes[:-1])
        at_, be = others
        for d in deliveries:  # AT: every one, in order
            at_.receive(d, at(20))
        for d in (deliveries[0], deliveries[2], deliveries[3]):  # BE missed the second
            be.receive(d, at(20))
        for node in others:
            assert node.store.split_view_evidence() == []
            checkpoint = node.store.last_checkpoint("csbm/UA")
            assert checkpoint is not None and checkpoint.size == sizes[-1]
        # only the latest RECENT_SIZES sizes are kept
        for n in range(RECENT_SIZES + 2):
            raw, _index = _send(ua, 40 + n, ["all"])
            later = ua.delivery_to_all(parse_envelope(raw).message_id, at(30 + n))
        starts = {s for s, _p in later.alternatives} | {later.consistency_from}
        assert len(starts) == RECENT_SIZES and sizes[-1] not in starts


def test_several_receipts_are_logged_in_one_commit_and_a_bad_one_alone_is_refused(
    tmp_path: Path, db_url: str, db_factory: Callable[[], str]
) -> None:
    """What the hub reports for a message to all: each receipt verified, the good ones
    logged in one commit, a refused one named (issue 11, item 9); again, nothing new."""
    from sqlalchemy import event

    ua = make_node(tmp_path, db_url, "UA")
    others = [make_node(tmp_path, db_factory(), s) for s in ("AT", "BE")]
    try:
        for node in others:
            trust(ua, node)
            trust(node, ua)
        raw, index = _send(ua, 0, ["all"])
        receipts = [n.receive(ua.delivery(raw, index, 0, at(2)), at(3)).raw for n in others]
        stray = others[0].sign(notification(5), ["UA"], at(4)).raw  # not a receipt
        commits: list[int] = []
        event.listen(ua.store.engine, "commit", lambda _c: commits.append(1))
        results = ua.record_receipts([receipts[0], stray, receipts[1], receipts[0]])
        assert len(commits) == 1
        assert isinstance(results[1], ReceiptError) and results[1].code == "receipt.kind"
        assert isinstance(results[0], int) and isinstance(results[2], int)
        assert results[3] == results[0]  # the same receipt twice: logged once
        rows = ua.store.receipts()
        assert sorted(r["peer"] for r in rows) == ["AT", "BE"]
        size = ua.store.size()
        again = ua.record_receipts(receipts)
        assert again == [results[0], results[2]] and ua.store.size() == size
        report = audit(ua.store, ua.state, workers=0)
        assert report.ok and report.receipts == 2
    finally:
        ua.close()
        for node in others:
            node.close()


def test_a_receipt_and_its_outbox_row_done_in_one_commit(pair: tuple[Node, Node]) -> None:
    """The worker's bilateral delivery: the peer's receipt is logged and the outbox row
    marked done in the same commit (one fsync less per message, and never one without
    the other)."""
    from sqlalchemy import event

    ua, at_ = pair
    result = ua.queue_message(notification(1), ["AT"], ["AT"], at(1))
    (row,) = ua.outbox_rows(result.message_id)
    receipt = at_.receive(ua.delivery_for(result.message_id, 0, at(2)), at(3))
    commits: list[int] = []
    event.listen(ua.store.engine, "commit", lambda _c: commits.append(1))
    index = ua.record_receipt(receipt.raw, done=(row.id, at(4)))
    assert len(commits) == 1
    (after,) = ua.outbox_rows(result.message_id)
    assert after.status == "done" and after.done_at is not None and after.attempts == 1
    assert ua.store.entry(index).envelope == receipt.raw
    # a refused receipt marks nothing
    other = ua.queue_message(notification(2), ["AT"], ["AT"], at(5))
    (row2,) = ua.outbox_rows(other.message_id)
    with pytest.raises(ReceiptError):
        ua.record_receipt(at_.sign(notification(3), ["UA"], at(6)).raw, done=(row2.id, at(6)))
    assert ua.outbox_rows(other.message_id)[0].status == "pending"


def test_the_checkpoint_held_after_a_delivery_is_the_one_a_fresh_opening_gives(
    pair: tuple[Node, Node],
) -> None:
    """The shortcut: a delivery's checkpoint, once verified and stored, is held as the next
    delivery opens it (its signature not verified again) -- the same as opening the stored
    note with the sender's keys, the plain path it replaces."""
    from csbm.ledger import receipt as receipt_module
    from csbm.ledger.checkpoint import verify_checkpoint
    from csbm.ledger.note import NoteVerifier

    ua, at_ = pair
    receipt_module._HELD.clear()
    raw, index = _send(ua)
    at_.receive(ua.delivery(raw, index, 0, at(2)), at(3))
    stored = at_.store.last_checkpoint("csbm/UA")
    assert stored is not None
    keys = [
        NoteVerifier(r.name, r.public_key)
        for r in at_.directory_of_keys().records()
        if r.state == "UA"
    ]
    held = receipt_module._HELD[("csbm/UA", stored.note, tuple(keys))]
    assert held == verify_checkpoint(stored.note, keys, origin="csbm/UA")
    # the next delivery is checked against it and accepted as before
    raw2, index2 = _send(ua, 1)
    second = at_.receive(ua.delivery(raw2, index2, index + 1, at(4)), at(5))
    assert second.body["sender_checkpoint"]["size"] == index2 + 1


def test_an_envelope_parsed_by_the_caller_is_used_only_for_its_own_bytes(
    pair: tuple[Node, Node],
) -> None:
    """``Node.receive(envelope=...)``: the caller's parse of the same bytes (not parsed
    again) gives what the plain path gives; an envelope of other bytes is ignored."""
    ua, at_ = pair
    raw, index = _send(ua)
    other_raw, _other = _send(ua, 1)
    delivery = ua.delivery(raw, index, 0, at(3))
    wrong = parse_envelope(other_raw)
    receipt = at_.receive(delivery, at(4), envelope=wrong)  # ignored: parsed from raw
    assert receipt.body["message_id"] == parse_envelope(raw).message_id
    again = at_.receive(delivery, at(5), envelope=parse_envelope(raw))
    assert again.raw == receipt.raw  # the duplicate: the same receipt, as without it
