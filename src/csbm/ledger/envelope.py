"""Envelopes: a message signed by a State, over canonical JSON (RFC 8785, JCS).

An envelope is the JSON object::

    {"created_at": "2026-11-27T18:00:00.000Z", "csbm": 1, "key_id": "8 hex digits",
     "message": {"kind": "...", "body": {...}}, "message_id": "UUID",
     "recipients": ["AT", "UA"] or ["all"], "sender": "UA", "signature": "base64"}

The Ed25519 signature (RFC 8032) is over the RFC 8785 canonical bytes of the envelope
without ``signature``; the envelope travels and is logged as the canonical bytes of the
whole object. ``signature`` sorts last in RFC 8785 key order, so the signed bytes are the
stored bytes with the last member cut off -- an audit need not re-serialise to verify.

Verification refuses, each with its own error code and reason: ``envelope.malformed``
(not an envelope), ``envelope.not_canonical`` (the bytes are not the RFC 8785 form),
``envelope.unknown_key``, ``envelope.revoked_key``, ``envelope.key_not_valid`` (outside the
key's validity period at ``created_at``), ``envelope.bad_signature`` and
``envelope.replayed`` (a message id already seen).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

from csbm.domain.states import is_participating_state
from csbm.errors import CsbmError, InputError, Problem
from csbm.ledger.keys import KeyDirectory, StateKey, parse_stamp, stamp
from csbm.ledger.records import EntryRecord

ENVELOPE_VERSION = 1
ALL = "all"
_FIELDS = frozenset(
    {"created_at", "csbm", "key_id", "message", "message_id", "recipients", "sender", "signature"}
)
_SIG_MARK = b',"signature":"'


class EnvelopeError(CsbmError):
    """An envelope is refused; ``code`` says which check failed (see the module doc)."""

    def __init__(self, code: str, reason: str, path: str = "envelope", value: Any = None):
        super().__init__(
            message=reason, code=code, problems=(Problem(path=path, reason=reason, value=value),)
        )


#: A character RFC 8785 and ``json.dumps`` may write differently: outside the Basic
#: Multilingual Plane (UTF-16 key order), or a lone surrogate.
_ODD_TEXT = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")
#: The integers RFC 8785 writes (I-JSON's safe range; rfc8785 refuses the others).
_SAFE_INT = 2**53 - 1


def _plain_json(value: Any) -> bool:
    """Whether ``value`` holds only what RFC 8785 writes exactly as ``json.dumps``
    (sorted keys, compact, ``ensure_ascii=False``) does: objects (``dict``) with text
    keys, arrays (``list``, ``tuple``), text within the Basic Multilingual Plane, safe
    integers, true, false, null -- no fractional number (ES6 formatting), no subclass."""
    kind = type(value)
    if kind is str:
        return _ODD_TEXT.search(value) is None
    if kind is int:
        return bool(-_SAFE_INT <= value <= _SAFE_INT)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or _ODD_TEXT.search(key) is not None:
                return False
            if not _plain_json(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain_json(item) for item in value)
    return value is None or kind is bool


def canonical(document: Any) -> bytes:
    """RFC 8785 canonical bytes of a JSON value.

    Fast path (an envelope or receipt sealed): a document of :func:`_plain_json` values
    is written by ``json.dumps`` -- the same bytes (RFC 8785 §3.2.2.2 string escapes are
    JSON's, integers are their digits, and code point order is UTF-16 order within the
    BMP: §3.2.3; tested against the reference implementation); anything else, and every
    refusal, by the reference implementation (``rfc8785``)."""
    try:
        if _plain_json(document):
            text = json.dumps(document, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False)  # fmt: skip
            return text.encode("utf-8")
    except RecursionError:
        pass  # refused below, as the reference implementation refuses it
    try:
        return bytes(rfc8785.dumps(document))
    except RecursionError:
        reason = "not canonicalisable JSON: nested too deeply"
        raise EnvelopeError("envelope.malformed", reason) from None
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EnvelopeError("envelope.malformed", f"not canonicalisable JSON: {exc}") from None


@dataclass(frozen=True)
class Envelope:
    """A signed message. ``raw`` is the canonical bytes as sent, logged and hashed."""

    sender: str
    key_id: str
    message_id: str
    created_at: str
    recipients: tuple[str, ...]
    message: Mapping[str, Any]
    signature: bytes
    raw: bytes

    @property
    def kind(self) -> str:
        return str(self.message["kind"])

    @property
    def body(self) -> Any:
        return self.message["body"]

    @property
    def created(self) -> datetime:
        return parse_stamp(self.created_at)

    def signed_bytes(self) -> bytes:
        return signed_part(self.raw)

    def record(self) -> EntryRecord:
        """The row to append to a log."""
        return EntryRecord(
            message_id=self.message_id,
            kind=self.kind,
            sender=self.sender,
            key_id=self.key_id,
            created_at=self.created_at,
            envelope=self.raw,
        )

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.raw)
        return result


def _unsigned(
    sender: str,
    key_id: str,
    message_id: str,
    created_at: str,
    recipients: Sequence[str],
    message: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "csbm": ENVELOPE_VERSION,
        "sender": sender,
        "key_id": key_id,
        "message_id": message_id,
        "created_at": created_at,
        "recipients": list(recipients),
        "message": dict(message),
    }


def seal(
    message: Mapping[str, Any],
    key: StateKey,
    recipients: Sequence[str],
    at: datetime,
    message_id: str | None = None,
) -> Envelope:
    """Sign ``message`` (``{"kind": ..., "body": {...}}``) as ``key``'s State at ``at``.
    The body must be I-JSON (RFC 7493): finite numbers, safe integers, string keys."""
    problems = message_problems(message) + recipient_problems(recipients)
    if isinstance(message, Mapping):
        try:
            problems += json_value_problems(message.get("body"), "message.body")
        except RecursionError:
            problems.append(Problem("message.body", "nested too deeply"))
    if problems:
        raise InputError("not a message csbm can sign", problems, code="envelope.malformed")
    mid = message_id or str(uuid.uuid4())
    unsigned = _unsigned(key.state, key.key_id, mid, stamp(at), recipients, message)
    signed = canonical(unsigned)
    signature = key.sign(signed)
    raw = signed[:-1] + _SIG_MARK + base64.b64encode(signature) + b'"}'
    return Envelope(
        sender=key.state,
        key_id=key.key_id,
        message_id=mid,
        created_at=unsigned["created_at"],
        recipients=tuple(recipients),
        message=unsigned["message"],
        signature=signature,
        raw=raw,
    )


def signed_part(raw: bytes) -> bytes:
    """The bytes the signature covers: ``raw`` without its last member (``signature``)."""
    cut = raw.rfind(_SIG_MARK)
    if cut < 0 or not raw.endswith(b'"}'):
        raise EnvelopeError("envelope.malformed", "no signature member at the end")
    return raw[:cut] + b"}"


#: Kinds that only csbm itself writes (key statements, receipts): never from a user's message.
RESERVED_PREFIX = "csbm."


def is_reserved_kind(kind: Any) -> bool:
    """Whether ``kind`` is one csbm writes itself (``csbm.receipt``, ``csbm.key_rotation``,
    ``csbm.key_announcement``, ``csbm.key_revocation``, ``csbm.peer_key``, any ``csbm.*``)."""
    return isinstance(kind, str) and kind.strip().lower().startswith(RESERVED_PREFIX)


def json_value_problems(value: Any, path: str) -> list[Problem]:
    """What in ``value`` JSON and RFC 8785 cannot carry (RFC 7493, I-JSON): objects with
    string keys, arrays, strings, finite numbers, integers within ±(2**53 - 1), booleans
    and null are fine; NaN, Infinity and anything else are named with their path."""
    if isinstance(value, Mapping):
        out: list[Problem] = []
        for k, v in value.items():
            if not isinstance(k, str):
                out.append(Problem(path, "object keys must be strings", repr(k)))
            else:
                out.extend(json_value_problems(v, f"{path}.{k}"))
        return out
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in json_value_problems(v, f"{path}[{i}]")]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            return [Problem(path, "integer beyond the I-JSON range ±(2**53 - 1)", value)]
        return []
    if isinstance(value, float):
        if math.isfinite(value):
            return []
        return [Problem(path, "not a finite number (NaN and Infinity are not JSON)", repr(value))]
    return [Problem(path, f"not a JSON value ({type(value).__name__})", str(value))]


def message_problems(message: Any, path: str = "message") -> list[Problem]:
    """What is wrong with a message (``kind`` a non-empty string, ``body`` an object, and
    an optional ``case``, the procedure's case label: see ``csbm.message``)."""
    if not isinstance(message, Mapping):
        return [Problem(path, "a message must be a JSON object with kind and body")]
    out: list[Problem] = []
    extra = sorted(set(message) - {"kind", "case", "body"})
    if extra:
        out.append(Problem(path, f"unknown members {extra}; a message has kind, case and body"))
    case = message.get("case", "-")
    if not isinstance(case, str) or not case.strip() or len(case) > 200:
        out.append(Problem(f"{path}.case", "must be a non-empty string (at most 200)", case))
    kind = message.get("kind")
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 128:
        out.append(Problem(f"{path}.kind", "must be a non-empty string (at most 128)", kind))
    if not isinstance(message.get("body"), Mapping):
        out.append(Problem(f"{path}.body", "must be a JSON object", None))
    return out


def recipient_problems(recipients: Any, path: str = "recipients") -> list[Problem]:
    if isinstance(recipients, str) or not isinstance(recipients, Sequence) or not recipients:
        return [Problem(path, 'must be a non-empty list of State codes, or ["all"]')]
    if ALL in recipients:
        if len(recipients) != 1:
            return [Problem(path, '"all" stands alone')]
        return []
    out: list[Problem] = []
    for i, code in enumerate(recipients):
        if not _is_state(code):
            out.append(Problem(f"{path}[{i}]", "not a participating State code", code))
    if len(set(recipients)) != len(recipients):
        out.append(Problem(path, "a State is named twice"))
    return out


_ASTRAL = re.compile(rb"[\xf0-\xff]")


#: The largest integer a double holds exactly with all smaller ones (I-JSON, RFC 7493 §2.2).
MAX_SAFE_INTEGER = 2**53 - 1


class _Literals:
    """Reads JSON numbers as RFC 8785 sees them -- IEEE-754 doubles (§3.2.2.3) -- and
    notes whether the document has what the fast canonical check cannot vouch for: a
    fraction or exponent, or an integer of more than 15 digits. Non-finite numbers
    (``NaN``, ``Infinity``, or a literal beyond the double range such as ``1e400``) are not
    JSON (RFC 8259 §6) and are refused."""

    __slots__ = ("plain",)

    def __init__(self) -> None:
        self.plain = True

    def fraction(self, text: str) -> float:
        self.plain = False
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number out of the IEEE-754 double range: {text[:40]}")
        return value

    def integer(self, text: str) -> int | float:
        if len(text) <= 15:
            return int(text)
        # 16 digits or more: the number is the double nearest the text. Its RFC 8785 form
        # is an integer of up to 21 digits (ES6 Number.prototype.toString), e.g. 1e16 ->
        # 10000000000000000; canonical only when that form is this very text.
        self.plain = False
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number out of the IEEE-754 double range: {text[:40]}...")
        return int(text) if abs(value) <= MAX_SAFE_INTEGER else value

    @staticmethod
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number (RFC 8259 §6; RFC 8785 §3.2.2.3)")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_json(raw: bytes | str) -> tuple[Any, bool]:
    """Parse JSON text as RFC 8785 reads it; return the value and whether it is *plain*
    (see :class:`_Literals`). Refuses (``envelope.malformed``) what is not I-JSON: NaN and
    Infinity, numbers beyond the double range, text nested too deeply."""
    literals = _Literals()
    try:
        doc = json.loads(
            raw,
            parse_float=literals.fraction,
            parse_int=literals.integer,
            parse_constant=literals.constant,
        )
    except RecursionError:
        raise EnvelopeError("envelope.malformed", "not JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError("envelope.malformed", f"not JSON: {exc}") from None
    return doc, literals.plain


def load_canonical(raw: bytes) -> Any:
    """The JSON value of ``raw``, which must be its RFC 8785 canonical form byte for
    byte: ``envelope.malformed`` for what is not JSON (or holds a key twice),
    ``envelope.not_canonical`` for JSON in another form."""
    doc, plain = load_json(raw)
    if is_canonical(doc, raw, plain):
        return doc
    try:  # only on the refusal path: name a duplicate key (it makes the bytes differ)
        json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except RecursionError:
        pass
    except ValueError as exc:
        if str(exc).startswith("duplicate key"):
            raise EnvelopeError("envelope.malformed", f"not I-JSON: {exc}") from None
    raise EnvelopeError("envelope.not_canonical", "the bytes are not the RFC 8785 canonical form")


def is_canonical_json(raw: bytes) -> bool:
    """Whether ``raw`` is JSON in its RFC 8785 canonical form (the check the audit and
    :func:`parse_envelope` make; it agrees with :func:`canonical` on every input)."""
    try:
        load_canonical(raw)
    except EnvelopeError:
        return False
    return True


def is_canonical(doc: Any, raw: bytes, plain: bool) -> bool:
    """Whether ``raw`` is the RFC 8785 form of ``doc`` (``doc`` and ``plain`` as read by
    :func:`load_json`).

    Fast path: for a document with no fractional numbers, no integer beyond 15 digits
    and no character outside the Basic Multilingual Plane (no UTF-8 lead byte >= 0xF0),
    RFC 8785 serialisation is exactly ``json.dumps(sort_keys, compact, ensure_ascii=False)``:
    the same string escapes (RFC 8785 §3.2.2.2), the same integer text, and code point
    order equals UTF-16 order within the BMP (§3.2.3). Anything else takes the
    reference implementation, which formats every number as ES6 does (§3.2.2.3) -- also
    the doubles whose form is an integer of 16 to 21 digits, read as doubles above.
    """
    if plain and _ASTRAL.search(raw) is None:
        try:
            fast = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return fast.encode("utf-8") == raw
        except (UnicodeEncodeError, ValueError, RecursionError):
            return False
    try:
        return canonical(doc) == raw
    except EnvelopeError:
        return False


def _is_state(code: Any) -> bool:
    """A participating State's code as written: two upper-case letters."""
    return isinstance(code, str) and code.isupper() and is_participating_state(code)


def parse_envelope(raw: bytes) -> Envelope:
    """Read an envelope's structure; refuse malformed or non-canonical bytes."""
    doc, plain = load_json(raw)
    if not isinstance(doc, dict):
        raise EnvelopeError("envelope.malformed", "an envelope is a JSON object")
    missing = sorted(_FIELDS - set(doc))
    if missing:
        raise EnvelopeError("envelope.malformed", f"missing members {missing}")
    extra = sorted(set(doc) - _FIELDS)
    if extra:
        raise EnvelopeError("envelope.malformed", f"unknown members {extra}")
    if doc["csbm"] != ENVELOPE_VERSION:
        raise EnvelopeError(
            "envelope.malformed", "unsupported envelope version", "csbm", doc["csbm"]
        )
    if not is_canonical(doc, raw, plain):
        load_canonical(raw)  # names a duplicate key, else refuses as not canonical
    for name in ("sender", "key_id", "message_id", "created_at", "signature"):
        if not isinstance(doc[name], str):
            raise EnvelopeError("envelope.malformed", "must be a string", name, doc[name])
    if not _is_state(doc["sender"]):
        raise EnvelopeError(
            "envelope.malformed", "not a participating State", "sender", doc["sender"]
        )
    try:
        if str(uuid.UUID(doc["message_id"])) != doc["message_id"]:
            raise ValueError
    except ValueError:
        raise EnvelopeError(
            "envelope.malformed",
            "must be a UUID in lower-case hyphenated form",
            "message_id",
            doc["message_id"],
        ) from None
    try:
        parse_stamp(doc["created_at"])
    except ValueError:
        raise EnvelopeError(
            "envelope.malformed", "not an ISO 8601 instant", "created_at", doc["created_at"]
        ) from None
    for problem in message_problems(doc["message"]) + recipient_problems(doc["recipients"]):
        raise EnvelopeError("envelope.malformed", problem.reason, problem.path, problem.value)
    try:
        signature = base64.b64decode(doc["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("envelope.malformed", "not base64", "signature") from None
    if len(signature) != 64:
        raise EnvelopeError(
            "envelope.bad_signature", "an Ed25519 signature is 64 bytes", "signature"
        )
    return Envelope(
        sender=doc["sender"],
        key_id=doc["key_id"],
        message_id=doc["message_id"],
        created_at=doc["created_at"],
        recipients=tuple(doc["recipients"]),
        message=doc["message"],
        signature=signature,
        raw=raw,
    )


def verify_envelope(
    raw: bytes,
    directory: KeyDirectory,
    seen: Container[str] = (),
    *,
    strict: bool = True,
    parsed: Envelope | None = None,
) -> Envelope:
    """Parse and verify an envelope; raise :class:`EnvelopeError` with the failing check.

    ``seen`` is the set of message ids already received (a replay is refused);
    ``strict`` refuses a revoked key whatever the envelope's date (see
    :meth:`KeyDirectory.check`). ``parsed``: what :func:`parse_envelope` gave for these
    very bytes (a caller that read it already), so they are not parsed again; an
    envelope of other bytes is ignored.
    """
    envelope = parsed if parsed is not None and parsed.raw == raw else parse_envelope(raw)
    fault = directory.check(envelope.sender, envelope.key_id, envelope.created, strict=strict)
    if fault is not None:
        raise EnvelopeError(fault.code, fault.reason, "key_id", envelope.key_id)
    if not directory.verify(envelope.sender, envelope.key_id, envelope.signature, signed_part(raw)):
        raise EnvelopeError("envelope.bad_signature", "the signature does not verify", "signature")
    if envelope.message_id in seen:
        raise EnvelopeError(
            "envelope.replayed", "message id already received", "message_id", envelope.message_id
        )
    return envelope


def seal_many(
    messages: Iterable[Mapping[str, Any]], key: StateKey, recipients: Sequence[str], at: datetime
) -> list[Envelope]:
    return [seal(m, key, recipients, at) for m in messages]
