"""Receipts: the signed proof that a message arrived and is in the recipient's log.

The recipient (DESIGN.md, "How a message travels"):

1. verifies the envelope (:func:`csbm.ledger.envelope.verify_envelope`) and that it is
   addressed to it;
2. verifies the sender's signed checkpoint (C2SP tlog-checkpoint, signed note), the
   envelope's inclusion in it (RFC 9162 §2.1.3) and, against the last checkpoint of that
   sender it saw, a consistency proof (§2.1.4) -- a checkpoint that does not extend the
   last one is kept as split-view evidence and the delivery is refused;
3. appends the envelope and its receipt to its own log in one commit, and returns the
   receipt: an envelope of kind ``csbm.receipt`` signed by the recipient, naming the
   message id, the SHA-256 of the envelope bytes (``message_hash``), the recipient's log
   index of the envelope and the sender checkpoint it verified.

The sender verifies the receipt and logs it too (:func:`record_receipt`). A delivery or
receipt that is already logged is recognised and changes nothing (the same receipt is
returned): delivery may be retried until a receipt arrives.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from csbm.errors import CsbmError, Problem
from csbm.ledger.checkpoint import SignedCheckpoint, verify_checkpoint
from csbm.ledger.envelope import ALL, Envelope, EnvelopeError, parse_envelope, seal, verify_envelope
from csbm.ledger.keys import (
    KIND_REVOCATION,
    KIND_ROTATION,
    KeyDirectory,
    StateKey,
    check_rotation_body,
    origin_for,
    parse_verifier_key,
    stamp,
)
from csbm.ledger.merkle import leaf_hash, verify_inclusion
from csbm.ledger.note import NoteVerifier
from csbm.ledger.records import CheckpointRecord, KeyRecord, StoredEntry
from csbm.ledger.split_view import SplitViewEvidence, check_peer_checkpoint

if TYPE_CHECKING:
    from csbm.ledger.repository import LogRepository, LogWriter

KIND_RECEIPT = "csbm.receipt"


class ReceiptError(EnvelopeError):
    """A delivery or receipt is refused: the code says which check failed."""


@dataclass(frozen=True)
class Delivery:
    """What a sender hands a recipient: the envelope, a signed checkpoint of the sender's
    log that contains it, the inclusion proof, and a consistency proof from the last
    checkpoint of the sender the recipient saw (empty when none)."""

    envelope: bytes
    checkpoint: str
    inclusion: Sequence[bytes]
    leaf_index: int
    consistency: Sequence[bytes] = ()
    #: The size the consistency proof starts from (the sender's idea of what the
    #: recipient last saw). None: the recipient's last checkpoint, unchecked (before
    #: issue 11). With it, a proof from another size is refused as a stale view (the
    #: sender retries from the size named in the refusal) instead of being kept as
    #: split-view evidence: a lost receipt is not a split view.
    consistency_from: int | None = None
    #: Consistency proofs to the same checkpoint from other sizes, ``(size, proof)``: a
    #: message to all is relayed by the hub to nodes that last saw different sizes of the
    #: sender's log; each uses the proof from the size it saw (checked as any other), so
    #: no node refuses the relayed delivery as a stale view and no fresh delivery has to
    #: be fetched from the sender for it (issue 11, item 9).
    alternatives: Sequence[tuple[int, Sequence[bytes]]] = ()

    def from_size(self, size: int) -> Delivery:
        """This delivery with its consistency proof from ``size`` when it carries one (as
        its main proof or an alternative); else unchanged."""
        if self.consistency_from == size:
            return self
        for start, proof in self.alternatives:
            if start == size:
                return replace(self, consistency=tuple(proof), consistency_from=start)
        return self


def message_hash(raw: bytes) -> bytes:
    """SHA-256 of an envelope's canonical bytes, as named in receipts."""
    return hashlib.sha256(raw).digest()


def receipt_problems(body: Any) -> list[Problem]:
    """What is wrong with a receipt's body."""
    if not isinstance(body, Mapping):
        return [Problem("body", "a receipt body is an object")]
    out: list[Problem] = []
    for name, kind in (
        ("message_id", str),
        ("message_hash", str),
        ("sender", str),
        ("log_index", int),
        ("sender_checkpoint", Mapping),
    ):
        if not isinstance(body.get(name), kind) or isinstance(body.get(name), bool):
            out.append(Problem(f"body.{name}", f"must be a {kind.__name__}", None))
    if not out:
        try:
            if len(base64.b64decode(body["message_hash"], validate=True)) != 32:
                raise ValueError
        except ValueError:
            out.append(Problem("body.message_hash", "must be a base64 SHA-256 hash"))
    return out


