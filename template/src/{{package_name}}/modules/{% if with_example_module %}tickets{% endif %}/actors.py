"""Background jobs of the tickets module (run by a worker, or in the API without one)."""

from __future__ import annotations

from fastapi import FastAPI
from loguru import logger

from ...core.actors import actor
from ...core.errors import NotFoundError
from .service import triage_ticket


@actor("tickets.retriage", max_retries=5, retry_base_delay_s=2.0)
async def retriage(app: FastAPI, ticket_id: int) -> None:
    """Triage one ticket again; HiAgent busy or away raises, so the job is tried again later.

    Idempotent: a ticket triaged meanwhile is left as it is.
    """
    async with app.state.database.session() as session:
        try:
            await triage_ticket(session, app, ticket_id)
        except NotFoundError:
            logger.info(f"Ticket {ticket_id} was deleted before it could be triaged again")
