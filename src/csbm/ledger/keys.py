"""Keys: the node's State signing key (Ed25519) and the directory of public keys.

* The signing key is a PKCS#8 PEM file written with mode 0600 (refused on load when group
  or others may read it), optionally encrypted with a passphrase
  (``BestAvailableEncryption``).
* Key ids are those of C2SP signed notes (c2sp.org/signed-note): the first four bytes of
  ``SHA-256(name || 0x0A || 0x01 || public key)`` for an Ed25519 key, written as 8 hex
  digits; the key name of a State's log is its checkpoint origin, ``csbm/<STATE>``.
* The directory holds every key a node has seen -- its own, past and present, and the
  peers' -- with a validity period ``[valid_from, valid_until)`` and a revocation instant.
  Rotation (a new key, announced in a statement signed by the old one and proven by a
  signature of the new one) and revocation are themselves signed log entries
  (see :func:`rotation_body`, :func:`revocation_body`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from csbm.errors import CsbmError, InputError, Problem
from csbm.ledger.note import NoteError, NoteVerifier
from csbm.ledger.note import key_id as _note_key_id
from csbm.ledger.records import KeyRecord

#: Kinds of the log entries that change the key directory.
KIND_ROTATION = "csbm.key_rotation"
KIND_REVOCATION = "csbm.key_revocation"


class KeyFileError(CsbmError):
    """A key file cannot be used (permissions, passphrase, format); the reason says why."""

    def __init__(self, message: str, problems: Iterable[Problem] = (), code: str = "key.error"):
        super().__init__(message=message, code=code, problems=tuple(problems))


def stamp(at: datetime) -> str:
    """An instant as written in envelopes and the key directory: UTC, milliseconds, ``Z``."""
    if at.tzinfo is None:
        raise ValueError("the clock must give aware datetimes")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_stamp(text: str) -> datetime:
    """Read an instant written by :func:`stamp` (or any ISO 8601 text with an offset)."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError("no offset")
    return at.astimezone(UTC)


def origin_for(state: str) -> str:
    """The checkpoint origin and key name of a State's log (C2SP tlog-checkpoint)."""
    return f"csbm/{state}"


def key_id_hex(name: str, public_key: bytes) -> str:
    """The C2SP signed-note key id of an Ed25519 key, as 8 hex digits."""
    return _note_key_id(name, public_key).hex()


def fingerprint(public_key: bytes) -> str:
    """``SHA256:`` and the unpadded base64 of SHA-256 over the raw public key (as OpenSSH)."""
    digest = hashlib.sha256(public_key).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def verifier_key(name: str, public_key: bytes) -> str:
    """The C2SP verifier key string ``name+keyid+base64(0x01 || key)``."""
    return NoteVerifier(name, public_key).to_text()


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """Read a C2SP verifier key string; return (name, raw Ed25519 public key)."""
    try:
        verifier = NoteVerifier.from_text(text.strip())
    except NoteError as exc:
        raise InputError("bad verifier key", [Problem("key", exc.message, text)]) from None
    return verifier.name, verifier.public_key


