"""A run of output lines is stored as one row (a flood: a row per chunk): ``session_events.first_seq``.

A row whose ``first_seq`` is NULL is one event, as every row stored before this revision. A row with
``first_seq`` = F holds the ``log`` events F..``seq``, their lines joined by ``"\\n"``. Existing rows are
left as they are: they read back exactly as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Expand every run back into one row per line, then drop the column."""
    events = sa.table(
        "session_events",
        sa.column("session_id", sa.String()),
        sa.column("seq", sa.Integer()),
        sa.column("type", sa.String()),
        sa.column("level", sa.String()),
        sa.column("message", sa.Text()),
        sa.column("timestamp", sa.DateTime(timezone=True)),
        sa.column("step_id", sa.String()),
        sa.column("step_index", sa.Integer()),
        sa.column("step_total", sa.Integer()),
        sa.column("data", sa.JSON()),
        sa.column("first_seq", sa.Integer()),
    )
    bind = op.get_bind()
    runs = bind.execute(
        sa.select(
            events.c.session_id,
            events.c.seq,
            events.c.type,
            events.c.level,
            events.c.message,
            events.c.timestamp,
            events.c.step_id,
            events.c.step_index,
            events.c.step_total,
            events.c.first_seq,
        ).where(events.c.first_seq.is_not(None))
    ).all()
    for session_id, last, type_, level, message, timestamp, step_id, step_index, step_total, first in runs:
        lines = message.split("\n")
        if len(lines) != last - first + 1:
            raise RuntimeError(f"session {session_id}: row {first}..{last} has {len(lines)} lines")
        bind.execute(events.delete().where(events.c.session_id == session_id, events.c.seq == last))
        bind.execute(
            events.insert(),
            [
                {
                    "session_id": session_id,
                    "seq": first + offset,
                    "type": type_,
                    "level": level,
                    "message": line,
                    "timestamp": timestamp,
                    "step_id": step_id,
                    "step_index": step_index,
                    "step_total": step_total,
                    "data": {},
                    "first_seq": None,
                }
                for offset, line in enumerate(lines)
            ],
        )
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_column("first_seq")
