"""experiments: the first revision of the experiments module's branch

Revision ID: 0008
Revises:
Depends on: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("experiments",)
# Its rows point at users and agent configurations, which the core branch creates.
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=True),
        sa.Column("config_name", sa.String(length=100), nullable=False),
        sa.Column("challenger_id", sa.Integer(), nullable=True),
        sa.Column("challenger_name", sa.String(length=100), nullable=False),
        sa.Column("challenger_share", sa.Integer(), nullable=False),
        sa.Column("min_calls", sa.Integer(), nullable=False),
        sa.Column("max_error_rate_increase", sa.Float(), nullable=False),
        sa.Column("max_p95_increase", sa.Float(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("running", "stopped", name="experimentstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("stop_reason", sa.String(length=1000), nullable=True),
        sa.Column("stopped_automatically", sa.Boolean(), nullable=False),
        sa.Column("final_results", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["config_id"], ["agent_configs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["challenger_id"], ["agent_configs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_experiments_status", "experiments", ["status"])
    op.create_index(
        "uq_experiments_running_config",
        "experiments",
        ["config_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("uq_experiments_running_config", table_name="experiments")
    op.drop_index("ix_experiments_status", table_name="experiments")
    op.drop_table("experiments")
