"""Fleets: ``fleets``, ``fleet_hosts`` (each target and its session), ``fleet_events`` (the progress socket).

No credential is stored: the scheduler holds them in memory only.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fleets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("parallel", sa.Integer(), nullable=False),
        sa.Column("stop_after_failures", sa.Integer(), nullable=True),
        sa.Column("accept_new_host_keys", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_fleets_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleets")),
    )
    op.create_index("ix_fleets_owner_created", "fleets", ["owner_id", "created_at"], unique=False)
    op.create_table(
        "fleet_hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fleet_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("earlier_sessions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_total", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(length=128), nullable=False),
        sa.Column("last_line", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["fleet_id"], ["fleets.id"], name=op.f("fk_fleet_hosts_fleet_id_fleets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_hosts")),
        sa.UniqueConstraint("fleet_id", "position", name="uq_fleet_hosts_fleet_position"),
    )
    op.create_index(op.f("ix_fleet_hosts_fleet_id"), "fleet_hosts", ["fleet_id"], unique=False)
    op.create_index(op.f("ix_fleet_hosts_session_id"), "fleet_hosts", ["session_id"], unique=False)
    op.create_table(
        "fleet_events",
        sa.Column("fleet_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fleet_id"], ["fleets.id"], name=op.f("fk_fleet_events_fleet_id_fleets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("fleet_id", "seq", name=op.f("pk_fleet_events")),
    )


def downgrade() -> None:
    op.drop_table("fleet_events")
    op.drop_index(op.f("ix_fleet_hosts_session_id"), table_name="fleet_hosts")
    op.drop_index(op.f("ix_fleet_hosts_fleet_id"), table_name="fleet_hosts")
    op.drop_table("fleet_hosts")
    op.drop_index("ix_fleets_owner_created", table_name="fleets")
    op.drop_table("fleets")
