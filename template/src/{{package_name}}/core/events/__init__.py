"""Internal event bus with a persistent outbox.

class TicketCreated(DomainEvent):
    event_type: ClassVar[str] = "tickets.created"
    ticket_id: int

@subscribe(TicketCreated)
async def notify_team(event: TicketCreated, context: EventContext) -> None: ...

manifest = ModuleManifest(name="tickets", subscriptions=[notify_team], ...)

# in a route, inside the transaction that creates the ticket:
events.publish(session, TicketCreated(ticket_id=ticket.id), source="tickets")
"""

from .bus import DomainEvent, EventBus, EventContext, EventNotifier, Subscription, subscribe
from .dependencies import EventBusDep, get_event_bus

__all__ = [
    "DomainEvent",
    "EventBus",
    "EventBusDep",
    "EventContext",
    "EventNotifier",
    "Subscription",
    "get_event_bus",
    "subscribe",
]
