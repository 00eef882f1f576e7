"""Live usage for the dashboard: a snapshot now, then again every few seconds or on new data.

Each snapshot opens its own short database session, so an open stream holds no connection.
A write by this process pushes a snapshot at once (at most one a second); writes by other
replicas show up on the next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge
from starlette.requests import Request

from ...core.db import Database
from .recorder import RequestRecorder
from .rollups import Grain, ceil_to
from .schemas import LiveSnapshot
from .service import UsageFilter, usage_breakdown

LIVE_STREAMS = Gauge(
    "analytics_live_streams",
    "Open /analytics/live event streams.",
    multiprocess_mode="livesum",
)
MIN_PUSH_GAP_S = 1.0
RECONNECT_DELAY_MS = 5000


@dataclass(frozen=True)
class LiveView:
    """What a live stream shows: the last `window_minutes`, optionally of one agent."""

    window_minutes: int
    agent_config_id: int | None = None


async def snapshot(database: Database, recorder: RequestRecorder, view: LiveView) -> LiveSnapshot:
    """Usage over the window ending now (to the minute), from the roll-ups."""
    now = datetime.now(UTC)
    end = ceil_to(now, Grain.MINUTE)
    start = end - timedelta(minutes=view.window_minutes)
    async with database.session() as session:
        breakdown = await usage_breakdown(
            session, UsageFilter(start=start, end=end, agent_config_id=view.agent_config_id)
        )
    return LiveSnapshot(
        **breakdown.total.stats().model_dump(),
        window_start=start,
        window_end=end,
        window_minutes=view.window_minutes,
        data_as_of=recorder.data_as_of,
    )


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def live_events(
    request: Request,
    database: Database,
    recorder: RequestRecorder,
    view: LiveView,
    *,
    interval_s: float,
    max_events: int | None,
) -> AsyncIterator[str]:
    """Server-sent `usage` events until the client leaves (or `max_events` were sent)."""
    loop = asyncio.get_running_loop()
    LIVE_STREAMS.inc()
    try:
        yield f"retry: {RECONNECT_DELAY_MS}\n\n"
        sent = 0
        while True:
            seen = recorder.written
            pushed_at = loop.time()
            current = await snapshot(database, recorder, view)
            yield _event("usage", current.model_dump_json())
            sent += 1
            if max_events is not None and sent >= max_events:
                return
            next_tick = pushed_at + interval_s
            while (now := loop.time()) < next_tick:
                if await request.is_disconnected():
                    return
                if recorder.written != seen:
                    if now >= pushed_at + MIN_PUSH_GAP_S:
                        break
                    await asyncio.sleep(pushed_at + MIN_PUSH_GAP_S - now)
                else:
                    # Wake each second at most, to notice a client that left.
                    await recorder.wait_for_progress(min(1.0, next_tick - now))
    finally:
        LIVE_STREAMS.dec()
