"""The job queue: procrastinate's schema (PostgreSQL only) and ``setup_job_secrets`` (both databases).

procrastinate's own tables, types and functions (``procrastinate_*``) come from the schema file of the
installed procrastinate (3.10), applied as it is; a later procrastinate that changes its schema brings
migration files (``procrastinate/sql/migrations/``) that a new revision of ours applies. SQLite has no
queue (the embedded default runs setups in the serve process), so only our table is created there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from setupwizard.db.procrastinate_schema import apply_schema, drop_statements

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        apply_schema(bind)
    op.create_table(
        "setup_job_secrets",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["setup_sessions.id"],
            name=op.f("fk_setup_job_secrets_session_id_setup_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_setup_job_secrets")),
    )


def downgrade() -> None:
    op.drop_table("setup_job_secrets")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in drop_statements(bind):
            bind.exec_driver_sql(statement)
