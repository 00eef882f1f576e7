"""request log roll-ups, keyset indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:58:54.211579
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the latency buckets of this revision (modules/analytics/latency.py).
LATENCY_BOUNDS_MS = (
    25, 50, 100, 200, 300, 400, 500, 750, 1_000, 1_250, 1_500, 2_000, 2_500, 3_000, 4_000,
    5_000, 6_000, 8_000, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000,
    60_000, 90_000, 120_000, 180_000, 300_000,
)  # fmt: skip


def _backfill_sql() -> str:
    # Roll up rows logged before this revision, so history shows in the analytics.
    bounds = "ARRAY[" + ", ".join(map(str, LATENCY_BOUNDS_MS)) + "]"
    buckets = range(len(LATENCY_BOUNDS_MS) + 1)
    histogram = ", ".join(f"count(*) FILTER (WHERE b = {i})" for i in buckets)
    return f"""
        INSERT INTO request_log_rollups (grain, bucket_start, agent_config_id, status, requests,
            tokens_in, tokens_out, duration_ms_sum, duration_ms_max, latency_histogram)
        SELECT g.grain, date_trunc(g.grain, s."timestamp", 'UTC'),
            coalesce(s.agent_config_id, 0), s.status, count(*), sum(s.tokens_in),
            sum(s.tokens_out), sum(s.duration_ms), max(s.duration_ms), ARRAY[{histogram}]
        FROM (SELECT *, width_bucket(duration_ms, {bounds}) AS b FROM request_logs) AS s
        CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g(grain)
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - only constants are interpolated


def upgrade() -> None:
    op.create_table(
        "request_log_rollups",
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_config_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms_sum", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms_max", sa.Integer(), nullable=False),
        sa.Column("latency_histogram", sa.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("grain", "bucket_start", "agent_config_id", "status"),
    )
    op.execute(_backfill_sql())
    op.drop_index("ix_request_logs_timestamp", table_name="request_logs")
    op.drop_index("ix_request_logs_agent_time", table_name="request_logs")
    op.create_index(
        "ix_request_logs_agent_time",
        "request_logs",
        ["agent_config_id", "timestamp", "id"],
        unique=False,
    )
    op.drop_index("ix_request_logs_status_time", table_name="request_logs")
    op.create_index(
        "ix_request_logs_status_time", "request_logs", ["status", "timestamp", "id"], unique=False
    )
    op.create_index("ix_request_logs_time_id", "request_logs", ["timestamp", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_request_logs_time_id", table_name="request_logs")
    op.drop_index("ix_request_logs_status_time", table_name="request_logs")
    op.create_index(
        "ix_request_logs_status_time", "request_logs", ["status", "timestamp"], unique=False
    )
    op.drop_index("ix_request_logs_agent_time", table_name="request_logs")
    op.create_index(
        "ix_request_logs_agent_time", "request_logs", ["agent_config_id", "timestamp"], unique=False
    )
    op.create_index("ix_request_logs_timestamp", "request_logs", ["timestamp"], unique=False)
    op.drop_table("request_log_rollups")
