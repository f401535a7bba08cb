"""Accounts on a node: add, list, remove; sign-in by password or token; checks of a role.

Source: issue 11, item 5 ("Roles and access"): accounts with Argon2-hashed passwords or
API tokens, the roles of :class:`csbm.accounts.Role`, account changes recorded with who
and when, every refusal logged. The shells call these functions and nothing else: the CLI
(``csbm user add|list|remove``) and the API (:mod:`csbm.api.auth`).

``actor`` names who made a change: an account's name when it comes through the API, and
``cli:<login>`` (the operating-system user) when it comes from the command line, whose
right to manage the node is the right to write its data directory.
"""

from __future__ import annotations

from datetime import datetime

from csbm.accounts import credentials
from csbm.accounts.policy import Action, Forbidden, Role, Unauthenticated, require
from csbm.accounts.records import Account, AccountEvent
from csbm.domain.time import iso
from csbm.errors import NotFoundError
from csbm.node import Node
from csbm.services.documents import Document

__all__ = [
    "EventDocument",
    "HistoryDocument",
    "UserAdded",
    "UserDocument",
    "UsersDocument",
    "add_user",
    "authenticate_password",
    "authenticate_token",
    "authorize",
    "history",
    "list_users",
    "remove_user",
]


class UserDocument(Document):
    """An account as shown: never its password, its token or their hashes."""

    name: str
    role: str
    credential: str
    created_at: str
    created_by: str

    @classmethod
    def of(cls, account: Account) -> UserDocument:
        return cls(
            name=account.name,
            role=account.role.value,
            credential=account.credential.value,
            created_at=account.created_at,
            created_by=account.created_by,
        )


class UserAdded(Document):
    """An account just added. ``token`` is the API token, shown this once (only its
    SHA-256 digest is kept); None for a password account."""

    user: UserDocument
    token: str | None = None


class UsersDocument(Document):
    """Every account of the node, by name."""

    users: list[UserDocument]


class EventDocument(Document):
    """One line of the account history."""

    id: int
    at: str
    actor: str
    action: str
    account: str
    role: str | None
    detail: str | None

    @classmethod
    def of(cls, event: AccountEvent) -> EventDocument:
        return cls(
            id=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            account=event.account,
            role=event.role,
            detail=event.detail,
        )


class HistoryDocument(Document):
    """The account history (account changes, drafts, approvals, refusals), oldest first."""

    events: list[EventDocument]


def add_user(
    node: Node,
    name: str,
    role: Role,
    at: datetime,
    actor: str,
    *,
    password: str | None = None,
    token: bool = False,
) -> UserAdded:
    """Add an account with a password (Argon2id-hashed) or, with ``token``, a fresh API
    token (returned once). The name and password are checked first; a name in use is
    refused (``user.exists``); the change is recorded with ``actor`` and ``at``."""
    name = credentials.check_name(name)
    if token == (password is not None):
        raise ValueError("an account has a password or a token, not both, not neither")
    if password is not None:
        hashed = credentials.hash_password(password)
        account = node.accounts.add(name, role, iso(at), actor, password_hash=hashed)
        return UserAdded(user=UserDocument.of(account))
    secret, digest = credentials.new_token()
    account = node.accounts.add(name, role, iso(at), actor, token_hash=digest)
    return UserAdded(user=UserDocument.of(account), token=secret)


def list_users(node: Node) -> UsersDocument:
    """Every account, by name (no credential shown)."""
    return UsersDocument(users=[UserDocument.of(a) for a in node.accounts.list_accounts()])


def remove_user(node: Node, name: str, at: datetime, actor: str) -> UserDocument:
    """Remove an account: its password or token is refused from now on. Recorded with
    ``actor`` and ``at``; an unknown name is ``user.unknown``."""
    if not credentials.is_name(name):
        raise NotFoundError(f"no account {name!r}", code="user.unknown")
    return UserDocument.of(node.accounts.remove(name, iso(at), actor))


def history(node: Node, account: str | None = None) -> HistoryDocument:
    """The account history (of one account, or all), oldest first."""
    if account is not None and not credentials.is_name(account):
        return HistoryDocument(events=[])
    return HistoryDocument(events=[EventDocument.of(e) for e in node.accounts.events(account)])


def authenticate_password(node: Node, name: str, password: str, at: datetime) -> Account:
    """The account ``name`` if ``password`` is its password; else the refusal is recorded
    and :class:`Unauthenticated` raised. An unknown name, a removed account, a token
    account and a wrong password are refused alike (one reason: no account is revealed),
    and take as long (a dummy hash is checked)."""
    book = node.accounts
    known = credentials.is_name(name)  # never a malformed name (NUL...) into a query
    found = book.credentials(name) if known else None
    stored = found[1] if found is not None else None
    ok = credentials.verify_password(stored, password)  # a dummy hash when none: same time
    if found is None or stored is None or not ok:
        who = name if known else "(not a name)"
        book.record(iso(at), who, "auth.refused", who, None, "wrong name or password")
        raise Unauthenticated("wrong name or password")
    if credentials.needs_rehash(stored):
        book.rehash(name, stored, credentials.rehash_password(password))
    return found[0]


def authenticate_token(node: Node, token: str, at: datetime) -> Account:
    """The account whose API token is ``token`` (looked up by its SHA-256 digest); else
    the refusal is recorded and :class:`Unauthenticated` raised."""
    account = node.accounts.by_token(credentials.token_digest(token))
    if account is None:
        node.accounts.record(
            iso(at), "(token)", "auth.refused", "(token)", None, "unknown or revoked token"
        )
        raise Unauthenticated("unknown or revoked token")
    return account


def authorize(node: Node, account: Account, action: Action, at: datetime) -> None:
    """Raise :class:`Forbidden` (and record the refusal) unless ``account``'s role may do
    ``action`` (:data:`csbm.accounts.PERMISSIONS`)."""
    try:
        require(account.role, action, who=account.name)
    except Forbidden as exc:
        refused(node, account, exc, at)
        raise


def refused(node: Node, account: Account, exc: Forbidden, at: datetime) -> None:
    """Record a refusal of ``account`` in the history."""
    node.accounts.record(
        iso(at), account.name, "auth.refused", account.name, account.role.value, exc.message
    )
