"""The request log (one immutable row per HiAgent call) and its roll-ups."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
)
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field


class CallStatus(StrEnum):
    """How a call ended: the values of `request_logs.status`."""

    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# A cancelled call was abandoned by its caller: not a failure of the service.
NOT_ERRORS = (CallStatus.SUCCESS.value, CallStatus.CANCELLED.value)


class RequestLog(SQLModel, table=True):
    """Who called which configuration, with what result, tokens and duration."""

    __tablename__ = "request_logs"
    # Each index ends with (timestamp, id): the keyset order of the request-log listing.
    __table_args__ = (
        Index("ix_request_logs_time_id", "timestamp", "id"),
        Index("ix_request_logs_agent_time", "agent_config_id", "timestamp", "id"),
        Index("ix_request_logs_status_time", "status", "timestamp", "id"),
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
    timestamp: datetime = created_at_field()


class RequestLogRollup(SQLModel, table=True):
    """Calls of one minute, hour or day for one configuration and status, pre-summed.

    Written in the same transaction as the raw rows, so the two always agree. Analytics
    read these: a day of traffic is a few thousand rows whatever the call volume.
    """

    __tablename__ = "request_log_rollups"
    __table_args__ = (PrimaryKeyConstraint("grain", "bucket_start", "agent_config_id", "status"),)

    grain: str = Field(sa_column=Column(String(8), nullable=False))
    bucket_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # No foreign key: 0 stands for "no configuration", and a deleted one keeps its history.
    agent_config_id: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    requests: int = Field(sa_column=Column(BigInteger, nullable=False))
    tokens_in: int = Field(sa_column=Column(BigInteger, nullable=False))
    tokens_out: int = Field(sa_column=Column(BigInteger, nullable=False))
    duration_ms_sum: int = Field(sa_column=Column(BigInteger, nullable=False))
    duration_ms_max: int = Field(sa_column=Column(Integer, nullable=False))
    # Call counts per latency bucket of `latency.LATENCY_BOUNDS_MS` (PostgreSQL is 1-based).
    latency_histogram: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
