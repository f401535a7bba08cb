"""C2SP tlog-checkpoint bodies (ledger/checkpoint.py): round trips, strict parsing,
signing and opening as signed notes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from csbm.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignedCheckpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from csbm.ledger.merkle import EMPTY_ROOT, MemoryNodeStore, MerkleLog, leaf_hash
from csbm.ledger.note import BAD_SIGNATURE, UNKNOWN_KEY, NoteError, NoteVerifier

ORIGIN = "csbm.example/UA"
KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
VERIFIER = NoteVerifier.from_public_key(ORIGIN, KEY.public_key())
ROOT = leaf_hash(b"root")
ROOT_B64 = base64.b64encode(ROOT).decode()
URL_B64 = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()
SHORT_B64 = base64.b64encode(ROOT[:20]).decode()


def test_body_layout_and_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    assert cp.to_text() == f"{ORIGIN}\n7\n{ROOT_B64}\n"
    assert Checkpoint.parse(cp.to_text()) == cp
    ext = Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("— not a signature, just text", "x y"))
    assert Checkpoint.parse(ext.to_text()) == ext
    assert ext.to_text().count("\n") == 5


def test_the_c2sp_example_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size, len(cp.root)) == ("example.com/behind-the-sofa", 20852163, 32)
    assert cp.to_text() == text


@pytest.mark.parametrize(
    ("text", "path"),
    [
        pytest.param(f"{ORIGIN}\n007\n{ROOT_B64}\n", "size", id="leading-zeros"),
        pytest.param(f"{ORIGIN}\n00\n{ROOT_B64}\n", "size", id="double-zero"),
        pytest.param(f"{ORIGIN}\n+7\n{ROOT_B64}\n", "size", id="plus-sign"),
        pytest.param(f"{ORIGIN}\n-1\n{ROOT_B64}\n", "size", id="negative"),
        pytest.param(f"{ORIGIN}\n 7\n{ROOT_B64}\n", "size", id="space"),
        pytest.param(f"{ORIGIN}\n7.0\n{ROOT_B64}\n", "size", id="decimal-point"),
        pytest.param(f"{ORIGIN}\n٧\n{ROOT_B64}\n", "size", id="arabic-digit"),
        pytest.param(f"{ORIGIN}\n18446744073709551616\n{ROOT_B64}\n", "size", id="over-uint64"),
        pytest.param(f"{ORIGIN}\n\n{ROOT_B64}\n", "size", id="empty-size"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64[:-1]}\n", "root", id="unpadded-root"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}=\n", "root", id="extra-padding"),
        pytest.param(f"{ORIGIN}\n7\nnot*base64\n", "root", id="bad-base64"),
        pytest.param(f"{ORIGIN}\n7\n{SHORT_B64}\n", "root", id="short-root"),
        pytest.param(
            f"{ORIGIN}\n7\n{URL_B64}\n",
            "root",
            id="url-alphabet",
        ),
        pytest.param(f"{ORIGIN}\n7\n", "checkpoint", id="missing-root"),
        pytest.param(f"{ORIGIN}\n", "checkpoint", id="missing-size"),
        pytest.param("", "checkpoint", id="empty"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}", "checkpoint", id="no-final-newline"),
        pytest.param(f"\n7\n{ROOT_B64}\n", "origin", id="empty-origin"),
        pytest.param(f" {ORIGIN}\n7\n{ROOT_B64}\n", "origin", id="padded-origin"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n\n", "extensions[0]", id="empty-extension"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\na\tb\n", "extensions[0]", id="tab-extension"),
    ],
)
def test_strict_parsing_refuses(text: str, path: str) -> None:
    with pytest.raises(CheckpointError) as info:
        Checkpoint.parse(text)
    assert info.value.problems[0].path == path
    assert info.value.code == "csbm.checkpoint"


def test_constructor_refuses_bad_fields() -> None:
    for kwargs in (
        {"origin": "a\nb", "size": 1, "root": ROOT},
        {"origin": ORIGIN, "size": -1, "root": ROOT},
        {"origin": ORIGIN, "size": True, "root": ROOT},
        {"origin": ORIGIN, "size": 2**64, "root": ROOT},
        {"origin": ORIGIN, "size": 1, "root": ROOT[:31]},
    ):
        with pytest.raises(CheckpointError):
            Checkpoint(**kwargs)  # type: ignore[arg-type]


def test_sign_and_open() -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append_data([b"a", b"b", b"c"])
    signed = sign_checkpoint(Checkpoint(ORIGIN, log.size(), log.root()), ORIGIN, KEY)
    assert signed.note.startswith(f"{ORIGIN}\n3\n")
    assert f"\n\n— {ORIGIN} " in signed.note
    opened = verify_checkpoint(signed.note, [VERIFIER], origin=ORIGIN)
    assert opened == signed
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, 3, log.root())
    assert SignedCheckpoint.open(signed.note.encode(), {ORIGIN: VERIFIER}) == signed
    doc = signed.to_json()
    assert doc["size"] == 3 and doc["note"] == signed.note


def test_open_refuses_a_tampered_or_foreign_or_unknown_checkpoint() -> None:
    signed = Checkpoint(ORIGIN, 3, ROOT).sign(ORIGIN, KEY)
    tampered = signed.note.replace(f"{ORIGIN}\n3\n", f"{ORIGIN}\n4\n", 1)
    with pytest.raises(NoteError) as info:
        verify_checkpoint(tampered, [VERIFIER])
    assert info.value.code == BAD_SIGNATURE
    with pytest.raises(CheckpointError) as cinfo:
        verify_checkpoint(signed.note, [VERIFIER], origin="csbm.example/PL")
    assert cinfo.value.problems[0].path == "origin"
    stranger = NoteVerifier.from_public_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(NoteError) as ninfo:
        verify_checkpoint(signed.note, [stranger])
    assert ninfo.value.code == UNKNOWN_KEY


def test_a_signed_note_with_a_malformed_body_is_refused() -> None:
    from csbm.ledger.note import sign_note

    note = sign_note(f"{ORIGIN}\n007\n{ROOT_B64}\n", ORIGIN, KEY)
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, [VERIFIER])


_line = st.text(
    alphabet=st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1
).filter(lambda s: s == s.strip())


@settings(max_examples=80, deadline=None)
@given(
    origin=_line,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_line, max_size=3),
)
def test_any_valid_checkpoint_round_trips_through_a_signed_note(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.to_text()) == cp
    signed = cp.sign("csbm/UA", KEY)
    verifier = NoteVerifier.from_public_key("csbm/UA", KEY.public_key())
    assert verify_checkpoint(signed.note, [verifier], origin=origin).checkpoint == cp
