"""Notification targets: ``notify_targets``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(length=64), nullable=False),
        sa.Column("on_failed", sa.Boolean(), nullable=False),
        sa.Column("on_succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notify_targets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_targets")),
        sa.UniqueConstraint("user_id", "name", name="uq_notify_targets_user_name"),
    )
    op.create_index(op.f("ix_notify_targets_user_id"), "notify_targets", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notify_targets_user_id"), table_name="notify_targets")
    op.drop_table("notify_targets")
