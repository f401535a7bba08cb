"""The ledger's shortcuts against the plain paths they replace (issue 11, item 9): the
canonical bytes of a plain document written by ``json.dumps`` (against the reference
implementation, rfc8785, on generated documents and on receipts), and a note's control
characters found by a regular expression (against the loop over every character)."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
import rfc8785

from csbm.errors import CsbmError
from csbm.ledger.envelope import EnvelopeError, canonical, seal
from csbm.ledger.keys import generate_state_key
from csbm.ledger.note import NoteError, split_note

#: Characters that make strings interesting: escapes, controls, quotes, the BMP's
#: non-ASCII (order within it), astral characters and lone surrogates.
ALPHABET = (
    [chr(c) for c in range(0x00, 0x21)]
    + list('"\\/\x7f\u2028\u2029\u00e9\u0416\u4e2d\ufeff\uffff\ue000\u00ff')
    + ["\U0001f600", "\U00010000", "\U0010ffff", "\ud800", "\udfff", "\udc00"]
    + list("abcXYZ019 ~")
)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 8)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(11 if depth < 4 else 7)
    if pick == 0:
        return _text(rng)
    if pick == 1:
        return rng.choice([0, 1, -1, 2**53 - 1, -(2**53) + 1, 2**53, -(2**53), 10**15, 10**21])
    if pick == 2:
        return rng.randrange(-(10**9), 10**9)
    if pick == 3:
        return rng.choice([True, False, None])
    if pick == 4:
        return rng.choice([0.5, 1.0, -0.0, 1e21, 3.14, 1e-7])
    if pick == 5:
        return rng.choice(["ascii text", "2026-03-01T09:00:00.000Z", "csbm/LT"])
    if pick == 6:
        return rng.randrange(0, 1000)
    if pick in (7, 8):
        return {_text(rng) or "k": _value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}
    if pick == 9:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return tuple(_value(rng, depth + 1) for _ in range(rng.randrange(0, 3)))


def _reference(document: Any) -> bytes | str:
    try:
        return bytes(rfc8785.dumps(document))
    except RecursionError:
        return "nested"
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        return f"refused: {exc}"


def _ours(document: Any) -> bytes | str:
    try:
        return canonical(document)
    except EnvelopeError as exc:
        if "nested too deeply" in exc.message:
            return "nested"
        return "refused: " + exc.message.removeprefix("not canonicalisable JSON: ")


def test_canonical_bytes_are_the_reference_implementations() -> None:
    rng = random.Random(8785)
    plain = 0
    for _ in range(20000):
        document = _value(rng)
        assert _ours(document) == _reference(document), repr(document)
        plain += isinstance(_reference(document), bytes)
    assert plain > 10000  # most were written, not refused


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "document",
    [
        {"a": Colour.RED},  # a subclass of str: the reference's way
        {1: "x"},  # not a text key: refused as before
        {"k": object()},
        {"k": float("nan")},
        {"k": 2**53},
        {"k": [1, {"z": 1, "a": [True, None, "\u0000"]}]},
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order differs from code point order
    ],
)
def test_unusual_documents_take_the_reference_path(document: Any) -> None:
    assert _ours(document) == _reference(document)


def test_deep_nesting_is_refused_as_before() -> None:
    deep: Any = []
    for _ in range(100000):
        deep = [deep]
    with pytest.raises(EnvelopeError, match="nested too deeply"):
        canonical(deep)


def test_sealed_receipts_are_the_reference_bytes() -> None:
    key = generate_state_key("BY")
    rng = random.Random(9)
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for n in range(300):
        body = {
            "message_id": f"0193b7a0-{n:04x}-7bbb-8ccc-123456789abc",
            "message_hash": base64.b64encode(rng.randbytes(32)).decode(),
            "sender": rng.choice(["LT", "PL", "EE", "hub"]),
            "log_index": rng.randrange(0, 2**40),
            "sender_checkpoint": {
                "origin": "csbm/LT",
                "size": rng.randrange(1, 2**40),
                "root": base64.b64encode(rng.randbytes(32)).decode(),
            },
        }
        envelope = seal({"kind": "csbm.receipt", "body": body}, key, ["LT"],
                        at + timedelta(milliseconds=n * 7))  # fmt: skip
        unsigned: dict[str, Any] = {
            "created_at": envelope.created_at, "csbm": 1, "key_id": envelope.key_id,
            "message": {"kind": "csbm.receipt", "body": body},
            "message_id": envelope.message_id, "recipients": ["LT"], "sender": "BY",
        }  # fmt: skip
        reference = bytes(rfc8785.dumps(unsigned))
        assert canonical(unsigned) == reference
        assert envelope.raw.startswith(reference[:-1] + b',"signature":"')


def _plain_split_check(note: str) -> str | None:
    """The loop the regular expression replaced: the first bad character's offset."""
    for i, ch in enumerate(note):
        if (ord(ch) < 0x20 and ch != "\n") or 0xD800 <= ord(ch) <= 0xDFFF:
            return f"offset {i}"
    return None


def test_a_notes_control_characters_are_found_as_by_the_loop() -> None:
    rng = random.Random(6962)
    good = "csbm/LT\n12\nq83Ac3U0ZyYsYuE3pFcc+rHCfq5n8xCLK1YUEKW4Nv0=\n\n— csbm/LT AAAA\n"
    for _ in range(5000):
        chars = list(good)
        for _ in range(rng.randrange(0, 3)):
            chars.insert(rng.randrange(0, len(chars) + 1), rng.choice(ALPHABET))
        note = "".join(chars)
        expected = _plain_split_check(note)
        try:
            split_note(note)
        except NoteError as exc:
            if expected is None:
                assert "control character" not in exc.message
            else:
                assert exc.message == "note has a control character"
                assert exc.problems[0].value == expected
        except CsbmError:  # pragma: no cover
            raise
        else:
            assert expected is None
