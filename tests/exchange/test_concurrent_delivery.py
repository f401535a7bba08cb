"""Two deliveries at once from a forked sender: the recipient's check of the sender's last
checkpoint runs under its log's write lock, so exactly one view is accepted and the other
is refused as a split view with evidence kept (issue 9, item 4). Both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from csbm.ledger import receipt as receipt_module
from csbm.ledger import split_view
from csbm.ledger.checkpoint import Checkpoint
from csbm.ledger.receipt import Delivery, ReceiptError
from csbm.ledger.records import EntryRecord, StoredEntry
from csbm.node import Node
from csbm.store import LedgerStore
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


def _record(entry: StoredEntry) -> EntryRecord:
    return EntryRecord(
        entry.message_id, entry.kind, entry.sender, entry.key_id, entry.created_at, entry.envelope
    )


def _forked_delivery(ua: Node, index: int, fork_url: str) -> Delivery:
    """A second log under UA's key: the same entries before ``index``, then another
    message, so a checkpoint of the same size with another root than UA's real one."""
    fork = LedgerStore.open(fork_url)
    try:
        other = ua.sign(notification(42), ["AT"], at(1))
        fork.append([_record(ua.entry(i)) for i in range(index)] + [other.record()])
        note = Checkpoint("csbm/UA", fork.size(), fork.root()).sign(ua.key.name, ua.key.private)
        inclusion = fork.prove_inclusion(index, index + 1)
        return Delivery(other.raw, note.note, tuple(inclusion.proof), index, ())
    finally:
        fork.close()


def _slow_check(monkeypatch: pytest.MonkeyPatch, seconds: float) -> list[int]:
    """Widen the race: the checkpoint comparison takes ``seconds``. Without the lock around
    it both threads would compare against the same (absent) last checkpoint."""
    real = split_view.check_peer_checkpoint
    calls: list[int] = []

    def slow(last: Any, new: Any, proof: Sequence[bytes]) -> Any:
        calls.append(new.size)
        threading.Event().wait(seconds)
        return real(last, new, proof)

    monkeypatch.setattr(receipt_module, "check_peer_checkpoint", slow)
    return calls


def test_two_concurrent_deliveries_of_two_views_cannot_both_pass(
    pair: tuple[Node, Node], db_factory: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ua, at_ = pair
    env = ua.sign(notification(0), ["AT"], at(1))
    (result,) = ua.append([env])
    honest = ua.delivery(env.raw, result.index, 0, at(2))
    forked = _forked_delivery(ua, result.index, db_factory())
    assert ua.size() == result.index + 1
    assert honest.checkpoint != forked.checkpoint  # same size, two roots
    calls = _slow_check(monkeypatch, 0.3)
    outcomes: dict[str, object] = {}
    start = threading.Barrier(2)

    def deliver(name: str, delivery: Delivery) -> None:
        start.wait()
        try:
            outcomes[name] = at_.receive(delivery, at(3))
        except ReceiptError as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=deliver, args=("honest", honest)),
        threading.Thread(target=deliver, args=("forked", forked)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert len(calls) == 2  # both deliveries reached the checkpoint comparison
    refused = [v for v in outcomes.values() if isinstance(v, ReceiptError)]
    accepted = [v for v in outcomes.values() if not isinstance(v, ReceiptError)]
    assert len(accepted) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "delivery.split_view.fork"
    # exactly one checkpoint of UA is remembered, and the fork is kept as evidence
    assert len(at_.store.checkpoints("csbm/UA")) == 1
    assert len(at_.store.split_view_evidence()) == 1
    # the log holds one of the two messages, never both
    kinds = [e.kind for e in at_.entries()]
    assert kinds.count("test.exercise") == 1


def test_the_same_delivery_twice_at_once_gets_one_receipt_without_a_lock_of_the_node(
    pair: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry racing the original (issue 11, item 4): both pass the duplicate check
    before the write transaction (the check is widened to let them), and the check again
    under the log's write lock makes the second one answer with the first one's receipt
    -- one entry, one receipt -- with no lock of the node around ``receive``."""
    ua, at_ = pair
    env = ua.sign(notification(1), ["AT"], at(1))
    (result,) = ua.append([env])
    delivery = ua.delivery(env.raw, result.index, 0, at(2))
    real = at_.store.entry_by_message_id
    both_in = threading.Barrier(2, timeout=10)

    def widened(message_id: str) -> StoredEntry | None:
        found = real(message_id)
        both_in.wait()  # each thread has looked, and found nothing, before either writes
        return found

    monkeypatch.setattr(at_.store, "entry_by_message_id", widened)
    answers: list[bytes] = []
    errors: list[BaseException] = []

    def receive() -> None:
        try:
            answers.append(at_.receive(delivery, at(3)).raw)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(answers) == 2 and answers[0] == answers[1]
    assert len(at_.store.receipts()) == 1
    assert [e.message_id for e in at_.entries()].count(env.message_id) == 1
