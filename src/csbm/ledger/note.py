"""C2SP signed notes (https://c2sp.org/signed-note), Ed25519 only.

A signed note is a UTF-8 text ending in a newline, a blank line, then one or more
signature lines ``— <key name> <base64(key ID || signature)>``. The signature covers the
text including its final newline. For Ed25519 (signature type 0x01) the key ID is the
first four bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)``; a verifier key is
written ``<name>+<hex key ID>+<base64(0x01 || public key)>`` and a signer key
``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``, as in Go's
``golang.org/x/mod/sumdb/note``, so notes signed here open there and vice versa.

Opening follows the reference: signatures by unknown keys are kept aside as unverified,
a known key with a bad signature refuses the whole note, repeated signatures by one key
count once, and a note with no signature from a known key is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from csbm.errors import CsbmError, Problem

SIGNATURE_TYPE_ED25519 = 0x01
"""The signature-type byte of Ed25519 keys (C2SP signed-note, "Signature types")."""

MAX_SIGNATURES = 100
"""Notes with more signature lines are refused, as the reference implementation does."""

SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE

MALFORMED = "csbm.note.malformed"
UNKNOWN_KEY = "csbm.note.unknown_key"
BAD_SIGNATURE = "csbm.note.bad_signature"
BAD_KEY = "csbm.note.bad_key"


class NoteError(CsbmError):
    """A note or note key is refused. ``code`` says which way:
    ``csbm.note.malformed``, ``csbm.note.unknown_key`` (no signature by a known key),
    ``csbm.note.bad_signature`` (a known key's signature does not verify) or
    ``csbm.note.bad_key`` (a verifier or signer key text is malformed)."""

    def __init__(self, code: str, path: str, reason: str, value: object = None):
        super().__init__(
            message=reason, code=code, problems=(Problem(path=path, reason=reason, value=value),)
        )


# --------------------------------------------------------------------------- keys


def is_valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode white space, no ``+`` (C2SP signed-note, "Keys")."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and not any(ord(ch) < 0x20 for ch in name)
    )


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte Ed25519 key ID: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([SIGNATURE_TYPE_ED25519]) + public_key
    ).digest()
    return digest[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """A named Ed25519 public key that can verify note signatures."""

    name: str
    public_key: bytes  # 32 raw bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteError(
                BAD_KEY, "name", "key name must be non-empty, without spaces or '+'", self.name
            )
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise NoteError(BAD_KEY, "public_key", "an Ed25519 public key is 32 bytes")

    @classmethod
    def from_public_key(cls, name: str, key: Ed25519PublicKey) -> NoteVerifier:
        return cls(name, _raw_public(key))

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    def to_text(self) -> str:
        """``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
        material = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id_hex}+{material.decode('ascii')}"

    @classmethod
    def from_text(cls, text: str) -> NoteVerifier:
        """Parse a verifier key; the key ID must match the name and key it names."""
        name, _, rest = text.partition("+")
        hex_id, _, material = rest.partition("+")
        if not is_valid_key_name(name) or not rest:
            raise NoteError(BAD_KEY, "name", "verifier key must start with a valid key name", text)
        raw = _parse_key_material(hex_id, material)
        verifier = cls(name, raw)
        if verifier.key_id_hex != hex_id:
            raise NoteError(BAD_KEY, "key_id", "key ID does not match the name and key", hex_id)
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


