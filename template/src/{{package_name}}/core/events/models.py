"""The Event table: the outbox of the event bus."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from ..models import created_at_field, enum_type, json_field, optional_datetime_field


class EventStatus(StrEnum):
    """Delivery state of a persisted event."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class Event(SQLModel, table=True):
    """A published event, kept until every handler has processed it (or given up)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_status_time", "status", "timestamp"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_type: str = Field(max_length=100, index=True)
    payload: dict[str, Any] = json_field({}, server_default="{}")
    source: str = Field(default="", max_length=100)
    correlation_id: str | None = Field(default=None, max_length=64, index=True)
    status: EventStatus = Field(default=EventStatus.PENDING, sa_type=enum_type(EventStatus))
    attempts: int = Field(default=0)
    error: str | None = Field(default=None)
    timestamp: datetime = created_at_field()
    processed_at: datetime | None = optional_datetime_field()
