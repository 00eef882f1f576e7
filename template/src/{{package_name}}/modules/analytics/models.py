"""The request log: one immutable row per HiAgent call made through this service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field


class RequestLog(SQLModel, table=True):
    """Who called which configuration, with what result, tokens and duration."""

    __tablename__ = "request_logs"
    __table_args__ = (
        Index("ix_request_logs_agent_time", "agent_config_id", "timestamp"),
        Index("ix_request_logs_status_time", "status", "timestamp"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    correlation_id: str = Field(max_length=64, index=True)
    endpoint: str = Field(max_length=255)
    agent_config_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("agent_configs.id", ondelete="SET NULL"), nullable=True
        ),
    )
    user_id: str = Field(default="", max_length=254)
    query: str = Field(default="")
    status: str = Field(max_length=32)
    error_type: str | None = Field(default=None, max_length=64)
    duration_ms: int = Field(default=0)
    tokens_in: int = Field(default=0)
    tokens_out: int = Field(default=0)
    conversation_id: str | None = Field(default=None, max_length=255)
    timestamp: datetime = created_at_field(index=True)
