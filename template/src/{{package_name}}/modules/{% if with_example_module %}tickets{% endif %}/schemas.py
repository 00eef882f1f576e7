"""Bodies of the tickets API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .models import TicketPriority, TicketStatus

CATEGORIES = ("billing", "technical", "account", "other")


def _stripped(value: str) -> str:
    # After the length limits, so they apply to the text as sent (as the schema says).
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class TicketCreate(BaseModel):
    """A new ticket; triage starts in the background."""

    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_stripped)]
    body: Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_stripped)]
    customer_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)


class TicketRead(BaseModel):
    """A ticket with its triage result."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    body: str
    customer_email: str | None
    status: TicketStatus
    category: str | None
    priority: TicketPriority | None
    summary: str | None
    triage_error: str | None
    triaged_by_agent: str | None
    created_at: datetime
    triaged_at: datetime | None


class TicketPage(BaseModel):
    """Tickets, newest first."""

    items: list[TicketRead]
    total: int


class Triage(BaseModel):
    """What the agent must answer (as JSON)."""

    category: str = "other"
    priority: TicketPriority = TicketPriority.NORMAL
    summary: str = Field(default="", max_length=1000)


class RetriageQueued(BaseModel):
    """Tickets handed to the background for another triage."""

    queued: int
    ticket_ids: list[int]
