"""The support_tickets table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field, enum_type, optional_datetime_field


class TicketStatus(StrEnum):
    """Where a ticket is in triage."""

    NEW = "new"
    TRIAGED = "triaged"
    NEEDS_REVIEW = "needs_review"


class TicketPriority(StrEnum):
    """How soon a person should look at the ticket."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SupportTicket(SQLModel, table=True):
    """A customer's request, classified and summarised by an agent."""

    __tablename__ = "support_tickets"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    customer_email: str | None = Field(default=None, max_length=254)
    status: TicketStatus = Field(default=TicketStatus.NEW, sa_type=enum_type(TicketStatus))
    category: str | None = Field(default=None, max_length=50)
    priority: TicketPriority | None = Field(default=None, sa_type=enum_type(TicketPriority))
    summary: str | None = Field(default=None, max_length=1000)
    triage_error: str | None = Field(default=None, max_length=1000)
    triaged_by_agent: str | None = Field(default=None, max_length=100)
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = created_at_field(index=True)
    triaged_at: datetime | None = optional_datetime_field()