def _parse_key_material(hex_id: str, material: str) -> bytes:
    if len(hex_id) != 8 or any(c not in "0123456789abcdef" for c in hex_id):
        raise NoteError(BAD_KEY, "key_id", "key ID must be 8 lowercase hex digits", hex_id)
    try:
        raw = base64.b64decode(material.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(BAD_KEY, "key", "key material is not base64", material) from None
    if base64.b64encode(raw).decode("ascii") != material:
        raise NoteError(BAD_KEY, "key", "key material is not canonical base64", material)
    if len(raw) != 33 or raw[0] != SIGNATURE_TYPE_ED25519:
        raise NoteError(BAD_KEY, "key", "key material must be 0x01 and a 32-byte Ed25519 key")
    return raw[1:]


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteError(
                BAD_KEY, "name", "key name must be non-empty, without spaces or '+'", self.name
            )

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_public_key(self.name, self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def sign(self, text: bytes) -> bytes:
        return self.private_key.sign(text)

    def to_text(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`` (Go's signer key)."""
        seed = self.private_key.private_bytes_raw()
        material = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_text(cls, text: str) -> NoteSigner:
        prefix = "PRIVATE+KEY+"
        if not text.startswith(prefix):
            raise NoteError(BAD_KEY, "key", "signer key must start with PRIVATE+KEY+")
        name, _, rest = text[len(prefix) :].partition("+")
        hex_id, _, material = rest.partition("+")
        if not is_valid_key_name(name):
            raise NoteError(BAD_KEY, "name", "signer key must name a valid key name")
        seed = _parse_key_material(hex_id, material)
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id.hex() != hex_id:
            raise NoteError(BAD_KEY, "key_id", "key ID does not match the name and key", hex_id)
        return signer


# --------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key name, its 4-byte key ID and the raw signature."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified by known keys, and those by
    keys this verifier does not know (kept, not trusted)."""

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...] = ()

    def signed_by(self, verifier: NoteVerifier) -> bool:
        return any(s.name == verifier.name and s.key_id == verifier.key_id for s in self.signatures)


def _check_text(text: str, path: str) -> None:
    if not text.endswith("\n"):
        raise NoteError(MALFORMED, path, "note text must end with a newline")
    for i, ch in enumerate(text):
        if ord(ch) < 0x20 and ch != "\n":
            raise NoteError(MALFORMED, path, "note text has a control character", f"offset {i}")
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise NoteError(MALFORMED, path, "note text is not valid UTF-8", f"offset {i}")


def sign_note(
    text: str,
    name: str,
    private_key: Ed25519PrivateKey,
    *,
    keep: Iterable[NoteSignature] = (),
) -> str:
    """Sign ``text`` (which must end in a newline) as key ``name``; return the note.

    ``keep``: signatures already on the note (e.g. a cosigner's) to carry over; one by the
    same key is replaced by the new one.
    """
    _check_text(text, "text")
    signer = NoteSigner(name, private_key)
    new = NoteSignature(name, signer.key_id, signer.sign(text.encode("utf-8")))
    lines = [s.line() for s in keep if (s.name, s.key_id) != (new.name, new.key_id)]
    return text + "\n" + "".join([*lines, new.line()])


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    path = f"signatures[{number}]"
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(
            MALFORMED, path, "signature line must start with an em dash and a space", line[:40]
        )
    name, sep, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not is_valid_key_name(name):
        raise NoteError(MALFORMED, path, "signature line must name a valid key", line[:40])
    try:
        raw = base64.b64decode(blob.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(MALFORMED, path, "signature is not base64", blob[:40]) from None
    if base64.b64encode(raw).decode("ascii") != blob:
        raise NoteError(MALFORMED, path, "signature is not canonical base64", blob[:40])
    if len(raw) < 5:
        raise NoteError(MALFORMED, path, "signature is shorter than a key ID and one byte")
    return NoteSignature(name, raw[:4], raw[4:])


#: What a note may not hold: a control character but the newline, or a lone surrogate.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")


def split_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Parse a signed note into its text and signature lines, without verifying."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError(MALFORMED, "note", "note is not valid UTF-8") from None
    if not isinstance(note, str):
        raise NoteError(MALFORMED, "note", "note must be text", type(note).__name__)
    odd = _CONTROL.search(note)  # the first, as a loop over every character finds it
    if odd is not None:
        raise NoteError(MALFORMED, "note", "note has a control character", f"offset {odd.start()}")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError(MALFORMED, "note", "note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError(MALFORMED, "note", "note must end with signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(
            MALFORMED, "note", f"note has more than {MAX_SIGNATURES} signatures", len(lines)
        )
    return text, [_parse_signature_line(line, i) for i, line in enumerate(lines)]


def _index(
    verifiers: Iterable[NoteVerifier] | Mapping[str, NoteVerifier],
) -> dict[tuple[str, bytes], NoteVerifier]:
    items = verifiers.values() if isinstance(verifiers, Mapping) else verifiers
    out: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in items:
        k = (v.name, v.key_id)
        if k in out and out[k].public_key != v.public_key:
            raise NoteError(
                BAD_KEY,
                "verifiers",
                "two verifier keys share a name and key ID",
                f"{v.name}+{v.key_id_hex}",
            )
        out[k] = v
    return out


def verify_note(
    note: str | bytes, verifiers: Iterable[NoteVerifier] | Mapping[str, NoteVerifier]
) -> Note:
    """Open a signed note with the known ``verifiers``.

    Refuses (``NoteError``): a malformed note, a bad signature by a known key, and a note
    with no signature by any known key.
    """
    known = _index(verifiers)
    text, signatures = split_note(note)
    data = text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for number, sig in enumerate(signatures):
        ident = (sig.name, sig.key_id)
        verifier = known.get(ident)
        if verifier is None:
            if ident not in seen:
                unverified.append(sig)
            seen.add(ident)
            continue
        if ident in seen:
            continue
        seen.add(ident)
        if not verifier.verify(data, sig.signature):
            raise NoteError(
                BAD_SIGNATURE,
                f"signatures[{number}]",
                f"invalid signature for key {sig.name}+{sig.key_id.hex()}",
            )
        verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in unverified)
        raise NoteError(UNKNOWN_KEY, "signatures", "note has no signature by a known key", names)
    return Note(text=text, signatures=tuple(verified), unverified=tuple(unverified))
