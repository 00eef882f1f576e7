"""Events of the tickets module: other modules may subscribe to them."""

from __future__ import annotations

from typing import ClassVar

from ...core.events.bus import DomainEvent


class TicketCreated(DomainEvent):
    """A ticket was stored and waits for triage."""

    event_type: ClassVar[str] = "tickets.created"

    ticket_id: int


class TicketTriaged(DomainEvent):
    """A ticket was classified (or set aside for a person when the agent could not)."""

    event_type: ClassVar[str] = "tickets.triaged"

    ticket_id: int
    status: str
    category: str | None
    priority: str | None
