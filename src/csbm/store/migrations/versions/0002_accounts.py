"""Accounts, their append-only history, and drafts awaiting a signing officer.

Revision ID: 0002_accounts
Revises: 0001_log

Source: issue 11, item 5 ("Roles and access"): accounts on a node with Argon2-hashed
passwords or API tokens (only a hash of a token is kept), account changes recorded with
who and when, and a drafter's message that waits as a draft until a signing officer signs
and sends it. ``account_events`` only grows (the same triggers as the log's tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_accounts"
down_revision = "0001_log"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("account_events",)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
        sa.UniqueConstraint("token_hash", name="uq_accounts_token_hash"),
        sa.CheckConstraint(
            "(password_hash IS NULL) <> (token_hash IS NULL)", name="ck_accounts_one_credential"
        ),
    )
    op.create_table(
        "account_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_account_events_account", "account_events", ["account", "id"])
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.String(40), nullable=True),
        sa.Column("log_index", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("message_id", name="uq_drafts_message_id"),
    )
    op.create_index("ix_drafts_status", "drafts", ["status", "id"])
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "postgresql":  # csbm_refuse_change() comes from 0001_log
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION csbm_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION csbm_refuse_change()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'csbm: {action} on {table} refused: "
                    "the account history is append-only'); END"
                )


def downgrade() -> None:
    for table in ("drafts", "account_events", "accounts"):
        op.drop_table(table)
