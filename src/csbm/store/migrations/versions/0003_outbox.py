"""The outbox (messages waiting for their receipt) and the peer directory.

Revision ID: 0003_outbox
Revises: 0002_accounts

Source: issue 11, item 4 ("an outbox written in the same transaction as the log append; a
worker that retries with backoff until the receipt arrives") and item 2 (peers: a State's
node URL, pinned by the fingerprint of its key, as SSH pins a host key).

``outbox`` holds one row per (message, destination): a peer State's node, or ``hub`` for
a message to all; on a hub, one row per registered node with the delivery to relay in
``payload``. Rows change (attempts, status): the outbox is not part of the log; the log
entry and the receipts are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("destination", sa.String(8), nullable=False),
        sa.Column("sender", sa.String(2), nullable=False),
        sa.Column("log_index", sa.BigInteger, nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("next_attempt_at", sa.String(40), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("receipt", sa.LargeBinary, nullable=True),
        sa.Column("done_at", sa.String(40), nullable=True),
        sa.UniqueConstraint("message_id", "destination", name="uq_outbox_message_destination"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "peers",
        sa.Column("state", sa.String(8), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("key_name", sa.String(255), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_due", "outbox")
    op.drop_table("outbox")
    op.drop_table("peers")
