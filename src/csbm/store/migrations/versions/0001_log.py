"""The log tables, the key directory, and the append-only triggers.

Revision ID: 0001_log
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_log"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = ("log_entries", "merkle_nodes", "receipts", "checkpoints", "split_view_evidence")


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("sender", sa.String(2), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_merkle_nodes"),
    )
    op.create_table(
        "receipts",
        sa.Column("receipt_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("peer", sa.String(2), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("message_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("entry_index", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("own", sa.Boolean, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("seen_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_checkpoints_origin", "checkpoints", ["origin", "id"])
    op.create_table(
        "split_view_evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("found_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("own", sa.Boolean, nullable=False),
        sa.Column("valid_from", sa.String(40), nullable=False),
        sa.Column("valid_until", sa.String(40), nullable=True),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        sa.UniqueConstraint("state", "key_id", name="uq_keys_state_key_id"),
    )
    op.create_table(
        "node_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION csbm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'csbm: % on % refused: the log is append-only', "
            "TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION csbm_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION csbm_refuse_change()"
            )
    else:
        for table in _APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'csbm: {action} on {table} refused: "
                    "the log is append-only'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in (*_APPEND_ONLY, "keys", "node_meta"):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION csbm_refuse_change()")