def _refuse(code: str, reason: str, path: str = "delivery", value: Any = None) -> ReceiptError:
    return ReceiptError(code, reason, path, value)


@dataclass(frozen=True)
class _KeyChange:
    """What a peer's own rotation or revocation statement changes in our key directory."""

    state: str
    ended_key: str
    valid_until: str | None = None
    revoked_at: str | None = None
    new_key: KeyRecord | None = None


def _key_change(envelope: Envelope) -> _KeyChange | None:
    """A peer's rotation (signed by the old key, the new key proving possession) or
    revocation of one of its own keys, checked; None for any other message."""
    if envelope.kind not in (KIND_ROTATION, KIND_REVOCATION):
        return None
    body = envelope.body
    if body.get("state") != envelope.sender:
        raise _refuse(
            "delivery.key_statement", "a State may rotate or revoke only its own keys",
            "body.state", body.get("state"),
        )  # fmt: skip
    if envelope.kind == KIND_REVOCATION:
        return _KeyChange(
            envelope.sender, str(body.get("key_id")), revoked_at=str(body.get("revoked_at"))
        )
    if body.get("old_key_id") != envelope.key_id:
        raise _refuse(
            "delivery.key_statement", "a rotation is signed by the key it replaces",
            "body.old_key_id", body.get("old_key_id"),
        )  # fmt: skip
    reason = check_rotation_body(body)
    if reason is not None:
        raise _refuse("delivery.key_statement", reason, "body.new_key_signature")
    name, public = parse_verifier_key(str(body["new_key"]))
    valid_from = str(body["valid_from"])
    new = KeyRecord(envelope.sender, str(body["new_key_id"]), name, public, False, valid_from)
    return _KeyChange(envelope.sender, envelope.key_id, valid_until=valid_from, new_key=new)


def _apply_key_change(txn: LogWriter, directory: KeyDirectory, change: _KeyChange) -> None:
    known = {(r.state, r.key_id): r for r in directory.records()}
    ended = known.get((change.state, change.ended_key))
    if change.new_key is not None and (change.state, change.new_key.key_id) not in known:
        txn.put_key(change.new_key)
        if ended is not None and ended.valid_until is None:
            txn.end_key(change.state, change.ended_key, valid_until=change.valid_until)
    if change.revoked_at is not None and ended is not None and ended.revoked_at is None:
        txn.end_key(change.state, change.ended_key, revoked_at=change.revoked_at)


def accept_delivery(
    store: LogRepository,
    key: StateKey,
    directory: KeyDirectory,
    delivery: Delivery,
    at: datetime,
    parsed: Envelope | None = None,
) -> Envelope:
    """Verify a delivery, log the envelope and a receipt in one commit; return the receipt.
    ``parsed``: the delivery's envelope as the caller parsed it (not parsed again)."""
    envelope = verify_envelope(delivery.envelope, directory, parsed=parsed)
    # Everything from the duplicate check on runs in the write transaction, under the
    # log's write lock (one connection per delivery): the same delivery arriving twice at
    # once (a retry racing the original) finds the first one logged and gets its receipt
    # back -- never a second receipt -- without any lock of the caller's; a refusal
    # rolls back (nothing is written).
    with store.write() as txn:
        accepted = _accept_in(txn, key, directory, delivery, at, envelope)
    return _settled(accepted)


