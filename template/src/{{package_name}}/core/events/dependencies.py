"""Hands the process's event bus to routes: `events: EventBusDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .bus import EventBus


async def get_event_bus(request: Request) -> EventBus:
    """The event bus started by the application's lifespan."""
    bus: EventBus = request.app.state.event_bus
    return bus


EventBusDep = Annotated[EventBus, Depends(get_event_bus)]
