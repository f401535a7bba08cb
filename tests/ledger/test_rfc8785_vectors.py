"""RFC 8785 exactness, against the vendored vectors of tests/vectors/rfc8785
(cyberphone/json-canonicalization testdata; see PROVENANCE.md there).

The canonicaliser (:func:`csbm.ledger.envelope.canonical`) must map each input to its
output byte for byte; the fast check the audit and :func:`parse_envelope` make
(:func:`is_canonical_json`) must accept every output and refuse every input, and, for the
100,000 ES6 number vectors, accept exactly the expected text of each double and refuse
its other spellings (issue 8, items 2 and 3: it refused ``10000000000000000``, the
canonical form of 1e16, so a logged message broke the audit for good).
"""

from __future__ import annotations

import hashlib
import math
import struct
from pathlib import Path

import pytest

from csbm.ledger.envelope import EnvelopeError, canonical, is_canonical_json, load_json

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc8785"
NAMES = sorted(p.stem for p in (VECTORS / "input").glob("*.json"))
ES6 = VECTORS / "es6-numbers-100k.txt"
ES6_SHA256 = "22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7"


def test_the_vendored_vectors_are_complete() -> None:
    """Fails (never skips) when the vectors are missing: a run without them proves nothing."""
    assert NAMES == ["arrays", "french", "structures", "unicode", "values", "weird"]
    assert (VECTORS / "LICENSE").is_file() and (VECTORS / "PROVENANCE.md").is_file()
    assert hashlib.sha256(ES6.read_bytes()).hexdigest() == ES6_SHA256


@pytest.mark.parametrize("name", NAMES)
def test_canonicalisation_matches_the_upstream_output(name: str) -> None:
    source = (VECTORS / "input" / f"{name}.json").read_bytes()
    expected = (VECTORS / "output" / f"{name}.json").read_bytes()
    hex_text = (VECTORS / "outhex" / f"{name}.txt").read_text(encoding="ascii")
    assert bytes.fromhex("".join(hex_text.split())) == expected
    doc, _plain = load_json(source)
    assert canonical(doc) == expected


@pytest.mark.parametrize("name", NAMES)
def test_the_fast_check_accepts_each_output_and_refuses_each_input(name: str) -> None:
    assert is_canonical_json((VECTORS / "output" / f"{name}.json").read_bytes())
    assert not is_canonical_json((VECTORS / "input" / f"{name}.json").read_bytes())


def _es6_lines() -> list[tuple[float, str]]:
    out = []
    for line in ES6.read_text(encoding="ascii").splitlines():
        hex_ieee, expected = line.split(",")
        (value,) = struct.unpack(">d", bytes.fromhex(hex_ieee.zfill(16)))
        out.append((value, expected))
    return out


def _other_spellings(value: float, expected: str) -> set[str]:
    """Other JSON texts of the same double: Python's repr (``1e+16``, ``1e-07``), an
    upper-case exponent, a trailing ``.0`` -- none of them canonical."""
    spellings = {repr(value), expected.upper()}
    if "e" not in expected and "." not in expected:
        spellings.add(expected + ".0")
    if value == 0 and math.copysign(1.0, value) < 0:
        spellings.add("-0")
    return spellings - {expected}


def test_es6_numbers_format_exactly() -> None:
    """Each of the 100,000 doubles is formatted as its expected ES6 text (RFC 8785
    §3.2.2.3)."""
    wrong = [(v, e, canonical(v)) for v, e in _es6_lines() if canonical(v) != e.encode()]
    assert wrong == []


def test_the_fast_check_accepts_exactly_the_es6_texts() -> None:
    lines = _es6_lines()
    assert len(lines) == 100_000
    long_integers = [e for _v, e in lines if e.lstrip("-").isdigit() and len(e.lstrip("-")) > 15]
    assert len(long_integers) > 500  # the case the old fast check got wrong
    refused = [e for _v, e in lines if not is_canonical_json(e.encode())]
    assert refused == []
    in_documents = [
        e for _v, e in lines[:20_000] if not is_canonical_json(b'{"a":[' + e.encode() + b"]}")
    ]
    assert in_documents == []
    accepted = [
        text
        for v, e in lines
        for text in _other_spellings(v, e)
        if is_canonical_json(text.encode())
    ]
    assert accepted == []


@pytest.mark.parametrize(
    "text",
    ["NaN", "Infinity", "-Infinity", "[NaN]", '{"a":Infinity}', "1e400", "-1e400", "1" * 400],
)
def test_non_finite_numbers_are_not_json(text: str) -> None:
    assert not is_canonical_json(text.encode())
    with pytest.raises(EnvelopeError) as caught:
        load_json(text)
    assert caught.value.code == "envelope.malformed"


def test_duplicate_keys_and_deep_nesting_are_refused_by_name() -> None:
    from csbm.ledger.envelope import load_canonical

    with pytest.raises(EnvelopeError, match="duplicate key 'a'") as caught:
        load_canonical(b'{"a":1,"a":1}')
    assert caught.value.code == "envelope.malformed"
    with pytest.raises(EnvelopeError, match="nested too deeply"):
        load_canonical(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize(
    ("text", "canonical_form"),
    [
        ("9007199254740991", True),  # 2**53 - 1: the last safe integer
        ("9007199254740992", True),  # 2**53: a double, its ES6 form
        ("9007199254740993", False),  # not a double: it reads as 2**53
        ("10000000000000000", True),  # 1e16
        ("1e16", False),
        ("295147905179352830000", True),
        ("1e+21", True),
        ("1000000000000000000000", False),  # 1e21's ES6 form has an exponent
        ("-0", False),
        ("0", True),
    ],
)
def test_integers_of_sixteen_digits_and_more(text: str, canonical_form: bool) -> None:
    assert is_canonical_json(text.encode()) is canonical_form
