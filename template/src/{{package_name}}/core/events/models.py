"""The Event table (the outbox of the event bus) and the per-handler delivery marks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String
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
    __table_args__ = (
        Index("ix_events_status_time", "status", "timestamp"),
        Index("ix_events_status_available", "status", "available_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_type: str = Field(max_length=100, index=True)
    payload: dict[str, Any] = json_field({}, server_default="{}")
    source: str = Field(default="", max_length=100)
    correlation_id: str | None = Field(default=None, max_length=64, index=True)
    status: EventStatus = Field(default=EventStatus.PENDING, sa_type=enum_type(EventStatus))
    attempts: int = Field(default=0)
    error: str | None = Field(default=None)
    timestamp: datetime = created_at_field()
    # Not before: the next retry, or the end of a dispatcher's claim on the event.
    available_at: datetime = created_at_field()
    processed_at: datetime | None = optional_datetime_field()


class EventDelivery(SQLModel, table=True):
    """One handler has processed one event: it is not run again for that event."""

    __tablename__ = "event_deliveries"

    event_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    )
    handler: str = Field(sa_column=Column(String(200), primary_key=True))
    processed_at: datetime = created_at_field()
