"""What the store keeps of accounts and drafts, as plain records (no secrets shown).

Source: issue 11, item 5. An account holds exactly one credential: an Argon2id password
hash or the SHA-256 digest of an API token (:mod:`csbm.accounts.credentials`); neither
ever leaves the store in an :class:`Account`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from csbm.accounts.policy import Role


class Credential(StrEnum):
    """How an account proves who it is."""

    PASSWORD = "password"
    TOKEN = "token"


class DraftStatus(StrEnum):
    """Where a draft stands: waiting, being signed and sent (claimed by one signing
    officer), or sent (its log index known)."""

    PENDING = "pending"
    APPROVING = "approving"
    SENT = "sent"


@dataclass(frozen=True)
class Account:
    """An account as shown: name, role, credential kind, and who made it when."""

    name: str
    role: Role
    credential: Credential
    created_at: str
    created_by: str


@dataclass(frozen=True)
class AccountEvent:
    """One line of the account history (append-only): who did what to which account, when.
    ``action`` is ``user.add``, ``user.remove``, ``auth.refused`` (a refusal: ``detail``
    says why) or ``draft.create`` / ``draft.approve``."""

    id: int
    at: str
    actor: str
    action: str
    account: str
    role: str | None
    detail: str | None


@dataclass(frozen=True)
class Draft:
    """A drafter's message waiting for a signing officer. ``message`` is the message form
    ``{type, to, case, body}``; ``message_id`` is fixed when drafted, so a retried send
    logs it once."""

    id: int
    message_id: str
    kind: str
    message: dict[str, object]
    status: DraftStatus
    created_by: str
    created_at: str
    approved_by: str | None
    approved_at: str | None
    log_index: int | None
