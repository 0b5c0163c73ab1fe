"""A generated admin private key waits, encrypted, for its one download:
``admin_key_handovers``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_key_handovers",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["setup_sessions.id"],
            name=op.f("fk_admin_key_handovers_session_id_setup_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_admin_key_handovers_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_admin_key_handovers")),
    )
    op.create_index(
        op.f("ix_admin_key_handovers_owner_id"), "admin_key_handovers", ["owner_id"], unique=False
    )
    op.create_index(
        op.f("ix_admin_key_handovers_expires_at"), "admin_key_handovers", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_key_handovers_expires_at"), table_name="admin_key_handovers")
    op.drop_index(op.f("ix_admin_key_handovers_owner_id"), table_name="admin_key_handovers")
    op.drop_table("admin_key_handovers")
