"""Seqs a session may have shown live are reserved in its row, never reused after a crash: ``seq_ceiling``.

A running session publishes a seq only once ``seq_ceiling`` covers it, so after a crash the recovery numbers
its final event above every seq a client may have seen, even when the in-process bus died with the process.
Existing rows get 0 (their stored seqs are the bound, as before).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 08:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("setup_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq_ceiling", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies setup_sessions into a new table and drops the old one, and the
    # drop deletes every session's events through ON DELETE CASCADE. SQLite (3.35+) drops a column in place.
    op.execute("ALTER TABLE setup_sessions DROP COLUMN seq_ceiling")
