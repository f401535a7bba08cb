"""Split-view detection between a peer's checkpoints (RFC 9162 §2.1.4 consistency, as
CT monitors and witnesses do; C2SP tlog-checkpoint).

A node remembers the last checkpoint of each peer it verified. When the peer shows a new
one, with a consistency proof from the old size, the node either moves on (the new one
extends the old) or keeps :class:`SplitViewEvidence`:

- ``fork``: two signed checkpoints with the same size and different roots. Self-standing:
  anyone holding the peer's key can check it, no proof needed.
- ``rollback``: a signed checkpoint smaller than one already seen from the same peer as
  its latest. (An older checkpoint quoted for an older message is not a rollback; check
  such against stored history instead.)
- ``inconsistent``: the new checkpoint does not extend the old with the proof offered.
  The peer can clear it only by producing a consistency proof between the two signed
  checkpoints; if none exists the log was rewritten.

Pure: no I/O, no clock. The caller stores the evidence.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from csbm.errors import CsbmError, InputError, Problem
from csbm.ledger.checkpoint import SignedCheckpoint
from csbm.ledger.merkle import ProofError, b64decode_strict, verify_consistency
from csbm.ledger.note import NoteVerifier

EvidenceKind = Literal["fork", "rollback", "inconsistent"]
KINDS: tuple[EvidenceKind, ...] = ("fork", "rollback", "inconsistent")


@dataclass(frozen=True)
class SplitViewEvidence:
    """Two signed checkpoints of one log that cannot both be honest, and the proof that
    failed between them. ``old_note`` and ``new_note`` are the signed notes verbatim."""

    kind: EvidenceKind
    origin: str
    old_note: str
    new_note: str
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: tuple[bytes, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        return {
            "kind": self.kind,
            "origin": self.origin,
            "reason": self.reason,
            "old": {"size": self.old_size, "root": b64(self.old_root), "note": self.old_note},
            "new": {"size": self.new_size, "root": b64(self.new_root), "note": self.new_note},
            "proof": [b64(p) for p in self.proof],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes) -> SplitViewEvidence:
        """Parse evidence; the signed notes are not re-verified here (see :meth:`recheck`)."""
        if isinstance(doc, str | bytes):
            try:
                doc = json.loads(doc)
            except ValueError as exc:
                raise _input("", f"is not JSON: {exc}") from None
        if not isinstance(doc, Mapping):
            raise _input("", "evidence must be a JSON object")
        kind = doc.get("kind")
        if kind not in KINDS:
            raise _input("kind", f"must be one of {', '.join(KINDS)}", kind)
        sides: dict[str, tuple[int, bytes, str]] = {}
        for side in ("old", "new"):
            part = doc.get(side)
            if not isinstance(part, Mapping):
                raise _input(side, "must be an object with size, root and note")
            size = part.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise _input(f"{side}.size", "must be a non-negative integer", size)
            note = part.get("note")
            if not isinstance(note, str):
                raise _input(f"{side}.note", "must be the signed checkpoint text")
            sides[side] = (size, b64decode_strict(part.get("root"), f"{side}.root"), note)
        proof = doc.get("proof")
        if not isinstance(proof, list):
            raise _input("proof", "must be a list of base64 hashes")
        origin, reason = doc.get("origin"), doc.get("reason")
        if not isinstance(origin, str) or not isinstance(reason, str):
            raise _input("origin", "origin and reason must be strings")
        return cls(
            kind=kind,
            origin=origin,
            old_note=sides["old"][2],
            new_note=sides["new"][2],
            old_size=sides["old"][0],
            new_size=sides["new"][0],
            old_root=sides["old"][1],
            new_root=sides["new"][1],
            proof=tuple(b64decode_strict(p, f"proof[{i}]") for i, p in enumerate(proof)),
            reason=reason,
        )

    def recheck(self, verifiers: Iterable[NoteVerifier] | Mapping[str, NoteVerifier]) -> None:
        """Re-verify the evidence from scratch: both notes signed by the peer's keys, of the
        same origin, with the sizes and roots recorded, and really in conflict. Raises
        :class:`~csbm.errors.CsbmError` when the evidence does not hold."""
        keys = list(verifiers.values() if isinstance(verifiers, Mapping) else verifiers)
        old = SignedCheckpoint.open(self.old_note, keys, origin=self.origin)
        new = SignedCheckpoint.open(self.new_note, keys, origin=self.origin)
        recorded = (self.old_size, self.old_root, self.new_size, self.new_root)
        if (old.size, old.root, new.size, new.root) != recorded:
            raise _input("", "recorded sizes or roots differ from the signed checkpoints")
        again = check_peer_checkpoint(old, new, self.proof)
        if not isinstance(again, SplitViewEvidence) or again.kind != self.kind:
            raise _input("kind", "the two checkpoints are not in conflict as claimed", self.kind)


def check_peer_checkpoint(
    last: SignedCheckpoint | None,
    new: SignedCheckpoint,
    proof: Sequence[bytes],
) -> SignedCheckpoint | SplitViewEvidence:
    """Accept ``new`` (returned, to remember as the peer's latest) or return evidence.

    ``last`` is the last checkpoint of this peer already verified (None the first time:
    the first one is taken on trust). ``proof`` is the consistency proof from
    ``last.size`` to ``new.size`` (RFC 9162 §2.1.4). A checkpoint of another origin is
    an input error, not evidence: it belongs to another log.
    """
    if last is None:
        return new
    if new.origin != last.origin:
        raise _input(
            "origin", f"checkpoint is for another log (expected {last.origin!r})", new.origin
        )
    if new.size < last.size:
        return _evidence(
            "rollback", last, new, proof, f"tree size went down from {last.size} to {new.size}"
        )
    if new.size == last.size:
        if new.root != last.root:
            return _evidence(
                "fork", last, new, proof, f"two different roots signed for tree size {new.size}"
            )
        return new
    if last.size == 0:
        return new  # every tree extends the empty one
    try:
        verify_consistency(last.size, new.size, list(proof), last.root, new.root)
    except ProofError as exc:
        return _evidence(
            "inconsistent",
            last,
            new,
            proof,
            f"tree of size {new.size} does not extend size {last.size}: {exc}",
        )
    return new


def _evidence(
    kind: EvidenceKind,
    old: SignedCheckpoint,
    new: SignedCheckpoint,
    proof: Sequence[bytes],
    reason: str,
) -> SplitViewEvidence:
    return SplitViewEvidence(
        kind=kind,
        origin=old.origin,
        old_note=old.note,
        new_note=new.note,
        old_size=old.size,
        new_size=new.size,
        old_root=old.root,
        new_root=new.root,
        proof=tuple(proof),
        reason=reason,
    )


def _input(path: str, reason: str, value: object = None) -> CsbmError:
    return InputError(reason, (Problem(path=path, reason=reason, value=value),))