@dataclass(frozen=True)
class StateKey:
    """A State's Ed25519 signing key with its C2SP name and key id."""

    state: str
    name: str
    private: Ed25519PrivateKey

    @functools.cached_property
    def public_key(self) -> bytes:
        """The raw public key (derived once: every receipt signed names its key)."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @functools.cached_property
    def key_id(self) -> str:
        return key_id_hex(self.name, self.public_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.name, self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def record(self, valid_from: datetime) -> KeyRecord:
        return KeyRecord(
            state=self.state,
            key_id=self.key_id,
            name=self.name,
            public_key=self.public_key,
            own=True,
            valid_from=stamp(valid_from),
        )


def generate_state_key(state: str) -> StateKey:
    return StateKey(state=state, name=origin_for(state), private=Ed25519PrivateKey.generate())


def save_state_key(key: StateKey, path: Path, passphrase: bytes | None = None) -> None:
    """Write the private key as PKCS#8 PEM, mode 0600 from the first byte, then fsync."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_state_key(path: Path, state: str, passphrase: bytes | None = None) -> StateKey:
    """Read the signing key; refuse a file others may read, a wrong or missing passphrase."""
    where = str(path)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        raise KeyFileError(
            "no signing key", [Problem(where, "signing key file not found")], code="key.missing"
        ) from None
    if mode & 0o077:
        raise KeyFileError(
            "signing key readable by others",
            [Problem(where, f"permissions are {mode:04o}; run chmod 600 on it", None)],
            code="key.permissions",
        )
    data = path.read_bytes()
    try:
        private = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as exc:
        text = str(exc)
        reason = (
            "the key is encrypted: set CSBM_KEY_PASSPHRASE"
            if "encrypted" in text and not passphrase
            else "the key is not encrypted but a passphrase was given"
        )
        raise KeyFileError(
            "cannot open signing key", [Problem(where, reason)], code="key.passphrase"
        ) from None
    except ValueError:
        raise KeyFileError(
            "cannot open signing key",
            [Problem(where, "wrong passphrase or not a PEM private key")],
            code="key.passphrase",
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(
            "cannot open signing key", [Problem(where, "not an Ed25519 key")], code="key.type"
        )
    return StateKey(state=state, name=origin_for(state), private=private)


# --------------------------------------------------------------------------- directory


@dataclass(frozen=True)
class KeyFault:
    """Why a key may not be used at an instant: ``code`` is the envelope error code."""

    code: str
    reason: str


class KeyDirectory:
    """The public keys a node knows, by (State, key id), with their validity periods."""

    def __init__(self, records: Iterable[KeyRecord] = ()) -> None:
        self._by_id: dict[tuple[str, str], KeyRecord] = {}
        self._public: dict[tuple[str, str], Ed25519PublicKey] = {}
        for record in records:
            self.add(record)

    def add(self, record: KeyRecord) -> None:
        self._by_id[(record.state, record.key_id)] = record
        self._public.pop((record.state, record.key_id), None)

    def get(self, state: str, key_id: str) -> KeyRecord | None:
        return self._by_id.get((state, key_id))

    def records(self) -> list[KeyRecord]:
        return list(self._by_id.values())

    def public(self, state: str, key_id: str) -> Ed25519PublicKey:
        k = (state, key_id)
        pub = self._public.get(k)
        if pub is None:
            pub = Ed25519PublicKey.from_public_bytes(self._by_id[k].public_key)
            self._public[k] = pub
        return pub

    def check(
        self, state: str, key_id: str, at: datetime, *, strict: bool = True
    ) -> KeyFault | None:
        """None when the key may sign at ``at``; else the fault.

        ``strict`` (a message arriving now) refuses a revoked key whatever the message's
        date, since a thief can backdate; an audit of the log passes ``strict=False`` and
        accepts what was signed before the revocation.
        """
        return check_key(self.get(state, key_id), state, key_id, at, strict=strict)

    def verify(self, state: str, key_id: str, signature: bytes, data: bytes) -> bool:
        try:
            self.public(state, key_id).verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def table(self) -> dict[tuple[str, str], tuple[bytes, str, str | None, str | None]]:
        """A picklable copy for worker processes."""
        return {
            k: (r.public_key, r.valid_from, r.valid_until, r.revoked_at)
            for k, r in self._by_id.items()
        }


def check_key(
    record: KeyRecord | None, state: str, key_id: str, at: datetime, *, strict: bool = True
) -> KeyFault | None:
    if record is None:
        return KeyFault("envelope.unknown_key", f"no key {key_id} of {state} in the directory")
    return check_validity(
        key_id, record.valid_from, record.valid_until, record.revoked_at, at, strict=strict
    )


def check_validity(
    key_id: str,
    valid_from: str,
    valid_until: str | None,
    revoked_at: str | None,
    at: datetime,
    *,
    strict: bool,
) -> KeyFault | None:
    if revoked_at is not None and (strict or at >= _instant(revoked_at)):
        return KeyFault("envelope.revoked_key", f"key {key_id} was revoked at {revoked_at}")
    if at < _instant(valid_from):
        return KeyFault("envelope.key_not_valid", f"key {key_id} is valid only from {valid_from}")
    if valid_until is not None and at >= _instant(valid_until):
        return KeyFault(
            "envelope.key_not_valid", f"key {key_id} was valid only until {valid_until}"
        )
    return None


_instant = parse_stamp

#: A rotation hands over one millisecond after the statement: the statement (signed by
#: the old key at ``at``) is inside the old key's period, the new key's period follows.
HANDOVER = timedelta(milliseconds=1)


# --------------------------------------------------------------------------- statements


def rotation_body(old: StateKey, new: StateKey, at: datetime) -> dict[str, Any]:
    """The body of a rotation statement: the new key, proven by its own signature over
    ``csbm key rotation\\n<old key id>\\n<new key id>\\n<at>``; the envelope carrying it is
    signed by the old key."""
    when = stamp(at)
    proof = new.sign(_rotation_text(old.key_id, new.key_id, when))
    return {
        "state": old.state,
        "old_key_id": old.key_id,
        "new_key_id": new.key_id,
        "new_key": new.verifier_key,
        "valid_from": when,
        "new_key_signature": base64.b64encode(proof).decode("ascii"),
    }


def _rotation_text(old_id: str, new_id: str, at: str) -> bytes:
    return f"csbm key rotation\n{old_id}\n{new_id}\n{at}\n".encode()


def check_rotation_body(body: Mapping[str, Any]) -> str | None:
    """None when a rotation statement's new key proves possession; else the reason."""
    try:
        name, public = parse_verifier_key(str(body["new_key"]))
        if key_id_hex(name, public) != body["new_key_id"]:
            return "new_key_id does not match new_key"
        signature = base64.b64decode(str(body["new_key_signature"]), validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(
            signature,
            _rotation_text(
                str(body["old_key_id"]), str(body["new_key_id"]), str(body["valid_from"])
            ),
        )
    except (KeyError, ValueError, CsbmError):
        return "rotation statement is malformed"
    except InvalidSignature:
        return "the new key's signature on the rotation statement is wrong"
    return None


def revocation_body(state: str, key_id: str, at: datetime, reason: str) -> dict[str, Any]:
    return {"state": state, "key_id": key_id, "revoked_at": stamp(at), "reason": reason}
