"""Split-view detection (ledger/split_view.py): a peer's new checkpoint is accepted only
when it extends the last one seen; otherwise evidence anyone can re-check."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from csbm.errors import CsbmError, InputError
from csbm.ledger.checkpoint import Checkpoint, SignedCheckpoint
from csbm.ledger.merkle import MemoryNodeStore, MerkleLog
from csbm.ledger.note import NoteVerifier
from csbm.ledger.split_view import SplitViewEvidence, check_peer_checkpoint

ORIGIN = "csbm.example/PL"
KEY = Ed25519PrivateKey.from_private_bytes(b"\x11" * 32)
VERIFIERS = [NoteVerifier.from_public_key(ORIGIN, KEY.public_key())]


def _log(entries: list[bytes]) -> MerkleLog:
    log = MerkleLog(MemoryNodeStore())
    log.append_data(entries)
    return log


def _cp(log: MerkleLog, size: int, origin: str = ORIGIN) -> SignedCheckpoint:
    return Checkpoint(origin, size, log.root(size)).sign(ORIGIN, KEY)


HONEST = _log([f"entry {i}".encode() for i in range(20)])
# the same first 10 entries, then a rewritten history
FORKED = _log([f"entry {i}".encode() for i in range(10)] + [b"rewritten"] * 10)


def test_first_checkpoint_is_taken_on_trust() -> None:
    new = _cp(HONEST, 5)
    assert check_peer_checkpoint(None, new, []) is new


def test_consistent_growth_is_accepted() -> None:
    old, new = _cp(HONEST, 7), _cp(HONEST, 20)
    assert check_peer_checkpoint(old, new, HONEST.consistency_proof(7, 20)) is new


def test_same_checkpoint_again_is_accepted() -> None:
    old = _cp(HONEST, 7)
    assert check_peer_checkpoint(old, _cp(HONEST, 7), []) == old


def test_growth_from_the_empty_log_needs_no_proof() -> None:
    accepted = check_peer_checkpoint(_cp(HONEST, 0), _cp(HONEST, 3), [])
    assert isinstance(accepted, SignedCheckpoint)
    assert accepted.size == 3


def test_two_roots_for_one_size_is_a_fork() -> None:
    old, new = _cp(HONEST, 15), _cp(FORKED, 15)
    evidence = check_peer_checkpoint(old, new, [])
    assert isinstance(evidence, SplitViewEvidence)
    assert evidence.kind == "fork"
    assert (evidence.old_note, evidence.new_note) == (old.note, new.note)
    evidence.recheck(VERIFIERS)


def test_a_smaller_size_is_a_rollback() -> None:
    evidence = check_peer_checkpoint(_cp(HONEST, 15), _cp(HONEST, 12), [])
    assert isinstance(evidence, SplitViewEvidence)
    assert evidence.kind == "rollback"
    assert "15" in evidence.reason and "12" in evidence.reason
    evidence.recheck(VERIFIERS)


def test_a_rewritten_history_is_inconsistent_whatever_proof_is_offered() -> None:
    old, new = _cp(HONEST, 12), _cp(FORKED, 20)
    for proof in (FORKED.consistency_proof(12, 20), HONEST.consistency_proof(12, 20), []):
        evidence = check_peer_checkpoint(old, new, proof)
        assert isinstance(evidence, SplitViewEvidence)
        assert evidence.kind == "inconsistent"
        assert evidence.proof == tuple(proof)
        evidence.recheck(VERIFIERS)


def test_a_wrong_proof_for_an_honest_log_is_reported_but_fails_recheck_when_fixed() -> None:
    old, new = _cp(HONEST, 12), _cp(HONEST, 20)
    evidence = check_peer_checkpoint(old, new, HONEST.consistency_proof(11, 20))
    assert isinstance(evidence, SplitViewEvidence) and evidence.kind == "inconsistent"
    # with the right proof the same two checkpoints are not in conflict
    cleared = SplitViewEvidence(
        **{**evidence.__dict__, "proof": tuple(HONEST.consistency_proof(12, 20))}
    )
    with pytest.raises(CsbmError):
        cleared.recheck(VERIFIERS)


def test_another_origin_is_an_input_error_not_evidence() -> None:
    with pytest.raises(InputError):
        check_peer_checkpoint(_cp(HONEST, 3), _cp(HONEST, 5, "csbm.example/DE"), [])


def test_evidence_json_round_trip_and_recheck() -> None:
    evidence = check_peer_checkpoint(
        _cp(HONEST, 12), _cp(FORKED, 20), FORKED.consistency_proof(12, 20)
    )
    assert isinstance(evidence, SplitViewEvidence)
    doc = json.loads(json.dumps(evidence.to_json()))
    assert set(doc) == {"kind", "origin", "reason", "old", "new", "proof"}
    again = SplitViewEvidence.from_json(doc)
    assert again == evidence
    assert SplitViewEvidence.from_json(json.dumps(doc)) == evidence
    again.recheck(VERIFIERS)


def test_doctored_evidence_fails_recheck() -> None:
    evidence = check_peer_checkpoint(_cp(HONEST, 15), _cp(FORKED, 15), [])
    assert isinstance(evidence, SplitViewEvidence)
    # swap in an honest checkpoint: the two no longer conflict
    honest_twin = _cp(HONEST, 15)
    doctored = SplitViewEvidence(
        **{**evidence.__dict__, "new_note": honest_twin.note, "new_root": honest_twin.root}
    )
    with pytest.raises(CsbmError):
        doctored.recheck(VERIFIERS)
    # recorded root differs from the signed one
    lying = SplitViewEvidence(**{**evidence.__dict__, "new_root": HONEST.root(15)})
    with pytest.raises(CsbmError):
        lying.recheck(VERIFIERS)
    # signed by a key the checker does not know
    stranger = [NoteVerifier.from_public_key(ORIGIN, Ed25519PrivateKey.generate().public_key())]
    with pytest.raises(CsbmError):
        evidence.recheck(stranger)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(kind="odd"),
        lambda d: d.pop("old"),
        lambda d: d["new"].update(size=-1),
        lambda d: d["new"].update(root="***"),
        lambda d: d["old"].update(note=None),
        lambda d: d.update(proof="AAAA"),
        lambda d: d.update(proof=["AA-_"]),
        lambda d: d.update(origin=7),
    ],
)
def test_malformed_evidence_json_is_refused(mutate: object) -> None:
    evidence = check_peer_checkpoint(_cp(HONEST, 15), _cp(FORKED, 15), [])
    assert isinstance(evidence, SplitViewEvidence)
    doc = evidence.to_json()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(InputError):
        SplitViewEvidence.from_json(doc)
    with pytest.raises(InputError):
        SplitViewEvidence.from_json("[1]")
