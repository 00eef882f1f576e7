"""event delivery marks and retries, request-log archive, retention runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 04:10:44.186151
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_events_status_available", "events", ["status", "available_at"], unique=False
    )
    op.create_table(
        "event_deliveries",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "handler"),
    )
    op.create_table(
        "request_logs_archive",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=255), nullable=False),
        sa.Column("agent_config_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=254), nullable=False),
        sa.Column("query", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "archived_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_request_logs_archive_timestamp", "request_logs_archive", ["timestamp"], unique=False
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "running", "completed", "failed", name="runstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("moved_to_archive", sa.Integer(), nullable=False),
        sa.Column("archive_deleted", sa.Integer(), nullable=False),
        sa.Column("events_deleted", sa.Integer(), nullable=False),
        sa.Column("test_runs_deleted", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_retention_runs_started_at"), "retention_runs", ["started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_retention_runs_started_at"), table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_request_logs_archive_timestamp", table_name="request_logs_archive")
    op.drop_table("request_logs_archive")
    op.drop_table("event_deliveries")
    op.drop_index("ix_events_status_available", table_name="events")
    op.drop_column("events", "available_at")
