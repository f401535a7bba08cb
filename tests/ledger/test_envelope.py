"""Envelopes: sealing over RFC 8785 bytes and every refusal of verify_envelope."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785

from csbm.errors import InputError
from csbm.ledger.envelope import (
    EnvelopeError,
    canonical,
    parse_envelope,
    seal,
    signed_part,
    verify_envelope,
)
from csbm.ledger.keys import KeyDirectory, StateKey, generate_state_key, stamp
from csbm.store import KeyRecord

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MESSAGE = {"kind": "notification", "body": {"activity": "exercise", "troops": 13000, "é": "ü"}}


@pytest.fixture
def ua() -> StateKey:
    return generate_state_key("UA")


@pytest.fixture
def directory(ua: StateKey) -> KeyDirectory:
    return KeyDirectory([ua.record(T0 - timedelta(days=1))])


def _code(exc: pytest.ExceptionInfo[EnvelopeError]) -> str:
    return exc.value.code


def test_seal_signs_the_canonical_bytes_without_the_signature(
    ua: StateKey, directory: KeyDirectory
) -> None:
    env = seal(MESSAGE, ua, ["AT", "BY"], T0)
    doc = json.loads(env.raw)
    assert rfc8785.dumps(doc) == env.raw
    assert list(doc)[-1] == "signature"
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    assert signed_part(env.raw) == rfc8785.dumps(unsigned)
    ua.private.public_key().verify(base64.b64decode(doc["signature"]), rfc8785.dumps(unsigned))
    assert doc["created_at"] == "2026-03-01T09:00:00.000Z"
    assert doc["sender"] == "UA" and doc["key_id"] == ua.key_id
    got = verify_envelope(env.raw, directory)
    assert got.message_id == env.message_id and got.body == MESSAGE["body"]


def test_unknown_key_is_refused(ua: StateKey) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(env.raw, KeyDirectory())
    assert _code(caught) == "envelope.unknown_key"


def test_revoked_key_is_refused_even_for_older_dates(ua: StateKey) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    revoked = KeyRecord(
        "UA",
        ua.key_id,
        ua.name,
        ua.public_key,
        False,
        stamp(T0 - timedelta(days=9)),
        revoked_at=stamp(T0 + timedelta(days=1)),
    )
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(env.raw, KeyDirectory([revoked]))
    assert _code(caught) == "envelope.revoked_key"
    # an audit accepts what was signed before the revocation
    assert (
        verify_envelope(env.raw, KeyDirectory([revoked]), strict=False).message_id == env.message_id
    )
    late = seal(MESSAGE, ua, ["all"], T0 + timedelta(days=2))
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(late.raw, KeyDirectory([revoked]), strict=False)
    assert _code(caught) == "envelope.revoked_key"


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        (T0 + timedelta(seconds=1), None),
        (T0 - timedelta(days=2), T0),
        (T0 - timedelta(days=2), T0 - timedelta(days=1)),
    ],
)
def test_key_outside_its_validity_period_is_refused(
    ua: StateKey, valid_from: datetime, valid_until: datetime | None
) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    record = KeyRecord(
        "UA",
        ua.key_id,
        ua.name,
        ua.public_key,
        False,
        stamp(valid_from),
        None if valid_until is None else stamp(valid_until),
    )
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(env.raw, KeyDirectory([record]))
    assert _code(caught) == "envelope.key_not_valid"


def test_wrong_signature_is_refused(ua: StateKey, directory: KeyDirectory) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    doc = json.loads(env.raw)
    sig = bytearray(base64.b64decode(doc["signature"]))
    sig[5] ^= 0x01
    doc["signature"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(rfc8785.dumps(doc), directory)
    assert _code(caught) == "envelope.bad_signature"


def test_changed_body_breaks_the_signature(ua: StateKey, directory: KeyDirectory) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    doc = json.loads(env.raw)
    doc["message"]["body"]["troops"] = 12999
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(rfc8785.dumps(doc), directory)
    assert _code(caught) == "envelope.bad_signature"


def test_signature_by_another_key_of_the_same_id_is_refused(
    ua: StateKey, directory: KeyDirectory
) -> None:
    other = generate_state_key("UA")
    forged = seal(MESSAGE, other, ["all"], T0)
    doc = json.loads(forged.raw)
    doc["key_id"] = ua.key_id
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    doc["signature"] = base64.b64encode(other.sign(rfc8785.dumps(unsigned))).decode()
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(rfc8785.dumps(doc), directory)
    assert _code(caught) == "envelope.bad_signature"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw.replace(b'":', b'": '),  # whitespace
        lambda raw: json.dumps(
            dict(reversed(list(json.loads(raw).items()))), separators=(",", ":"), ensure_ascii=False
        ).encode(),
        lambda raw: json.dumps(
            json.loads(raw), separators=(",", ":"), sort_keys=True
        ).encode(),  # \u escapes
        lambda raw: raw + b"\n",
    ],
    ids=["whitespace", "key-order", "ascii-escapes", "trailing-newline"],
)
def test_non_canonical_bytes_are_refused(
    ua: StateKey, directory: KeyDirectory, mangle: object
) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    raw = mangle(env.raw)  # type: ignore[operator]
    assert raw != env.raw
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(raw, directory)
    assert _code(caught) == "envelope.not_canonical"


def test_replayed_message_id_is_refused(ua: StateKey, directory: KeyDirectory) -> None:
    env = seal(MESSAGE, ua, ["all"], T0)
    verify_envelope(env.raw, directory, seen=set())
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(env.raw, directory, seen={env.message_id})
    assert _code(caught) == "envelope.replayed"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.pop("sender"), "missing"),
        (lambda d: d.update(extra=1), "unknown members"),
        (lambda d: d.update(csbm=2), "version"),
        (lambda d: d.update(sender="XX"), "participating State"),
        (lambda d: d.update(sender="ua"), "participating State"),
        (lambda d: d.update(message_id="not-a-uuid"), "UUID"),
        (lambda d: d.update(message_id="6F9619FF-8B86-D011-B42D-00C04FC964FF"), "UUID"),
        (lambda d: d.update(created_at="yesterday"), "ISO 8601"),
        (lambda d: d.update(recipients=[]), "non-empty"),
        (lambda d: d.update(recipients=["all", "AT"]), "stands alone"),
        (lambda d: d.update(recipients=["ZZ"]), "participating State"),
        (lambda d: d.update(message={"kind": "x"}), "JSON object"),
        (lambda d: d.update(message={"kind": "", "body": {}}), "non-empty string"),
        (lambda d: d.update(signature="***"), "base64"),
    ],
)
def test_malformed_envelopes_are_refused(
    ua: StateKey, directory: KeyDirectory, change: object, where: str
) -> None:
    doc = json.loads(seal(MESSAGE, ua, ["all"], T0).raw)
    change(doc)  # type: ignore[operator]
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(rfc8785.dumps(doc), directory)
    assert _code(caught) == "envelope.malformed"
    assert where in caught.value.lines()[0]


def test_short_signature_and_non_json_are_refused(ua: StateKey, directory: KeyDirectory) -> None:
    doc = json.loads(seal(MESSAGE, ua, ["all"], T0).raw)
    doc["signature"] = base64.b64encode(b"short").decode()
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(rfc8785.dumps(doc), directory)
    assert _code(caught) == "envelope.bad_signature"
    for junk in (b"", b"[1,2]", b"\xff\xfe", b'{"a":'):
        with pytest.raises(EnvelopeError) as caught:
            parse_envelope(junk)
        assert _code(caught) == "envelope.malformed"


def test_seal_refuses_bad_messages_and_recipients(ua: StateKey) -> None:
    with pytest.raises(InputError) as caught:
        seal({"kind": "x", "body": []}, ua, ["XX", "AT"], T0)
    lines = caught.value.lines()
    assert any("message.body" in line for line in lines)
    assert any("recipients[0]" in line for line in lines)
    with pytest.raises(ValueError):
        seal(MESSAGE, ua, ["all"], datetime(2026, 1, 1))
    with pytest.raises(EnvelopeError):
        canonical({"x": float("nan")})


@pytest.mark.parametrize(
    "doc",
    [
        {"b": 1, "a": [True, False, None], "c": {"z": "x", "y": ""}},
        {"s": 'tab\t nl\n cr\r bs\b ff\f ctl\x01\x1f del\x7f quote" back\\ slash/'},
        {"é": "ü", "€": "\u2028\u2029", "\ue000": 1, "a": 2},
        {"astral": "\U0001f600", "\U0001f600": 1, "\ufb33": 2},
        {"n": [0, -1, 2**53 - 1, -(2**53 - 1), 123456789012345]},
        {"f": [1.5, 0.1, 1e21, 1e-7, -0.0, 100.0]},
        {"big": 12345678901234567},
    ],
)
def test_fast_canonical_check_agrees_with_rfc8785(doc: Any) -> None:
    from csbm.ledger.envelope import is_canonical, is_canonical_json, load_json

    try:
        raw = rfc8785.dumps(doc)
    except rfc8785.CanonicalizationError:
        return  # outside I-JSON: the reference refuses it too
    for candidate, expected in (
        (raw, True),
        (
            json.dumps(doc, separators=(",", ":")).encode(),
            raw == json.dumps(doc, separators=(",", ":")).encode(),
        ),
        (
            json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            ),
            None,
        ),
    ):
        parsed, plain = load_json(candidate)
        want = canonical(parsed) == candidate if expected is None else expected
        assert is_canonical(parsed, candidate, plain) is want
        assert is_canonical_json(candidate) is want


def _forge(key: StateKey, message_json: str) -> bytes:
    """An envelope correctly signed by ``key`` over bytes a canonicaliser would never make
    (the message given as raw JSON text, e.g. holding NaN or a key twice)."""
    head = (
        '{"created_at":"2026-03-01T09:00:00.000Z","csbm":1,"key_id":"' + key.key_id + '",'
        '"message":' + message_json + ","
        '"message_id":"0b7e3d1c-8a6f-4b9e-9c1d-2f3a4b5c6d7e","recipients":["AT"],"sender":"UA"}'
    )
    signed = head.encode()
    signature = base64.b64encode(key.sign(signed)).decode()
    return signed[:-1] + b',"signature":"' + signature.encode() + b'"}'


@pytest.mark.parametrize(
    "body", ['{"troops":NaN}', '{"troops":Infinity}', '{"troops":-Infinity}', '{"t":1e400}']
)
def test_a_signed_envelope_holding_a_non_finite_number_is_refused(
    ua: StateKey, directory: KeyDirectory, body: str
) -> None:
    """Issue 8, item 3: NaN is not JSON; a correctly signed envelope holding it was
    parsed, logged and acknowledged."""
    raw = _forge(ua, '{"body":' + body + ',"kind":"notification"}')
    with pytest.raises(EnvelopeError) as caught:
        parse_envelope(raw)
    assert caught.value.code == "envelope.malformed"
    with pytest.raises(EnvelopeError):
        verify_envelope(raw, directory)


def test_a_signed_envelope_with_a_key_twice_is_refused_by_name(
    ua: StateKey, directory: KeyDirectory
) -> None:
    raw = _forge(ua, '{"body":{"a":1},"kind":"notification","kind":"other"}')
    with pytest.raises(EnvelopeError, match="duplicate key 'kind'") as caught:
        verify_envelope(raw, directory)
    assert caught.value.code == "envelope.malformed"


def test_the_forger_makes_envelopes_that_verify(ua: StateKey, directory: KeyDirectory) -> None:
    """The two tests above fail for the reason they name, not for a bad forgery."""
    raw = _forge(ua, '{"body":{"troops":9000},"kind":"notification"}')
    assert verify_envelope(raw, directory).body == {"troops": 9000}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_seal_refuses_non_finite_numbers_with_their_path(ua: StateKey, value: float) -> None:
    with pytest.raises(InputError) as caught:
        seal({"kind": "notification", "body": {"forces": [{"troops": value}]}}, ua, ["AT"], T0)
    assert caught.value.code == "envelope.malformed"
    assert caught.value.problems[0].path == "message.body.forces[0].troops"


def test_a_double_of_sixteen_integer_digits_is_sealed_and_verifies(
    ua: StateKey, directory: KeyDirectory
) -> None:
    """Issue 8, item 2: ``{"troops": 1e16}`` was signed and logged, then failed the audit
    (``envelope.not_canonical``) for good."""
    env = seal({"kind": "notification", "body": {"troops": 1e16, "x": 2.5e21}}, ua, ["AT"], T0)
    assert b'"troops":10000000000000000' in env.raw and b'"x":2.5e+21' in env.raw
    got = verify_envelope(env.raw, directory)
    assert got.body == {"troops": 1e16, "x": 2.5e21}
