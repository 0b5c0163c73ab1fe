"""A fleet host's last line keeps its message code and parameters (``last_line_code``, ``last_line_params``),
so the fleet view shows the service's own lines in the reader's language. Rows written before this
revision have neither and show ``last_line`` as written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fleet_hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_line_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_line_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fleet_hosts", schema=None) as batch_op:
        batch_op.drop_column("last_line_params")
        batch_op.drop_column("last_line_code")