def accept_deliveries(
    store: LogRepository,
    key: StateKey,
    directory: KeyDirectory,
    items: Sequence[tuple[Delivery, Envelope | None]],
    at: datetime,
) -> tuple[list[Envelope], CsbmError | None]:
    """:func:`accept_delivery` for several deliveries, in order, in one commit: their
    receipts, and the refusal that stopped the batch (None if none did). What was
    accepted before a refusal is logged all the same, as if each had come alone; the
    deliveries after it are not looked at. A delivery that changes the sender's keys (a
    rotation, a revocation) ends the batch too, without a refusal: the ones after it are
    checked against the new keys when sent again. Each item: the delivery and its
    envelope as the caller parsed it (or None)."""
    receipts: list[Envelope] = []
    refusal: CsbmError | None = None
    accepted: list[_Accepted] = []
    with store.write() as txn:
        for delivery, parsed in items:
            try:
                envelope = verify_envelope(delivery.envelope, directory, parsed=parsed)
                one = _accept_in(txn, key, directory, delivery, at, envelope)
            except CsbmError as exc:
                refusal = exc
                break
            accepted.append(one)
            if one.evidence is not None or one.changed_keys:
                break
    for one in accepted:
        try:
            receipts.append(_settled(one))
        except CsbmError as exc:  # split-view evidence: logged, and the batch ends
            refusal = exc
    return receipts, refusal


@dataclass
class _Accepted:
    """What :func:`_accept_in` did: the receipt (None when it logged split-view
    evidence instead), and whether it changed the sender's keys."""

    receipt: Envelope | None
    evidence: SplitViewEvidence | None = None
    changed_keys: bool = False


def _settled(accepted: _Accepted) -> Envelope:
    """After the commit: the receipt, or the refusal of split-view evidence (logged)."""
    evidence = accepted.evidence
    if evidence is not None:
        raise _refuse(f"delivery.split_view.{evidence.kind}", evidence.reason, "checkpoint")
    assert accepted.receipt is not None
    return accepted.receipt


def _accept_in(
    txn: LogWriter,
    key: StateKey,
    directory: KeyDirectory,
    delivery: Delivery,
    at: datetime,
    envelope: Envelope,
) -> _Accepted:
    """The checks and writes of one delivery, in the caller's write transaction; a
    refusal is raised before anything is written."""
    raw = delivery.envelope
    logged = txn.logged([envelope.message_id])
    seen = logged.get(envelope.message_id)
    if seen is not None:
        if seen[1] != raw:
            raise EnvelopeError(
                "envelope.replayed",
                "message id already received with other content",
                "message_id",
                envelope.message_id,
            )
        previous = txn.receipt_for(envelope.message_id, "issued")
        if previous is not None:
            return _Accepted(parse_envelope(txn.entry(int(previous["receipt_index"])).envelope))
    if ALL not in envelope.recipients and key.state not in envelope.recipients:
        raise _refuse(
            "delivery.not_addressed",
            f"the message is not addressed to {key.state}",
            "recipients",
            ",".join(envelope.recipients),
        )
    origin = origin_for(envelope.sender)
    change = _key_change(envelope)
    # every key of the sender (the split-view check), and those it may sign with now
    sender_keys = [r for r in directory.records() if r.state == envelope.sender]
    verifiers = [
        NoteVerifier(r.name, r.public_key) for r in sender_keys if r.revoked_at is None
    ]
    if change is not None and change.new_key is not None:
        # the checkpoint of a rotation's delivery is signed by the new key it announces
        verifiers.append(NoteVerifier(change.new_key.name, change.new_key.public_key))
    try:
        checkpoint = verify_checkpoint(delivery.checkpoint, verifiers, origin=origin)
    except CsbmError as exc:
        raise _refuse("delivery.checkpoint", exc.lines()[0], "checkpoint") from None
    try:
        verify_inclusion(
            leaf_hash(raw),
            delivery.leaf_index,
            checkpoint.size,
            list(delivery.inclusion),
            checkpoint.root,
        )
    except CsbmError as exc:  # ProofError or InputError: both say why
        raise _refuse(
            "delivery.inclusion", f"inclusion proof: {exc.message}", "inclusion"
        ) from None
    every_key = [NoteVerifier(r.name, r.public_key) for r in sender_keys]
    # The sender's last checkpoint is read and checked under the log's write lock:
    # two deliveries at once cannot both pass against the same old checkpoint and
    # log two views of one log.
    last_record = txn.last_checkpoint(origin)
    last = None
    if last_record is not None:
        last = _held_checkpoint(last_record.note, every_key, origin)
    if last is not None and delivery.alternatives:
        delivery = delivery.from_size(last.size)
    stale = _stale_view(txn, origin, last, checkpoint, delivery, every_key)
    if stale is not None:
        raise stale
    known_older = last is not None and checkpoint.size < last.size
    if known_older and delivery.consistency_from is not None:
        outcome: SignedCheckpoint | SplitViewEvidence = checkpoint  # an older, known head
    else:
        outcome = check_peer_checkpoint(last, checkpoint, list(delivery.consistency))
    if isinstance(outcome, SplitViewEvidence):
        txn.add_split_view_evidence(origin, json.dumps(outcome.to_json()), stamp(at))
        return _Accepted(None, evidence=outcome)
    # a logged message keeps its index; a new one goes at the end, its receipt
    # right after it: both in one append
    index = seen[0] if seen is not None else txn.size()
    body = {
        "message_id": envelope.message_id,
        "message_hash": base64.b64encode(message_hash(raw)).decode("ascii"),
        "sender": envelope.sender,
        "log_index": index,
        "sender_checkpoint": {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode("ascii"),
        },
    }
    if change is not None:
        _apply_key_change(txn, directory, change)
    receipt = seal({"kind": KIND_RECEIPT, "body": body}, key, [envelope.sender], at)
    records = [receipt.record()] if seen is not None else [
        envelope.record(), receipt.record()
    ]  # fmt: skip
    *message, rec = txn.append(records, logged)
    assert not message or message[0].index == index
    txn.add_receipt(
        rec.index, "issued", envelope.sender, envelope.message_id, message_hash(raw), index
    )
    held = last is None or checkpoint.size > last.size
    if held:
        txn.add_checkpoint(
            CheckpointRecord(
                checkpoint.origin,
                False,
                checkpoint.size,
                checkpoint.root,
                delivery.checkpoint,
                stamp(at),
            )
        )
    if held and set(verifiers) == set(every_key):
        # the checkpoint held from now on, as the next delivery opens it (the same keys:
        # the same opening), so that its signature is not verified a second time (a
        # verified opening of the note, whether or not this transaction commits)
        _remember_held(origin, delivery.checkpoint, every_key, checkpoint)
    return _Accepted(receipt, changed_keys=change is not None)


