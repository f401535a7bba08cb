"""What travels between nodes over HTTP: a delivery as JSON, and signed requests.

Source: issue 11, item 2. A delivery (:class:`csbm.ledger.receipt.Delivery`) travels as
the JSON object ::

    {"envelope": base64 of the envelope's canonical bytes,
     "checkpoint": the sender's signed checkpoint note (C2SP tlog-checkpoint),
     "leaf_index": n, "inclusion": [base64 hashes]      (RFC 9162 §2.1.3),
     "consistency_from": m, "consistency": [base64 hashes]  (RFC 9162 §2.1.4),
     "alternatives": [{"from": k, "proof": [base64 hashes]}, ...]  (optional)}

``alternatives`` are consistency proofs to the same checkpoint from other sizes: a
message to all carries one for each size of the sender's log the nodes last saw, so each
node the hub relays it to verifies it from its own last view (issue 11, item 9).

Several deliveries to one node travel in one request as ``{"deliveries": [delivery,
...]}`` (at most :data:`MAX_BATCH`): the hub sends a node every message waiting for it
at once, received in order in one commit (see ``docs/network.md``).

Every node-to-node request is signed with the requesting node's key, in the spirit of
HTTP Message Signatures (RFC 9421, simplified to one fixed set of components): the
headers ``CSBM-Signer`` (a State code, or ``hub``), ``CSBM-Key-Id``, ``CSBM-Date`` and
``CSBM-Signature``, an Ed25519 signature (RFC 8032) over ::

    csbm-request/1 LF METHOD LF PATH?QUERY LF DATE LF hex(SHA-256(body))

A request whose date is further from the receiver's clock than the allowed skew is
refused (a captured request cannot be replayed later), as is an unknown or revoked key.
The envelope inside a delivery carries its own signature: the signer of the request (the
hub relaying it, or the sender) need not be the sender of the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from csbm.errors import CsbmError, InputError, Problem
from csbm.ledger.keys import StateKey, parse_stamp, stamp
from csbm.ledger.receipt import Delivery

SIGNER = "csbm-signer"
KEY_ID = "csbm-key-id"
DATE = "csbm-date"
SIGNATURE = "csbm-signature"
#: The default allowed distance between a request's (or envelope's) time and our clock.
DEFAULT_SKEW = timedelta(minutes=5)
#: The largest delivery document accepted (bytes).
MAX_DELIVERY = 8 * 1024 * 1024


class AuthError(CsbmError):
    """A node-to-node request whose signature is missing, unknown, stale or wrong."""

    http_status = 401

    def __init__(
        self, reason: str, path: str = SIGNATURE, value: Any = None, code: str = ""
    ) -> None:
        super().__init__(
            message=reason,
            code=code or "auth.request_signature",
            problems=(Problem(path, reason, value),),
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise InputError("bad delivery", [Problem(path, "must be base64 text")])
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("bad delivery", [Problem(path, "not base64")]) from None


def _hashes(value: Any, path: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > 64:
        raise InputError("bad delivery", [Problem(path, "must be a list of base64 hashes")])
    out = tuple(_unb64(v, f"{path}[{i}]") for i, v in enumerate(value))
    for i, h in enumerate(out):
        if len(h) != 32:
            raise InputError("bad delivery", [Problem(f"{path}[{i}]", "not a SHA-256 hash")])
    return out


def _size(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise InputError("bad delivery", [Problem(path, "must be a whole number ≥ 0", value)])
    return value


def delivery_to_json(delivery: Delivery) -> dict[str, Any]:
    """The JSON form of a delivery (see the module doc)."""
    out: dict[str, Any] = {
        "envelope": _b64(delivery.envelope),
        "checkpoint": delivery.checkpoint,
        "leaf_index": delivery.leaf_index,
        "inclusion": [_b64(h) for h in delivery.inclusion],
        "consistency": [_b64(h) for h in delivery.consistency],
    }
    if delivery.consistency_from is not None:
        out["consistency_from"] = delivery.consistency_from
    if delivery.alternatives:
        out["alternatives"] = [
            {"from": start, "proof": [_b64(h) for h in proof]}
            for start, proof in delivery.alternatives
        ]
    return out


#: The most consistency proofs from other sizes a delivery may carry.
MAX_ALTERNATIVES = 64


def _alternatives(value: Any) -> tuple[tuple[int, tuple[bytes, ...]], ...]:
    if not isinstance(value, list) or len(value) > MAX_ALTERNATIVES:
        raise InputError(
            "bad delivery",
            [Problem("alternatives", f"a list of at most {MAX_ALTERNATIVES} proofs")],
        )
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or set(item) != {"from", "proof"}:
            raise InputError(
                "bad delivery", [Problem(f"alternatives[{i}]", "an object {from, proof}")]
            )
        start = _size(item["from"], f"alternatives[{i}].from")
        out.append((start, _hashes(item["proof"], f"alternatives[{i}].proof")))
    return tuple(out)


DELIVERY_KEYS = frozenset(
    {"envelope", "checkpoint", "leaf_index", "inclusion", "consistency", "consistency_from",
     "alternatives"}
)


def delivery_from_json(doc: Any) -> Delivery:
    """A delivery from its JSON form; InputError names the first bad member."""
    if not isinstance(doc, Mapping):
        raise InputError("bad delivery", [Problem("(delivery)", "a delivery is a JSON object")])
    unknown = sorted(set(doc) - DELIVERY_KEYS)
    if unknown:
        raise InputError("bad delivery", [Problem(unknown[0], "unknown member")])
    for name in ("envelope", "checkpoint", "leaf_index", "inclusion"):
        if name not in doc:
            raise InputError("bad delivery", [Problem(name, "required")])
    if not isinstance(doc["checkpoint"], str) or len(doc["checkpoint"]) > 4096:
        raise InputError("bad delivery", [Problem("checkpoint", "a signed checkpoint note")])
    start = doc.get("consistency_from")
    return Delivery(
        envelope=_unb64(doc["envelope"], "envelope"),
        checkpoint=doc["checkpoint"],
        inclusion=_hashes(doc["inclusion"], "inclusion"),
        leaf_index=_size(doc["leaf_index"], "leaf_index"),
        consistency=_hashes(doc.get("consistency", []), "consistency"),
        consistency_from=None if start is None else _size(start, "consistency_from"),
        alternatives=_alternatives(doc["alternatives"]) if "alternatives" in doc else (),
    )


#: The most deliveries one request to a node's inbox carries (``{"deliveries": [...]}``).
MAX_BATCH = 64


def batch_to_json(deliveries: Sequence[Delivery]) -> dict[str, Any]:
    """The JSON form of several deliveries to one node (see the module doc)."""
    return {"deliveries": [delivery_to_json(d) for d in deliveries]}


def batch_from_json(doc: Mapping[str, Any]) -> list[Delivery]:
    """The deliveries of a batch (``{"deliveries": [delivery, ...]}``, 1 to
    :data:`MAX_BATCH` of them, in the order to receive them); InputError names the
    first bad member (``deliveries[i].member``)."""
    unknown = sorted(set(doc) - {"deliveries"})
    if unknown:
        raise InputError("bad delivery", [Problem(unknown[0], "unknown member")])
    items = doc["deliveries"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise InputError("bad delivery", [Problem(
            "deliveries", f"a list of 1 to {MAX_BATCH} deliveries",
            len(items) if isinstance(items, list) else None,
        )])  # fmt: skip
    out = []
    for i, item in enumerate(items):
        try:
            out.append(delivery_from_json(item))
        except InputError as exc:
            raise InputError(exc.message, item_problems(exc, i), exc.code) from None
    return out


def item_problems(exc: CsbmError, i: int) -> tuple[Problem, ...]:
    """The problems of ``exc`` as they stand for the ``i``-th delivery of a batch: each
    path under ``deliveries[i]`` (a path of the whole, such as ``(delivery)``, becomes
    ``deliveries[i]`` itself); the message, there, when there are none."""
    where = f"deliveries[{i}]"
    return tuple(
        Problem(where if p.path.startswith("(") else f"{where}.{p.path}", p.reason, p.value, p.rule)
        for p in exc.problems
    ) or (Problem(where, exc.message),)


def _signed_text(method: str, target: str, date: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"csbm-request/1\n{method.upper()}\n{target}\n{date}\n{digest}".encode()


def sign_request(
    key: StateKey, signer: str, method: str, target: str, body: bytes, at: datetime
) -> dict[str, str]:
    """The headers that sign a request to ``target`` (path and query) with ``key``."""
    date = stamp(at)
    signature = key.sign(_signed_text(method, target, date, body))
    return {SIGNER: signer, KEY_ID: key.key_id, DATE: date, SIGNATURE: _b64(signature)}


@dataclass(frozen=True)
class Signed:
    """Who signed a verified request."""

    signer: str
    key_id: str


def verify_request(
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now: datetime,
    skew: timedelta,
    public_key: Callable[[str, str], bytes | Ed25519PublicKey | None],
) -> Signed:
    """Check a signed request; the signer. ``public_key(signer, key_id)`` is the key the
    receiver holds for that signer, raw or as a key object (None: unknown or revoked)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in (SIGNER, KEY_ID, DATE, SIGNATURE) if not lowered.get(h)]
    if missing:
        raise AuthError(
            "the request is not signed by a node's key", missing[0], code="auth.unsigned"
        )
    signer, key_id, date = lowered[SIGNER], lowered[KEY_ID], lowered[DATE]
    try:
        when = parse_stamp(date)
    except ValueError:
        raise AuthError("not an ISO 8601 instant", DATE, date) from None
    if abs(when - now) > skew:
        raise AuthError(
            f"the request's time is more than {int(skew.total_seconds())} s from this "
            f"node's clock ({stamp(now)})",
            DATE,
            date,
            code="auth.clock_skew",
        )
    raw_key = public_key(signer, key_id)
    if raw_key is None:
        raise AuthError(
            "no such key of a registered peer (unknown, or revoked)",
            KEY_ID,
            f"{signer}/{key_id}",
            code="auth.unknown_key",
        )
    try:
        signature = base64.b64decode(lowered[SIGNATURE], validate=True)
        key = (
            raw_key if isinstance(raw_key, Ed25519PublicKey)
            else Ed25519PublicKey.from_public_bytes(raw_key)
        )  # fmt: skip
        key.verify(signature, _signed_text(method, target, date, body))
    except (binascii.Error, ValueError, InvalidSignature):
        raise AuthError(
            "the request signature does not verify", code="auth.bad_signature"
        ) from None
    return Signed(signer, key_id)
