"""Event capture for tests: what was published, and delivery on demand."""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI
from sqlmodel import col, select

from ..core.events.models import Event, EventStatus


class EventLog:
    """Reads the outbox of the app under test (real rows, no mocks).

    events = await event_log.published("tickets.created")
    await event_log.deliver()            # run subscribed handlers now
    await event_log.wait_for("tickets.triaged")
    """

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    async def published(self, event_type: str | None = None) -> list[Event]:
        """Events published so far in this test, oldest first, optionally of one type."""
        query = select(Event).order_by(col(Event.id))
        if event_type is not None:
            query = query.where(Event.event_type == event_type)
        async with self._app.state.database.session() as session:
            return list((await session.exec(query)).all())

    async def deliver(self) -> int:
        """Deliver every due event to its handlers now; returns how many were claimed."""
        delivered = 0
        while claimed := await self._app.state.event_bus.dispatch_once():
            delivered += claimed
        return delivered

    async def wait_for(self, event_type: str, count: int = 1, within_s: float = 5.0) -> list[Event]:
        """Wait until `count` events of `event_type` exist (and are no longer pending)."""
        deadline = time.monotonic() + within_s
        while True:
            events = [
                e for e in await self.published(event_type) if e.status != EventStatus.PENDING
            ]
            if len(events) >= count:
                return events
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(events)} of {count} {event_type!r} event(s) after {within_s:g} s"
                )
            await asyncio.sleep(0.05)