#: Stored checkpoints already opened, by (origin, note, keys): a node checks each delivery
#: against the last checkpoint it holds of the sender, the same one for many deliveries.
_HELD: dict[tuple[str, str, tuple[NoteVerifier, ...]], SignedCheckpoint] = {}
_HELD_MAX = 256


def _held_checkpoint(note: str, keys: Sequence[NoteVerifier], origin: str) -> SignedCheckpoint:
    """A checkpoint this node stored (it verified it when it stored it), opened with the
    sender's keys -- once per note and keys (each opening verifies a signature)."""
    held = _HELD.get((origin, note, tuple(keys)))
    if held is None:
        held = verify_checkpoint(note, keys, origin=origin)
        _remember_held(origin, note, keys, held)
    return held


def _remember_held(
    origin: str, note: str, keys: Sequence[NoteVerifier], checkpoint: SignedCheckpoint
) -> None:
    """Hold ``checkpoint``, the opening of ``note`` with ``keys``."""
    if len(_HELD) >= _HELD_MAX:
        _HELD.clear()
    _HELD[(origin, note, tuple(keys))] = checkpoint


def _stale_view(
    txn: LogWriter,
    origin: str,
    last: SignedCheckpoint | None,
    checkpoint: SignedCheckpoint,
    delivery: Delivery,
    keys: Sequence[NoteVerifier],
) -> ReceiptError | None:
    """A delivery built against another view of the sender's log than ours (issue 11,
    item 4: retries, lost receipts, out-of-order arrival) -- refused with the size to
    prove from, never kept as evidence. None when the delivery may be checked as usual.

    - A checkpoint older than our last one is accepted when we hold a checkpoint of that
      size with the same root (its message is then in a head we verified); the same size
      with another root is left to :func:`check_peer_checkpoint` (a fork); an older size
      we never saw is refused as ``delivery.stale_checkpoint`` (send a fresh one).
    - A newer checkpoint whose proof starts at another size than our last one is
      ``delivery.stale_view``; the problem's value is the size to prove from.
    """
    start = delivery.consistency_from
    if last is None or start is None:
        return None
    if checkpoint.size < last.size:
        for record in txn.checkpoints(origin):
            if record.size != checkpoint.size:
                continue
            if record.root == checkpoint.root:
                return None
            held = verify_checkpoint(record.note, keys, origin=origin)
            evidence = check_peer_checkpoint(held, checkpoint, ())
            if isinstance(evidence, SplitViewEvidence):
                return _refuse(
                    f"delivery.split_view.{evidence.kind}", evidence.reason, "checkpoint"
                )
        return _refuse(
            "delivery.stale_checkpoint",
            f"the checkpoint (size {checkpoint.size}) is older than the last one seen "
            f"(size {last.size}): deliver under a fresh checkpoint",
            "consistency_from",
            last.size,
        )
    if checkpoint.size > last.size and last.size > 0 and start != last.size:
        return _refuse(
            "delivery.stale_view",
            f"the consistency proof starts at size {start}; the last checkpoint seen is of "
            f"size {last.size}: prove from it",
            "consistency_from",
            last.size,
        )
    return None


