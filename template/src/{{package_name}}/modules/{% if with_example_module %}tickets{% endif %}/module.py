"""Manifest of the tickets example module."""

from ...core.plugins import CONFIGURE, EVERYONE, Access, ModuleManifest
from .actors import retriage
from .handlers import triage_new_ticket
from .models import SupportTicket
from .router import router
from .settings import TicketSettings

manifest = ModuleManifest(
    name="tickets",
    router=router,
    access=[
        Access("/tickets", EVERYONE, methods=("GET",)),
        Access("/tickets", CONFIGURE, methods=("POST",)),
    ],
    models=[SupportTicket],
    order=110,
    description="Example: support tickets triaged by a HiAgent agent",
    subscriptions=[triage_new_ticket],
    actors=[retriage],
    settings=TicketSettings,
)
