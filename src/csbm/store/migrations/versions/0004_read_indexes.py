"""Indexes for the workbench's reads: the log by sender (newest first), the receipts by
message.

Revision ID: 0004_read_indexes
Revises: 0003_outbox

Source: issue 12, item 6 (every page under 200 ms at p95 with 100,000 messages in the
log: a page reads what it shows, so its lists are windows and counts in SQL).
``ix_log_entries_sender_kind`` covers the counts of messages per sender and kind and the
window of one sender's entries in log order; ``ix_receipts_message`` finds the receipts
of the messages a page shows (``receipts`` had no index on the message id). Indexes only:
the append-only tables' rows are untouched (their triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

from alembic import op

revision = "0004_read_indexes"
down_revision = "0003_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_log_entries_sender_kind", "log_entries", ["sender", "kind", "idx"])
    op.create_index("ix_receipts_message", "receipts", ["message_id", "direction"])


def downgrade() -> None:
    op.drop_index("ix_receipts_message", "receipts")
    op.drop_index("ix_log_entries_sender_kind", "log_entries")