def record_receipt(
    store: LogRepository,
    own_state: str,
    directory: KeyDirectory,
    raw: bytes,
    then: Callable[[LogWriter], None] | None = None,
) -> int:
    """The sender's side: verify a peer's receipt for one of our messages and log it.
    Returns the receipt's index in our log (the old one for a duplicate). ``then`` runs
    in the same transaction once the receipt is logged (the outbox row marked done)."""
    (result,) = record_receipts(store, own_state, directory, [raw], then)
    if isinstance(result, CsbmError):
        raise result
    return result


def _checked_receipt(
    store: LogRepository, own_state: str, directory: KeyDirectory, raw: bytes
) -> tuple[Envelope, StoredEntry]:
    receipt = verify_envelope(raw, directory)
    if receipt.kind != KIND_RECEIPT:
        raise _refuse("receipt.kind", "not a receipt", "message.kind", receipt.kind)
    problems = receipt_problems(receipt.body)
    if problems:
        raise _refuse("receipt.malformed", problems[0].reason, problems[0].path)
    body = receipt.body
    ours = store.entry_by_message_id(body["message_id"])
    if ours is None or ours.sender != own_state:
        raise _refuse(
            "receipt.dangling",
            "acknowledges a message this node did not send",
            "body.message_id",
            body["message_id"],
        )
    if base64.b64encode(message_hash(ours.envelope)).decode("ascii") != body["message_hash"]:
        raise _refuse(
            "receipt.hash",
            "the message hash differs from the message we sent",
            "body.message_hash",
            body["message_hash"],
        )
    return receipt, ours


def record_receipts(
    store: LogRepository,
    own_state: str,
    directory: KeyDirectory,
    raws: Sequence[bytes],
    then: Callable[[LogWriter], None] | None = None,
) -> list[int | CsbmError]:
    """:func:`record_receipt` for several receipts (what the hub reports for a message to
    all), logged in one commit: for each, its index in our log, or why it was refused
    (a refused one changes nothing; the others are logged)."""
    out: list[int | CsbmError | None] = [None] * len(raws)
    checked: list[tuple[int, Envelope, StoredEntry]] = []
    for pos, raw in enumerate(raws):
        try:
            receipt, ours = _checked_receipt(store, own_state, directory, raw)
        except CsbmError as exc:
            out[pos] = exc
        else:
            checked.append((pos, receipt, ours))
    if checked:
        with store.write() as txn:
            logged = txn.logged([r.message_id for _p, r, _o in checked])
            batch: list[tuple[int, Envelope, StoredEntry]] = []
            taken: dict[str, bytes] = {}
            for pos, receipt, ours in checked:
                seen = logged.get(receipt.message_id)
                other = taken.get(receipt.message_id)
                if (seen is not None and seen[1] != receipt.raw) or (
                    other is not None and other != receipt.raw
                ):
                    out[pos] = EnvelopeError(
                        "envelope.replayed", "message id already used for other content",
                        "message_id", receipt.message_id,
                    )  # fmt: skip
                    continue
                taken[receipt.message_id] = receipt.raw
                batch.append((pos, receipt, ours))
            results = txn.append([r.record() for _p, r, _o in batch], logged)
            for (pos, receipt, ours), result in zip(batch, results, strict=True):
                out[pos] = result.index
                if not result.duplicate:
                    txn.add_receipt(
                        result.index, "received", receipt.sender, receipt.body["message_id"],
                        message_hash(ours.envelope), ours.index,
                    )  # fmt: skip
                    logged[receipt.message_id] = (result.index, receipt.raw)
            if then is not None and batch:
                then(txn)
    return [r for r in out if r is not None]
