"""support tickets: the first revision of the tickets module's branch

Revision ID: 0005
Revises:
Depends on: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("tickets",)
# Tickets point at users, which the core branch creates.
depends_on: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    op.create_table(
        "support_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new", "triaged", "needs_review", name="ticketstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column(
            "priority",
            sa.Enum(
                "low",
                "normal",
                "high",
                "urgent",
                name="ticketpriority",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("summary", sa.String(length=1000), nullable=True),
        sa.Column("triage_error", sa.String(length=1000), nullable=True),
        sa.Column("triaged_by_agent", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_support_tickets_created_at"), "support_tickets", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_support_tickets_created_at"), table_name="support_tickets")
    op.drop_table("support_tickets")
