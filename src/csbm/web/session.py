"""Sessions of the workbench: a signed cookie after a password sign-in, and the CSRF
token of every form.

Source: issue 12, item 1 (login; a session cookie ``HttpOnly``, ``SameSite=Strict``;
a CSRF token on every POST form; logout); RFC 6265 §4.1.2.5-6 (``Secure``,
``HttpOnly``) and RFC 6265bis §4.1.2.7 (``SameSite``); OWASP CSRF Prevention Cheat Sheet
("synchronizer token" tied to the session, "double submit" before sign-in); RFC 2104
(HMAC-SHA-256).

The cookie carries the account's name, the instant the account was made (an account
removed and added again under the same name is a new account: old sessions die), an
expiry and a random session id, authenticated by HMAC with a secret kept in the node's
data directory (``web-session.key``, mode 0600, made on first use). Every request looks
the account up again (:meth:`csbm.store.accounts.AccountStore.get` through the node): a
removed account's session ends at once. Signing out revokes the session id for the life
of the process and clears the cookie; the expiry bounds the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from csbm.accounts.records import Account
from csbm.node import Node

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LIFETIME",
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "Session",
    "Sessions",
]

SESSION_COOKIE = "csbm_session"
PRE_COOKIE = "csbm_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
LIFETIME = timedelta(hours=12)
SECRET_NAME = "web-session.key"
_MAX_COOKIE = 1024


@dataclass(frozen=True)
class Session:
    """A signed-in person: the account, the session id and its CSRF token."""

    account: Account
    sid: str
    csrf: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret(directory: Path) -> bytes:
    path = directory / SECRET_NAME
    try:
        raw = path.read_bytes()
        if len(raw) >= 32:
            return raw
    except FileNotFoundError:
        pass
    fresh = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, fresh)
    finally:
        os.close(fd)
    return fresh


class Sessions:
    """Issues and checks the sessions of one node."""

    def __init__(self, directory: Path) -> None:
        try:
            self._key = _secret(directory)
        except FileExistsError:  # made by another process meanwhile
            self._key = _secret(directory)
        self._revoked: set[str] = set()

    def _mac(self, purpose: str, data: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\n{data}".encode(), hashlib.sha256).digest())

    # -- sessions

    def issue(self, account: Account, at: datetime) -> str:
        """The cookie value of a new session of ``account`` from ``at``."""
        claims = {
            "n": account.name,
            "c": account.created_at,
            "x": int((at + LIFETIME).timestamp()),
            "i": secrets.token_urlsafe(16),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._mac('session', body)}"

    def check(self, value: str | None, node: Node, at: datetime) -> Session | None:
        """The session of a cookie value, or None: malformed, forged, expired, revoked,
        or of an account that is gone (or was made again)."""
        if not value or len(value) > _MAX_COOKIE or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            claims = json.loads(_unb64(body))
            name, made, expiry, sid = claims["n"], claims["c"], claims["x"], claims["i"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(expiry, int) or at.timestamp() >= expiry or sid in self._revoked:
            return None
        from csbm.accounts.credentials import is_name

        if not isinstance(name, str) or not is_name(name):
            return None
        account = node.accounts.get(name)
        if account is None or account.created_at != made:
            return None
        return Session(account, str(sid), self._mac("csrf", str(sid)))

    def revoke(self, session: Session) -> None:
        """Sign out: the session id is refused from now on."""
        self._revoked.add(session.sid)

    # -- CSRF before sign-in (double submit, bound to a random cookie)

    def login_nonce(self) -> str:
        return secrets.token_urlsafe(16)

    def login_token(self, nonce: str) -> str:
        return self._mac("login", nonce)

    def check_login(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token or len(nonce) > 64 or len(token) > 64:
            return False
        return hmac.compare_digest(token, self.login_token(nonce))

    @staticmethod
    def check_csrf(session: Session, token: str | None) -> bool:
        """Whether ``token`` is the session's CSRF token."""
        return bool(token) and hmac.compare_digest(str(token)[:128], session.csrf)
