"""Account names, passwords and API tokens: checks and hashes (no storage here).

Sources:
- Passwords are hashed with Argon2id (RFC 9106) through argon2-cffi's ``PasswordHasher``
  and its defaults (RFC 9106 §4, second recommended option: t=3, m=64 MiB, p=4); a hash
  made with older parameters is re-hashed at the next successful check
  (:func:`needs_rehash`).
- Length rules of NIST SP 800-63B-4 §3.1.1.2: at least 15 characters for a password that
  is the only factor, at least 64 accepted (here 256: an upper bound keeps an attacker
  from making the server hash megabytes), every printable character allowed, no
  composition rules.
- An API token is 32 random bytes from the operating system (``secrets.token_bytes``,
  256 bits), shown once as ``csbm_`` + base64url; only its SHA-256 digest is stored. A
  hash that is not slow suits a token: it is not guessable, unlike a password (OWASP,
  "Password Storage Cheat Sheet", on high-entropy secrets).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from csbm.errors import InputError, Problem

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "TOKEN_PREFIX",
    "check_name",
    "check_password",
    "hash_password",
    "is_name",
    "needs_rehash",
    "new_token",
    "rehash_password",
    "token_digest",
    "verify_password",
]

MIN_PASSWORD = 15
MAX_PASSWORD = 256
MAX_NAME = 64
TOKEN_PREFIX = "csbm_"
TOKEN_BYTES = 32

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_HASHER = PasswordHasher()
#: Checked when a name is unknown, so that a wrong name costs what a wrong password does.


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, checked when there is no hash, so that an unknown
    name takes as long as a known one; made at the first such check (an Argon2 hash costs
    about 0.9 s of CPU: never at import, which every ``csbm`` process pays)."""
    return _HASHER.hash(secrets.token_urlsafe(24))


def is_name(value: object) -> bool:
    """Whether ``value`` is a well-formed account name (see :func:`check_name`)."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def check_name(value: object, where: str = "NAME") -> str:
    """An account name: 1 to 64 of letters, digits and ``. _ @ -``, starting with a letter
    or digit (it is shown in lists and in the history: no spaces, no control characters)."""
    if isinstance(value, str) and _NAME.fullmatch(value):
        return value
    shown = value if isinstance(value, str) else None
    raise InputError(
        "bad account name",
        [
            Problem(
                where,
                f"1 to {MAX_NAME} letters, digits or . _ @ -, starting with a letter or digit",
                shown,
            )
        ],
        code="user.bad_name",
    )


def check_password(value: str, where: str = "password") -> str:
    """A password long enough and not too long (NIST SP 800-63B-4 §3.1.1.2); its value is
    never shown in the problem."""
    if len(value) < MIN_PASSWORD:
        reason = f"at least {MIN_PASSWORD} characters"
    elif len(value) > MAX_PASSWORD:
        reason = f"at most {MAX_PASSWORD} characters"
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        reason = "no control characters"
    else:
        return value
    raise InputError("bad password", [Problem(where, reason)], code="user.bad_password")


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (a PHC string: algorithm, parameters, salt)."""
    return _HASHER.hash(check_password(password))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the Argon2 hash ``stored``. With no hash (an unknown
    name, a token account) a dummy hash is checked, so the answer takes as long."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _HASHER.verify(stored if stored is not None else _dummy_hash(), password) and (
            stored is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def rehash_password(password: str) -> str:
    """A fresh hash of a password that was just verified (today's parameters; the length
    rules it was made under are not checked again)."""
    return _HASHER.hash(password)


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made with other parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return False


def new_token() -> tuple[str, bytes]:
    """A fresh API token and the digest to store: ``(token, sha256(token))``. The token is
    shown once; only the digest is kept."""
    raw = secrets.token_bytes(TOKEN_BYTES)
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return token, token_digest(token)


def token_digest(token: str) -> bytes:
    """The SHA-256 digest of a token as stored (of its UTF-8 text)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def same_digest(a: bytes, b: bytes) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a, b)
