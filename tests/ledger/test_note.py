"""C2SP signed notes (ledger/note.py): the reference example of Go's sumdb/note byte for
byte, and the refusals -- unknown key, bad signature, malformed notes and keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from csbm.errors import CsbmError
from csbm.ledger.note import (
    BAD_KEY,
    BAD_SIGNATURE,
    MALFORMED,
    UNKNOWN_KEY,
    NoteError,
    NoteSigner,
    NoteVerifier,
    is_valid_key_name,
    key_id,
    sign_note,
    split_note,
    verify_note,
)

# golang.org/x/mod/sumdb/note note_test.go: the PeterNeumann key and note.
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"  # noqa: E501
SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"  # noqa: E501
NOTE = TEXT + "\n" + SIG


def _key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _code(exc: pytest.ExceptionInfo[NoteError]) -> str:
    return exc.value.code


def test_reference_keys_parse_and_round_trip() -> None:
    verifier = NoteVerifier.from_text(VKEY)
    signer = NoteSigner.from_text(SKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id_hex == "c74f20a3"
    assert signer.verifier == verifier
    assert verifier.to_text() == VKEY
    assert signer.to_text() == SKEY
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"


def test_signing_reproduces_the_reference_note_byte_for_byte() -> None:
    signer = NoteSigner.from_text(SKEY)
    assert sign_note(TEXT, signer.name, signer.private_key) == NOTE


def test_reference_note_verifies() -> None:
    note = verify_note(NOTE, [NoteVerifier.from_text(VKEY)])
    assert note.text == TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann"]
    assert note.unverified == ()
    assert note.signed_by(NoteVerifier.from_text(VKEY))
    assert verify_note(NOTE.encode(), {"peter": NoteVerifier.from_text(VKEY)}).text == TEXT


def test_changed_text_is_a_bad_signature() -> None:
    with pytest.raises(NoteError) as info:
        verify_note(NOTE.replace("cryptography", "cryptographY"), [NoteVerifier.from_text(VKEY)])
    assert _code(info) == BAD_SIGNATURE
    assert isinstance(info.value, CsbmError)
    assert "PeterNeumann+c74f20a3" in info.value.lines()[0]


def test_flipped_signature_byte_is_a_bad_signature() -> None:
    signer = NoteSigner("ua.csbm", _key())
    note = sign_note("hello\n", signer.name, signer.private_key)
    text, sigs = split_note(note)
    bad = sigs[0].signature[:10] + bytes([sigs[0].signature[10] ^ 1]) + sigs[0].signature[11:]
    forged = text + "\n" + type(sigs[0])(sigs[0].name, sigs[0].key_id, bad).line()
    with pytest.raises(NoteError) as info:
        verify_note(forged, [signer.verifier])
    assert _code(info) == BAD_SIGNATURE


def test_unknown_key_is_refused_and_named() -> None:
    other = NoteSigner("ua.csbm", _key()).verifier
    with pytest.raises(NoteError) as info:
        verify_note(NOTE, [other])
    assert _code(info) == UNKNOWN_KEY
    assert "PeterNeumann+c74f20a3" in info.value.lines()[0]
    with pytest.raises(NoteError):
        verify_note(NOTE, [])


def test_same_name_other_key_is_unknown_not_bad() -> None:
    impostor = NoteVerifier.from_public_key("PeterNeumann", _key().public_key())
    with pytest.raises(NoteError) as info:
        verify_note(NOTE, [impostor])
    assert _code(info) == UNKNOWN_KEY


def test_cosigned_note_keeps_unknown_signatures_aside() -> None:
    ua = NoteSigner("ua.csbm", _key())
    pl = NoteSigner("pl.csbm", Ed25519PrivateKey.generate())
    first = sign_note("checkpoint\n", ua.name, ua.private_key)
    _, sigs = split_note(first)
    both = sign_note("checkpoint\n", pl.name, pl.private_key, keep=sigs)
    note = verify_note(both, [pl.verifier])
    assert [s.name for s in note.signatures] == ["pl.csbm"]
    assert [s.name for s in note.unverified] == ["ua.csbm"]
    assert len(verify_note(both, [pl.verifier, ua.verifier]).signatures) == 2
    # re-signing with the same key replaces its old signature instead of adding one
    again = sign_note("checkpoint\n", ua.name, ua.private_key, keep=sigs)
    assert again.count("— ua.csbm ") == 1


def test_repeated_signature_by_one_key_counts_once() -> None:
    signer = NoteSigner("ua.csbm", _key())
    note = sign_note("x\n", signer.name, signer.private_key)
    doubled = note + note.split("\n\n", 1)[1]
    assert len(verify_note(doubled, [signer.verifier]).signatures) == 1


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(TEXT + SIG, id="no-blank-line"),
        pytest.param(TEXT + "\n", id="no-signatures"),
        pytest.param(NOTE[:-1], id="no-final-newline"),
        pytest.param(TEXT + "\n" + SIG.replace("—", "-"), id="hyphen-not-em-dash"),
        pytest.param(TEXT + "\n" + SIG.replace("— ", "—"), id="no-space-after-dash"),
        pytest.param(TEXT + "\n" + SIG.replace("x08go", "x08g!"), id="bad-base64"),
        pytest.param(TEXT + "\n" + SIG.replace("AM=", "AM"), id="unpadded-base64"),
        pytest.param(TEXT + "\n" + "— PeterNeumann AAAA\n", id="too-short"),
        pytest.param(TEXT + "\n" + SIG.replace("PeterNeumann", "Peter+Neumann"), id="plus-name"),
        pytest.param(TEXT + "\n" + "— PeterNeumann\n", id="no-signature-field"),
        pytest.param(TEXT.replace("\n", "\t", 1) + "\n" + SIG, id="control-char"),
        pytest.param(TEXT + "\n" + SIG + "\n", id="trailing-blank-line"),
        pytest.param(TEXT + "\n" + SIG * 101, id="too-many-signatures"),
        pytest.param(b"\xff\n\n" + SIG.encode(), id="not-utf8"),
    ],
)
def test_malformed_notes_are_refused(note: str | bytes) -> None:
    with pytest.raises(NoteError) as info:
        verify_note(note, [NoteVerifier.from_text(VKEY)])
    assert _code(info) == MALFORMED


@pytest.mark.parametrize("text", ["no newline", "tab\there\n", "nul\x00\n", "\r\n"], ids=repr)
def test_signing_refuses_malformed_text(text: str) -> None:
    with pytest.raises(NoteError) as info:
        sign_note(text, "ua.csbm", _key())
    assert _code(info) == MALFORMED


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\t", "nbsp\u00a0x"])
def test_invalid_key_names_are_refused(name: str) -> None:
    assert not is_valid_key_name(name)
    with pytest.raises(NoteError) as info:
        sign_note("x\n", name, _key())
    assert _code(info) == BAD_KEY


@pytest.mark.parametrize(
    "vkey",
    [
        VKEY[:-1],
        VKEY + "A",
        VKEY.replace("c74f20a3", "c74f20a4"),
        VKEY.replace("c74f20a3", "C74F20A3"),
        VKEY.replace("c74f20a3", "c74f20a"),
        VKEY.replace("+ARpc", "+AhpC"),
        VKEY.replace("+ARpc", "+Apc"),
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_mangled_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError) as info:
        NoteVerifier.from_text(vkey)
    assert _code(info) == BAD_KEY


def test_every_mangling_of_the_reference_verifier_key_is_refused() -> None:
    """As the reference test does: every proper substring and every single-byte bump."""
    raw = VKEY.encode()
    for i in range(len(raw)):
        bumped = bytearray(raw)
        bumped[i] += 1
        with pytest.raises(NoteError):
            NoteVerifier.from_text(bumped.decode("latin-1"))
    for i in range(0, len(VKEY), 7):
        for j in range(i + 1, len(VKEY) + 1, 5):
            if (i, j) != (0, len(VKEY)):
                with pytest.raises(NoteError):
                    NoteVerifier.from_text(VKEY[i:j])


def test_mangled_signer_keys_are_refused() -> None:
    for skey in (SKEY[12:], SKEY.replace("c74f20a3", "c74f20a4"), SKEY.replace("+AYEK", "+AoEK")):
        with pytest.raises(NoteError):
            NoteSigner.from_text(skey)


def test_the_same_verifier_twice_is_fine_and_a_short_key_is_refused() -> None:
    good = NoteVerifier.from_text(VKEY)
    assert verify_note(NOTE, [good, good]).text == TEXT
    with pytest.raises(NoteError) as info:
        NoteVerifier(good.name, b"short")
    assert _code(info) == BAD_KEY
