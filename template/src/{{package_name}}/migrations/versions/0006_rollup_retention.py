"""retention prunes analytics roll-ups: their count in each run's record

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "retention_runs",
        sa.Column("rollups_deleted", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("retention_runs", "rollups_deleted")
