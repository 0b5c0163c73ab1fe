"""Known hosts per user and the audit trail.

``known_hosts`` gains ``user_id`` in its primary key. A key recorded before this revision was trusted by
everyone, and nobody can tell whose login first saw it: it is copied to every user, so nobody loses the
protection it gave; each user can forget their copy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _known_hosts(with_user: bool) -> list[sa.schema.SchemaItem]:
    columns: list[sa.schema.SchemaItem] = []
    if with_user:
        columns.append(sa.Column("user_id", sa.Integer(), nullable=False))
    columns += [
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    ]
    if with_user:
        columns += [
            sa.ForeignKeyConstraint(
                ["user_id"], ["users.id"], name=op.f("fk_known_hosts_user_id_users"), ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("user_id", "host", "port", name=op.f("pk_known_hosts")),
        ]
    else:
        columns.append(sa.PrimaryKeyConstraint("host", "port", name=op.f("pk_known_hosts")))
    return columns


def _set_aside(old_name: str) -> None:
    """Rename ``known_hosts`` out of the way (PostgreSQL names constraints per schema: rename its key too)."""
    op.rename_table("known_hosts", old_name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {old_name} RENAME CONSTRAINT pk_known_hosts TO pk_{old_name}")


def upgrade() -> None:
    _set_aside("known_hosts_0001")
    op.create_table("known_hosts", *_known_hosts(with_user=True))
    op.execute(
        "INSERT INTO known_hosts (user_id, host, port, fingerprint, first_seen, last_seen) "
        "SELECT u.id, k.host, k.port, k.fingerprint, k.first_seen, k.last_seen "
        "FROM users u CROSS JOIN known_hosts_0001 k"
    )
    op.drop_table("known_hosts_0001")

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
    op.drop_table("audit_events")
    _set_aside("known_hosts_0002")
    op.create_table("known_hosts", *_known_hosts(with_user=False))
    op.execute(
        "INSERT INTO known_hosts (host, port, fingerprint, first_seen, last_seen) "
        "SELECT host, port, MIN(fingerprint), MIN(first_seen), MAX(last_seen) FROM known_hosts_0002 "
        "GROUP BY host, port"
    )
    op.drop_table("known_hosts_0002")
