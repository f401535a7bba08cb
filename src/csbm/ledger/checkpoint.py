"""Checkpoints: C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint), signed as
C2SP signed notes (ledger/note.py).

The body is, one per line: the origin (the log's unique name, a schema-less URL), the
tree size in ASCII decimal without leading zeros, the RFC 9162 root hash in standard
base64, then optional non-empty extension lines. Each line ends with a newline. The
size and root are signed together, which is what binds a proof's tree size to its root.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from csbm.errors import CsbmError, Problem
from csbm.ledger.merkle import HASH_SIZE
from csbm.ledger.note import Note, NoteSignature, NoteVerifier, sign_note, verify_note

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 in the ecosystem (Go's checkpoint parser)."""


class CheckpointError(CsbmError):
    """A checkpoint body is malformed, or is not the one expected; problems say where."""

    def __init__(self, path: str, reason: str, value: object = None):
        super().__init__(
            message=reason,
            code="csbm.checkpoint",
            problems=(Problem(path=path, reason=reason, value=value),),
        )


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, tree size, RFC 9162 root hash, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_origin(self.origin)
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointError("size", "tree size must be an integer", repr(self.size))
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError("size", "tree size must be between 0 and 2^64-1", self.size)
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError("root", f"root hash must be {HASH_SIZE} bytes")
        for i, line in enumerate(self.extensions):
            _check_line(f"extensions[{i}]", line, "extension line")

    def to_text(self) -> str:
        """The checkpoint body, each line ending in a newline."""
        root = base64.b64encode(self.root).decode("ascii")
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a body strictly: refuses missing lines, a non-canonical size ("007",
        "+7", " 7"), non-canonical or bad base64, a root of the wrong length, empty lines."""
        if not isinstance(text, str):
            raise CheckpointError("checkpoint", "checkpoint must be text", type(text).__name__)
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint", "checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(
                "checkpoint", "checkpoint needs origin, size and root lines", len(lines)
            )
        origin, size_text, root_text, *extensions = lines
        return cls(
            origin=origin,
            size=_parse_size(size_text),
            root=_parse_root(root_text),
            extensions=tuple(extensions),
        )

    def sign(self, name: str, private_key: Ed25519PrivateKey) -> SignedCheckpoint:
        """Sign as key ``name`` (C2SP recommends the origin as the key name)."""
        note = sign_note(self.to_text(), name, private_key)
        return SignedCheckpoint.open(note, [_verifier_of(name, private_key)])

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(self.root).decode("ascii"),
            "extensions": list(self.extensions),
        }


def _verifier_of(name: str, private_key: Ed25519PrivateKey) -> NoteVerifier:
    return NoteVerifier.from_public_key(name, private_key.public_key())


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with the signed note it came in, verified by known keys.

    ``note`` is the full signed text: keep it as is, it is what any third party re-checks.
    """

    checkpoint: Checkpoint
    note: str
    signatures: tuple[NoteSignature, ...]

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root

    @classmethod
    def open(
        cls,
        note: str | bytes,
        verifiers: Iterable[NoteVerifier] | Mapping[str, NoteVerifier],
        *,
        origin: str | None = None,
    ) -> SignedCheckpoint:
        """Verify the note's signatures (ledger/note.py), parse its checkpoint body and,
        when ``origin`` is given, refuse a checkpoint of another log."""
        opened: Note = verify_note(note, verifiers)
        checkpoint = Checkpoint.parse(opened.text)
        if origin is not None and checkpoint.origin != origin:
            raise CheckpointError(
                "origin", f"checkpoint is for another log (expected {origin!r})", checkpoint.origin
            )
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        return cls(checkpoint=checkpoint, note=text, signatures=opened.signatures)

    def to_json(self) -> dict[str, Any]:
        return {**self.checkpoint.to_json(), "note": self.note}


def sign_checkpoint(
    checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey
) -> SignedCheckpoint:
    """Sign a checkpoint as key ``name``; the result carries the signed note text."""
    return checkpoint.sign(name, private_key)


def verify_checkpoint(
    note: str | bytes,
    verifiers: Iterable[NoteVerifier] | Mapping[str, NoteVerifier],
    *,
    origin: str | None = None,
) -> SignedCheckpoint:
    """Open a signed checkpoint note (see :meth:`SignedCheckpoint.open`)."""
    return SignedCheckpoint.open(note, verifiers, origin=origin)


# --------------------------------------------------------------------------- helpers


def _check_line(path: str, line: str, what: str) -> None:
    if not isinstance(line, str) or line == "":
        raise CheckpointError(path, f"{what} must not be empty")
    if any(ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF for ch in line):
        raise CheckpointError(path, f"{what} has a control character or newline", line[:40])


def _check_origin(origin: str) -> None:
    _check_line("origin", origin, "origin")
    if origin != origin.strip():
        raise CheckpointError("origin", "origin has leading or trailing spaces", origin)


def _parse_size(text: str) -> int:
    if not text or not text.isascii() or not text.isdigit():
        raise CheckpointError("size", "tree size must be ASCII decimal digits", text)
    if len(text) > 1 and text[0] == "0":
        raise CheckpointError("size", "tree size must not have leading zeros", text)
    if len(text) > 20 or int(text) > MAX_TREE_SIZE:
        raise CheckpointError("size", "tree size is larger than 2^64-1", text)
    return int(text)


def _parse_root(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CheckpointError("root", "root hash is not valid base64", text) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError("root", "root hash is not canonical base64", text)
    if len(raw) != HASH_SIZE:
        raise CheckpointError("root", f"root hash must be {HASH_SIZE} bytes", len(raw))
    return raw
