"""/tickets: every role reads tickets; admins and configurators file and re-triage them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from ...core.db import SessionDep
from ...core.params import WRITTEN_AS_INTEGER, PageOffset, RowId
from ..auth.dependencies import AnyRoleUser, ConfiguratorUser
from .actors import retriage as retriage_job
from .models import TicketStatus
from .schemas import RetriageQueued, TicketCreate, TicketPage, TicketRead
from .service import create_ticket, get_ticket, ids_needing_review, list_tickets, triage_ticket

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post("", response_model=TicketRead, status_code=status.HTTP_201_CREATED, summary="File")
async def create(
    data: TicketCreate, request: Request, session: SessionDep, user: ConfiguratorUser
) -> TicketRead:
    """Store a ticket; an agent classifies and summarises it in the background."""
    ticket = await create_ticket(session, request.app.state.event_bus, data, user)
    return TicketRead.model_validate(ticket)


@router.get("", response_model=TicketPage, summary="List tickets")
async def list_all(
    session: SessionDep,
    _: AnyRoleUser,
    ticket_status: Annotated[TicketStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200), WRITTEN_AS_INTEGER] = 50,
    offset: PageOffset = 0,
) -> TicketPage:
    """Tickets, newest first, optionally by status."""
    items, total = await list_tickets(session, ticket_status, limit, offset)
    return TicketPage(items=[TicketRead.model_validate(t) for t in items], total=total)


@router.post(
    "/retriage",
    response_model=RetriageQueued,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Triage again every ticket needing review, in the background",
)
async def retriage_needing_review(
    request: Request,
    session: SessionDep,
    _: ConfiguratorUser,
    limit: Annotated[int, Query(ge=1, le=1000), WRITTEN_AS_INTEGER] = 100,
) -> RetriageQueued:
    """After fixing the triage agent: one background job per ticket set aside (oldest first)."""
    ticket_ids = await ids_needing_review(session, limit)
    for ticket_id in ticket_ids:
        await retriage_job.send(request.app, ticket_id)
    return RetriageQueued(queued=len(ticket_ids), ticket_ids=ticket_ids)


@router.get("/{ticket_id}", response_model=TicketRead, summary="Read a ticket")
async def read(ticket_id: int, session: SessionDep, _: AnyRoleUser) -> TicketRead:
    """One ticket with its triage."""
    return TicketRead.model_validate(await get_ticket(session, ticket_id))


@router.post("/{ticket_id}/triage", response_model=TicketRead, summary="Triage again now")
async def retriage(
    ticket_id: RowId, request: Request, session: SessionDep, _: ConfiguratorUser
) -> TicketRead:
    """Run triage now and wait for it (e.g. after fixing the triage agent's configuration)."""
    ticket = await get_ticket(session, ticket_id)
    ticket.status = TicketStatus.NEW
    session.add(ticket)
    await session.commit()
    return TicketRead.model_validate(await triage_ticket(session, request.app, ticket_id))
