"""Event handlers of the tickets module."""

from __future__ import annotations

from ...core.events.bus import EventContext, subscribe
from .events import TicketCreated
from .service import triage_ticket


@subscribe(TicketCreated, name="tickets.triage")
async def triage_new_ticket(event: TicketCreated, context: EventContext) -> None:
    """Triage each new ticket in the background (in a worker process when there is one)."""
    await triage_ticket(context.session, context.app, event.ticket_id)
