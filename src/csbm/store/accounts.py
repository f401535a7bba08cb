"""Accounts, their history and drafts in the node's database (SQLAlchemy 2 Core; SQLite
and PostgreSQL alike). The tables come from migration ``0002_accounts``.

Source: issue 11, item 5. ``accounts`` holds the current accounts, each with exactly one
credential (an Argon2id hash or a token's SHA-256 digest; a CHECK constraint holds it);
``account_events`` is the history — who added or removed which account when, every
refusal, every draft and approval — and only grows (UPDATE and DELETE refused by
triggers, as for the log's tables); ``drafts`` holds drafted messages and where each
stands. A draft passes from ``pending`` to ``approving`` by one conditional UPDATE, so of
two signing officers approving at once exactly one wins (the other is refused).

Writes take the write lock at BEGIN on SQLite (``BEGIN IMMEDIATE``: no lock upgrade, no
deadlock); every driver or OS error becomes a :class:`csbm.store.errors.StoreError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from csbm.accounts.policy import Role
from csbm.accounts.records import Account, AccountEvent, Credential, Draft, DraftStatus
from csbm.errors import InputError, NotFoundError, Problem
from csbm.store.engine import WRITE
from csbm.store.errors import translate
from csbm.store.log import LedgerStore

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("token_hash", LargeBinary(32), nullable=True, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(128), nullable=False),
)

account_events = Table(
    "account_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("account", String(64), nullable=False),
    Column("role", String(32), nullable=True),
    Column("detail", Text, nullable=True),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False, unique=True),
    Column("kind", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("approved_by", String(64), nullable=True),
    Column("approved_at", String(40), nullable=True),
    Column("log_index", BigInteger, nullable=True),
)

#: The largest id an ``Integer`` primary key holds on both backends.
MAX_ID = 2**31 - 1

#: Longest text kept in an event's ``detail`` (a refusal's reason).
MAX_DETAIL = 500


def _account(row: Any) -> Account:
    return Account(
        name=row.name,
        role=Role(row.role),
        credential=Credential.PASSWORD if row.password_hash is not None else Credential.TOKEN,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _event(row: Any) -> AccountEvent:
    return AccountEvent(
        id=int(row.id),
        at=row.at,
        actor=row.actor,
        action=row.action,
        account=row.account,
        role=row.role,
        detail=row.detail,
    )


def _draft(row: Any) -> Draft:
    return Draft(
        id=int(row.id),
        message_id=row.message_id,
        kind=row.kind,
        message=json.loads(row.message),
        status=DraftStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        log_index=None if row.log_index is None else int(row.log_index),
    )


def _event_row(
    at: str, actor: str, action: str, account: str, role: str | None, detail: str | None
) -> dict[str, Any]:
    return {
        "at": at,
        "actor": actor[:128],
        "action": action,
        "account": account[:64],
        "role": role,
        "detail": None if detail is None else detail[:MAX_DETAIL],
    }


class AccountStore:
    """The accounts, history and drafts of one node's database."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def of(cls, ledger: LedgerStore) -> AccountStore:
        """The account store on the same database (and engine) as the node's log."""
        return cls(ledger.engine, ledger.url)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                yield conn
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, self.url) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, self.url) from None

    # -- accounts

    def add(
        self,
        name: str,
        role: Role,
        at: str,
        actor: str,
        *,
        password_hash: str | None = None,
        token_hash: bytes | None = None,
    ) -> Account:
        """Add an account with one credential, and its ``user.add`` event, in one commit.
        A name in use is refused (``user.exists``)."""
        if (password_hash is None) == (token_hash is None):
            raise ValueError("an account has exactly one credential")
        try:
            with self._write() as conn:
                taken = conn.execute(select(accounts.c.id).where(accounts.c.name == name)).first()
                if taken is not None:
                    raise _exists(name)
                conn.execute(
                    insert(accounts).values(
                        name=name,
                        role=role.value,
                        password_hash=password_hash,
                        token_hash=token_hash,
                        created_at=at,
                        created_by=actor,
                    )
                )
                detail = "token" if token_hash is not None else "password"
                conn.execute(
                    insert(account_events).values(
                        **_event_row(at, actor, "user.add", name, role.value, detail)
                    )
                )
        except InputError:
            raise
        except IntegrityError:  # a concurrent add of the same name won
            raise _exists(name) from None
        found = self.get(name)
        assert found is not None
        return found

    def remove(self, name: str, at: str, actor: str) -> Account:
        """Remove an account (its credential stops working at once) and record
        ``user.remove``; an unknown name is ``user.unknown``."""
        with self._write() as conn:
            row = conn.execute(select(accounts).where(accounts.c.name == name)).first()
            if row is None:
                raise _unknown(name)
            conn.execute(delete(accounts).where(accounts.c.name == name))
            conn.execute(
                insert(account_events).values(
                    **_event_row(at, actor, "user.remove", name, row.role, None)
                )
            )
        return _account(row)

    def get(self, name: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.name == name)).first()
        return None if row is None else _account(row)

    def credentials(self, name: str) -> tuple[Account, str | None] | None:
        """The account of ``name`` and its password hash (None for a token account)."""
        with self._read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.name == name)).first()
        return None if row is None else (_account(row), row.password_hash)

    def by_token(self, digest: bytes) -> Account | None:
        """The account whose token has the SHA-256 ``digest`` (an indexed lookup)."""
        with self._read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.token_hash == digest)).first()
        return None if row is None else _account(row)

    def rehash(self, name: str, old_hash: str, new_hash: str) -> None:
        """Replace a password hash made with older parameters (only if unchanged since)."""
        with self._write() as conn:
            conn.execute(
                update(accounts)
                .where(accounts.c.name == name, accounts.c.password_hash == old_hash)
                .values(password_hash=new_hash)
            )

    def list_accounts(self) -> list[Account]:
        """Every account, by name."""
        with self._read() as conn:
            rows = conn.execute(select(accounts).order_by(accounts.c.name)).all()
        return [_account(r) for r in rows]

    def stored_secrets(self) -> list[tuple[str, str | None, bytes | None]]:
        """``(name, password_hash, token_hash)`` of every account: what is kept of each
        credential (for tests and audits: never a password or a token itself)."""
        with self._read() as conn:
            rows = conn.execute(
                select(accounts.c.name, accounts.c.password_hash, accounts.c.token_hash)
            ).all()
        return [
            (r.name, r.password_hash, None if r.token_hash is None else bytes(r.token_hash))
            for r in rows
        ]

    # -- history

    def record(
        self,
        at: str,
        actor: str,
        action: str,
        account: str,
        role: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one event to the account history (a refusal, a draft, an approval)."""
        with self._write() as conn:
            conn.execute(
                insert(account_events).values(
                    **_event_row(at, actor, action, account, role, detail)
                )
            )

    def events(self, account: str | None = None) -> list[AccountEvent]:
        """The history, oldest first (of one account, or all)."""
        query = select(account_events).order_by(account_events.c.id)
        if account is not None:
            query = query.where(account_events.c.account == account)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_event(r) for r in rows]

    # -- drafts

    def add_draft(
        self, message_id: str, kind: str, message: dict[str, Any], created_by: str, at: str
    ) -> Draft:
        """Keep a drafted message (``pending``) and record ``draft.create``."""
        with self._write() as conn:
            result = conn.execute(
                insert(drafts).values(
                    message_id=message_id,
                    kind=kind,
                    message=json.dumps(message, ensure_ascii=False, sort_keys=True),
                    status=DraftStatus.PENDING.value,
                    created_by=created_by,
                    created_at=at,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            draft_id = int(key[0])
            conn.execute(
                insert(account_events).values(
                    **_event_row(
                        at,
                        created_by,
                        "draft.create",
                        created_by,
                        None,
                        f"draft {draft_id} ({kind})",
                    )
                )
            )
        return self.draft(draft_id)

    def draft(self, draft_id: int) -> Draft:
        """The draft ``draft_id``; ``draft.unknown`` when there is none (also for a
        number no draft id can be: the column is a 32-bit integer on PostgreSQL)."""
        if not 1 <= draft_id <= MAX_ID:
            raise NotFoundError(f"no draft {draft_id}", code="draft.unknown")
        with self._read() as conn:
            row = conn.execute(select(drafts).where(drafts.c.id == draft_id)).first()
        if row is None:
            raise NotFoundError(f"no draft {draft_id}", code="draft.unknown")
        return _draft(row)

    def drafts(self, statuses: Sequence[DraftStatus] = ()) -> list[Draft]:
        """The drafts (of the given statuses, or all), oldest first."""
        query = select(drafts).order_by(drafts.c.id)
        if statuses:
            query = query.where(drafts.c.status.in_([s.value for s in statuses]))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_draft(r) for r in rows]

    def claim_draft(self, draft_id: int, approver: str, at: str) -> bool:
        """Take a ``pending`` draft for signing (``approving``), in one conditional UPDATE:
        True for exactly one caller, False when it is not pending (any more)."""
        with self._write() as conn:
            result = conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status == DraftStatus.PENDING.value)
                .values(status=DraftStatus.APPROVING.value, approved_by=approver, approved_at=at)
            )
            return result.rowcount == 1

    def release_draft(self, draft_id: int, approver: str) -> None:
        """Put a claimed draft back to ``pending`` (its sending failed: nothing was logged)."""
        with self._write() as conn:
            conn.execute(
                update(drafts)
                .where(
                    drafts.c.id == draft_id,
                    drafts.c.status == DraftStatus.APPROVING.value,
                    drafts.c.approved_by == approver,
                )
                .values(status=DraftStatus.PENDING.value, approved_by=None, approved_at=None)
            )

    def finish_draft(self, draft_id: int, log_index: int | None, at: str) -> Draft:
        """Mark a claimed draft ``sent`` (at ``log_index`` of the log) and record
        ``draft.approve`` for its approver, in one commit."""
        with self._write() as conn:
            row = conn.execute(select(drafts).where(drafts.c.id == draft_id)).first()
            if row is None:
                raise NotFoundError(f"no draft {draft_id}", code="draft.unknown")
            conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id)
                .values(status=DraftStatus.SENT.value, log_index=log_index)
            )
            conn.execute(
                insert(account_events).values(
                    **_event_row(
                        at,
                        row.approved_by or "",
                        "draft.approve",
                        row.approved_by or "",
                        None,
                        f"draft {draft_id} ({row.kind}) by {row.created_by} sent as "
                        f"{row.message_id}" + ("" if log_index is None else f" at {log_index}"),
                    )
                )
            )
        return self.draft(draft_id)


def _exists(name: str) -> InputError:
    return InputError(
        "account exists",
        [Problem("NAME", "an account of this name exists", name)],
        code="user.exists",
    )


def _unknown(name: str) -> NotFoundError:
    return NotFoundError(f"no account {name}", code="user.unknown")
