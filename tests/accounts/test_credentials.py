"""Passwords (Argon2id) and API tokens (SHA-256 of 32 random bytes): checks and hashes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from argon2 import PasswordHasher

from csbm.accounts import credentials
from csbm.errors import InputError

PASSWORD = "correct horse battery staple"


def test_a_password_hash_is_argon2id_and_checks() -> None:
    stored = credentials.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert credentials.verify_password(stored, PASSWORD)
    assert not credentials.verify_password(stored, PASSWORD + " ")
    assert not credentials.verify_password(stored, "")
    assert credentials.hash_password(PASSWORD) != stored  # a fresh salt each time


def test_no_hash_never_checks() -> None:
    """An unknown account is checked against a dummy hash and always refused."""
    assert credentials.verify_password(None, PASSWORD) is False
    assert credentials.verify_password("not a hash", PASSWORD) is False
    assert credentials.verify_password(credentials.hash_password(PASSWORD), "x" * 300) is False


def test_weaker_hashes_are_noticed() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert credentials.verify_password(weak, PASSWORD)
    assert credentials.needs_rehash(weak)
    assert not credentials.needs_rehash(credentials.hash_password(PASSWORD))


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 15 characters"),
        ("fourteen chars", "at least 15 characters"),
        ("x" * 257, "at most 256 characters"),
        ("fifteen chars\n!", "no control characters"),
    ],
)
def test_password_rules(password: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        credentials.hash_password(password)
    assert info.value.code == "user.bad_password"
    assert info.value.lines() == [f"password: {reason}"]  # the password is never shown


def test_a_password_of_exactly_fifteen_characters_and_any_script() -> None:
    assert credentials.check_password("пароль-пароль-1") == "пароль-пароль-1"


def test_a_token_is_32_random_bytes_and_only_its_digest_is_kept() -> None:
    token, digest = credentials.new_token()
    assert token.startswith("csbm_")
    raw = base64.urlsafe_b64decode(token.removeprefix("csbm_") + "=")
    assert len(raw) == 32
    assert digest == hashlib.sha256(token.encode()).digest() == credentials.token_digest(token)
    assert len(digest) == 32
    other, other_digest = credentials.new_token()
    assert other != token and other_digest != digest


@pytest.mark.parametrize("name", ["ana", "a", "ana.petrova@mfa", "officer-2", "x" * 64])
def test_good_names(name: str) -> None:
    assert credentials.check_name(name) == name


@pytest.mark.parametrize("name", ["", " ana", "ana petrova", "-ana", "x" * 65, "ana\n", None, 7])
def test_bad_names(name: object) -> None:
    with pytest.raises(InputError) as info:
        credentials.check_name(name)
    assert info.value.code == "user.bad_name"
    assert info.value.problems[0].path == "NAME"
