"""sign-in hardening: token versions revoke old tokens; throttles per account and client

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

`users.failed_logins` and `users.locked_until` are no longer used (throttling moved to
`login_throttles`). They stay, with a default, so instances of the previous release keep
working during a rolling deploy; a later release drops them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("token_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.alter_column("users", "failed_logins", server_default="0")
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_login_throttles_window", "login_throttles", ["window_started_at"])


def downgrade() -> None:
    op.drop_index("ix_login_throttles_window", table_name="login_throttles")
    op.drop_table("login_throttles")
    op.alter_column("users", "failed_logins", server_default=None)
    op.drop_column("users", "token_version")
