"""Ticket rules: store, triage with an agent, and tell the rest of the system."""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import AppError, NotFoundError
from ...core.events.bus import EventBus
from ...core.models import utcnow
from ...core.module_settings import settings_of
from ..gateway.service import Gateway
from ..users.models import User
from .events import TicketCreated, TicketTriaged
from .models import SupportTicket, TicketStatus
from .schemas import CATEGORIES, TicketCreate, Triage
from .settings import TicketSettings

PROMPT = """Classify this customer support ticket. Answer with JSON only, no other text:
{{"category": one of {categories}, "priority": "low" | "normal" | "high" | "urgent",
 "summary": one sentence for a support agent}}

Subject: {subject}
Message:
{body}"""
# Statuses worth trying again later: HiAgent busy, rate limited, away or slow.
RETRY_LATER = {429, 503, 504}
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


async def create_ticket(
    session: AsyncSession, bus: EventBus, data: TicketCreate, user: User
) -> SupportTicket:
    """Store a ticket and publish `TicketCreated` in the same transaction."""
    ticket = SupportTicket(**data.model_dump(), created_by=user.id)
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    bus.publish(session, TicketCreated(ticket_id=ticket.id), source="tickets")
    await session.commit()
    await session.refresh(ticket)
    return ticket


async def get_ticket(session: AsyncSession, ticket_id: int) -> SupportTicket:
    """The ticket, or 404."""
    ticket = await session.get(SupportTicket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"There is no ticket {ticket_id}.")
    return ticket


async def list_tickets(
    session: AsyncSession, status: TicketStatus | None, limit: int, offset: int
) -> tuple[list[SupportTicket], int]:
    """A page of tickets, newest first, and the total."""
    conditions = [] if status is None else [col(SupportTicket.status) == status]
    rows = await session.exec(
        select(SupportTicket)
        .where(*conditions)
        .order_by(col(SupportTicket.id).desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.exec(select(func.count()).select_from(SupportTicket).where(*conditions))
    return list(rows.all()), int(total.one())


async def ids_needing_review(session: AsyncSession, limit: int) -> list[int]:
    """Tickets set aside for a person (the agent failed on them), oldest first."""
    rows = await session.exec(
        select(SupportTicket.id)
        .where(col(SupportTicket.status) == TicketStatus.NEEDS_REVIEW)
        .order_by(col(SupportTicket.id))
        .limit(limit)
    )
    return [ticket_id for ticket_id in rows.all() if ticket_id is not None]


def parse_triage(answer: str) -> Triage:
    """The agent's JSON; a free-text answer becomes the summary of an unclassified ticket."""
    found = _JSON_OBJECT.search(answer)
    if found:
        try:
            triage = Triage.model_validate(json.loads(found.group(0)))
        except (json.JSONDecodeError, ValidationError):
            pass
        else:
            category = triage.category.lower() if triage.category.lower() in CATEGORIES else "other"
            return triage.model_copy(update={"category": category})
    return Triage(summary=answer.strip()[:1000])


async def triage_ticket(session: AsyncSession, app: FastAPI, ticket_id: int) -> SupportTicket:
    """Ask the triage agent about a ticket and store the answer; idempotent once triaged.

    HiAgent being busy or away raises (the event bus retries later); any other failure
    sets the ticket aside for a person, with the reason.
    """
    ticket = await get_ticket(session, ticket_id)
    if ticket.status is TicketStatus.TRIAGED:
        return ticket
    agent = settings_of(app, TicketSettings).triage_agent
    gateway: Gateway = app.state.gateway
    author = await session.get(User, ticket.created_by) if ticket.created_by else None
    prompt = PROMPT.format(
        categories=" | ".join(f'"{c}"' for c in CATEGORIES),
        subject=ticket.subject,
        body=ticket.body,
    )
    try:
        # Read in this transaction: a configuration changed a moment ago applies at once.
        config = await gateway.find(agent, session)
        answer = await gateway.invoke(
            config,
            prompt,
            user_id=author.email if author else "tickets@system",
            endpoint="/api/v1/tickets/triage",
        )
    except AppError as exc:
        if exc.status_code in RETRY_LATER:
            raise
        ticket.status = TicketStatus.NEEDS_REVIEW
        ticket.triage_error = exc.message[:1000]
    else:
        triage = parse_triage(answer.answer)
        ticket.status = TicketStatus.TRIAGED
        ticket.category = triage.category
        ticket.priority = triage.priority
        ticket.summary = triage.summary
        ticket.triage_error = None
    ticket.triaged_by_agent = agent
    ticket.triaged_at = utcnow()
    session.add(ticket)
    bus: EventBus = app.state.event_bus
    assert ticket.id is not None
    bus.publish(
        session,
        TicketTriaged(
            ticket_id=ticket.id,
            status=ticket.status,
            category=ticket.category,
            priority=ticket.priority,
        ),
        source="tickets",
    )
    await session.commit()
    await session.refresh(ticket)
    return ticket
