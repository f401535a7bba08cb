"""Who may do what on a node, and which messages a State is served: pure functions.

Source: issue 11, item 5 ("Roles and access"): the roles drafter, signing officer, reader,
auditor and admin; only a signing officer's action signs and sends, a drafter's message
waits as a draft ("inside a centre, the officer who drafts is not the officer who signs");
a State is served only the messages addressed to it, sent by it, or sent to all, and
bilateral traffic between two other States is never served to it, not even by the hub.
Vienna Document 2011, Chapter XII (the OSCE Communications Network carries the messages;
the hub of issue 11 plays the Conflict Prevention Centre's part, storing and forwarding).

The table of permissions is least privilege with separated duties (NIST SP 800-53 Rev. 5,
AC-5 and AC-6): the admin manages accounts and peers but reads no messages and signs
nothing; the auditor verifies but never drafts or signs; the drafter never signs; the
signing officer signs and sends but drafts nothing and cannot approve a draft of its own.

Every refusal is an :class:`AccessError` (a :class:`csbm.errors.CsbmError`): code
``auth.unauthenticated`` (HTTP 401) or ``auth.forbidden`` (HTTP 403); the API renders it as
RFC 9457 problem+json, the CLI as one line and exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from csbm.errors import CsbmError, InputError, Problem

__all__ = [
    "ALL",
    "PERMISSIONS",
    "AccessError",
    "Action",
    "Forbidden",
    "Role",
    "Unauthenticated",
    "allowed",
    "parse_role",
    "require",
    "roles_for",
    "visible",
    "visible_to",
]

ALL = "all"
"""The recipient that stands for every participating State (csbm.procedures.base.ALL)."""


class Role(StrEnum):
    """The roles of an account on a node (issue 11, item 5)."""

    DRAFTER = "drafter"
    SIGNING_OFFICER = "signing_officer"
    READER = "reader"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Action(StrEnum):
    """What an account may ask a node to do."""

    READ_LOG = "read_log"
    """Read the log: entries, checkpoints, proofs, status."""
    READ_INBOX = "read_inbox"
    """Read the messages received."""
    DRAFT = "draft"
    """Write a message as a draft (it waits for a signing officer)."""
    APPROVE = "approve"
    """Approve a draft: sign it with the State's key and send it."""
    SEND = "send"
    """Sign and send a message directly."""
    MANAGE_PEERS = "manage_peers"
    """Add and remove peers and the hub's directory."""
    MANAGE_USERS = "manage_users"
    """Add, list and remove accounts."""
    AUDIT = "audit"
    """Verify the log and read the history of accounts and refusals."""


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.DRAFTER: frozenset({Action.READ_LOG, Action.READ_INBOX, Action.DRAFT}),
    Role.SIGNING_OFFICER: frozenset(
        {Action.READ_LOG, Action.READ_INBOX, Action.APPROVE, Action.SEND}
    ),
    Role.READER: frozenset({Action.READ_LOG, Action.READ_INBOX}),
    Role.AUDITOR: frozenset({Action.READ_LOG, Action.READ_INBOX, Action.AUDIT}),
    Role.ADMIN: frozenset({Action.MANAGE_PEERS, Action.MANAGE_USERS}),
}
"""The one table of who may do what (docs/accounts.md prints it)."""


class AccessError(CsbmError):
    """A request refused for want of credentials or of a permission. ``http_status`` is
    what the API answers (RFC 9110 §15.5.2 and §15.5.4)."""

    http_status = 403


class Unauthenticated(AccessError):
    """No credentials, or credentials that name no current account (HTTP 401)."""

    http_status = 401

    def __init__(self, reason: str = "credentials required", where: str = "authorization"):
        super().__init__(
            message=reason, code="auth.unauthenticated", problems=(Problem(where, reason),)
        )


class Forbidden(AccessError):
    """An account whose role does not allow what it asked (HTTP 403)."""

    http_status = 403

    def __init__(self, reason: str, where: str = "role", value: str | None = None):
        super().__init__(
            message=reason, code="auth.forbidden", problems=(Problem(where, reason, value),)
        )


def parse_role(value: object, where: str = "--role") -> Role:
    """The role ``value`` names (``signing-officer`` is read as ``signing_officer``);
    InputError naming the roles otherwise."""
    if isinstance(value, str):
        text = value.strip().lower().replace("-", "_").replace(" ", "_")
        for role in Role:
            if role.value == text:
                return role
    shown = value if isinstance(value, str | int | float | bool) else None
    raise InputError(
        "unknown role",
        [Problem(where, f"one of {[r.value for r in Role]}", shown)],
        code="user.bad_role",
    )


def allowed(role: Role | str, action: Action | str) -> bool:
    """Whether ``role`` may do ``action`` (the :data:`PERMISSIONS` table). An unknown role
    or action is never allowed."""
    try:
        return Action(action) in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def require(role: Role | str, action: Action | str, *, who: str | None = None) -> None:
    """Raise :class:`Forbidden` unless ``role`` may do ``action``."""
    if not allowed(role, action):
        label = f"{who} ({role})" if who else str(role)
        raise Forbidden(f"{label} may not {Action(action).value}", "role", str(role))


def roles_for(action: Action | str) -> list[Role]:
    """The roles that may do ``action``, in the order of :class:`Role`."""
    return [role for role in Role if allowed(role, action)]


def visible_to(state: str, sender: str, recipients: Iterable[str]) -> bool:
    """Whether a message from ``sender`` to ``recipients`` may be served to ``state``: only
    when it is addressed to ``state``, was sent by it, or was sent to all. Bilateral
    traffic between two other States is never served (not even by the hub). Codes are
    compared in upper case; ``all`` in any case."""
    me = state.strip().upper()
    if sender.strip().upper() == me:
        return True
    for code in recipients:
        text = code.strip()
        if text.lower() == ALL or text.upper() == me:
            return True
    return False


def visible(state: str, messages: Sequence[tuple[str, Sequence[str]]]) -> list[bool]:
    """:func:`visible_to` for each ``(sender, recipients)`` of ``messages``."""
    return [visible_to(state, sender, recipients) for sender, recipients in messages]
