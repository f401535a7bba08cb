"""Keys: the signing key file (0600, passphrase), C2SP key ids, the directory's validity
rules, rotation and revocation statements."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from csbm.errors import InputError
from csbm.ledger.keys import (
    KeyDirectory,
    KeyFileError,
    check_rotation_body,
    check_validity,
    fingerprint,
    generate_state_key,
    load_state_key,
    parse_verifier_key,
    revocation_body,
    rotation_body,
    save_state_key,
    stamp,
    verifier_key,
)
from csbm.ledger.note import NoteVerifier, key_id, sign_note, verify_note

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_key_file_is_0600_and_round_trips(tmp_path: Path) -> None:
    key = generate_state_key("UA")
    path = tmp_path / "keys" / "UA.pem"
    save_state_key(key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()
    loaded = load_state_key(path, "UA")
    assert loaded.public_key == key.public_key and loaded.key_id == key.key_id


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "UA.pem"
    save_state_key(generate_state_key("UA"), path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError) as caught:
        load_state_key(path, "UA")
    assert caught.value.code == "key.permissions"
    assert "0644" in caught.value.lines()[0]


def test_encrypted_key_needs_the_right_passphrase(tmp_path: Path) -> None:
    key = generate_state_key("UA")
    path = tmp_path / "UA.pem"
    save_state_key(key, path, b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    assert load_state_key(path, "UA", b"correct horse").key_id == key.key_id
    for passphrase in (None, b"wrong"):
        with pytest.raises(KeyFileError) as caught:
            load_state_key(path, "UA", passphrase)
        assert caught.value.code == "key.passphrase"


def test_missing_and_garbage_key_files(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        load_state_key(tmp_path / "none.pem", "UA")
    assert caught.value.code == "key.missing"
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a key")
    os.chmod(junk, 0o600)
    with pytest.raises(KeyFileError):
        load_state_key(junk, "UA")


def test_key_id_is_the_c2sp_signed_note_key_id() -> None:
    key = generate_state_key("AT")
    assert key.name == "csbm/AT"
    assert key.key_id == key_id("csbm/AT", key.public_key).hex()
    vkey = verifier_key(key.name, key.public_key)
    assert vkey == key.verifier_key
    assert parse_verifier_key(vkey) == ("csbm/AT", key.public_key)
    # a note signed with the State key opens with its verifier key
    note = sign_note("hello\n", key.name, key.private)
    assert verify_note(note, [NoteVerifier.from_text(vkey)]).text == "hello\n"
    assert fingerprint(key.public_key).startswith("SHA256:")


@pytest.mark.parametrize("text", ["", "csbm/AT", "csbm/AT+00000000+AAAA", "a+b+c+d"])
def test_bad_verifier_keys_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_verifier_key(text)


def test_verifier_key_with_the_wrong_id_is_refused() -> None:
    key = generate_state_key("AT")
    name, kid, blob = key.verifier_key.split("+", 2)
    wrong = f"{name}+{'0' * 8 if kid != '0' * 8 else '1' * 8}+{blob}"
    with pytest.raises(InputError):
        parse_verifier_key(wrong)


def test_validity_rules() -> None:
    start, end, revoked = stamp(T0), stamp(T0 + timedelta(days=10)), stamp(T0 + timedelta(days=5))
    assert check_validity("k", start, end, None, T0, strict=True) is None
    assert (
        check_validity("k", start, end, None, T0 - timedelta(milliseconds=1), strict=True)
        is not None
    )
    assert check_validity("k", start, end, None, T0 + timedelta(days=10), strict=True) is not None
    fault = check_validity("k", start, None, revoked, T0 + timedelta(days=1), strict=True)
    assert fault is not None and fault.code == "envelope.revoked_key"
    assert check_validity("k", start, None, revoked, T0 + timedelta(days=1), strict=False) is None
    assert (
        check_validity("k", start, None, revoked, T0 + timedelta(days=6), strict=False) is not None
    )


def test_directory_lookup_and_verify() -> None:
    key = generate_state_key("UA")
    directory = KeyDirectory([key.record(T0)])
    assert directory.check("UA", key.key_id, T0) is None
    fault = directory.check("UA", "deadbeef", T0)
    assert fault is not None and fault.code == "envelope.unknown_key"
    assert directory.verify("UA", key.key_id, key.sign(b"x"), b"x")
    assert not directory.verify("UA", key.key_id, key.sign(b"x"), b"y")


def test_rotation_statement_proves_the_new_key() -> None:
    old, new = generate_state_key("UA"), generate_state_key("UA")
    body = rotation_body(old, new, T0)
    assert body["old_key_id"] == old.key_id and body["new_key_id"] == new.key_id
    assert check_rotation_body(body) is None
    forged = dict(body, new_key=generate_state_key("UA").verifier_key)
    assert check_rotation_body(forged) is not None
    tampered = dict(body, valid_from=stamp(T0 + timedelta(days=1)))
    assert (
        check_rotation_body(tampered)
        == "the new key's signature on the rotation statement is wrong"
    )
    assert check_rotation_body({"new_key": "x"}) == "rotation statement is malformed"


def test_revocation_body() -> None:
    body = revocation_body("AT", "deadbeef", T0, "compromised")
    assert body == {
        "state": "AT",
        "key_id": "deadbeef",
        "revoked_at": "2026-03-01T09:00:00.000Z",
        "reason": "compromised",
    }
